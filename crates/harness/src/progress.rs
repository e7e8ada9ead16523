//! Live progress of a run for people: a spinner line per tier on a terminal, plain timestamped lines
//! otherwise (CI logs, pipes), and the summary table at the end.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::result::{Outcome, RunResult, Tier, TierResult};

/// Receives what a run is doing as it does it. Messages are already redacted.
pub trait Reporter: Send + Sync {
    fn step(&self, tier: Option<Tier>, message: &str);
    fn tier_finished(&self, result: &TierResult);
}

/// The reporter that fits standard error: live on a terminal, plain lines otherwise.
pub fn for_stderr() -> Box<dyn Reporter> {
    if std::io::stderr().is_terminal() {
        Box::new(Live::default())
    } else {
        Box::new(Plain { started: Instant::now() })
    }
}

/// Plain lines: `[  12.3s] install  converged`.
pub struct Plain {
    started: Instant,
}

impl Plain {
    pub fn new() -> Self {
        Self { started: Instant::now() }
    }
}

impl Default for Plain {
    fn default() -> Self {
        Self::new()
    }
}

impl Reporter for Plain {
    fn step(&self, tier: Option<Tier>, message: &str) {
        let scope = tier.map(Tier::name).unwrap_or("run");
        eprintln!("[{:7.1}s] {scope:<8} {message}", self.started.elapsed().as_secs_f64());
    }

    fn tier_finished(&self, r: &TierResult) {
        self.step(
            Some(r.tier),
            &format!("{} ({}): {}", r.outcome.name().to_uppercase(), secs(r.duration_ms), r.reason),
        );
    }
}

/// One updating line per tier on a terminal; finished tiers stay as a line each.
#[derive(Default)]
pub struct Live {
    current: Mutex<Option<(Tier, Instant)>>,
}

impl Reporter for Live {
    fn step(&self, tier: Option<Tier>, message: &str) {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        let mut err = std::io::stderr().lock();
        match tier {
            Some(t) => {
                let since = match *current {
                    Some((ct, since)) if ct == t => since,
                    _ => Instant::now(),
                };
                *current = Some((t, since));
                let width = 100usize;
                let mut line = format!("  ⋯ {:<8} {:>5.1}s  {message}", t.name(), since.elapsed().as_secs_f64());
                line.truncate(line.char_indices().nth(width).map_or(line.len(), |(i, _)| i));
                let _ = write!(err, "\r\x1b[2K{line}");
            }
            None => {
                let _ = writeln!(err, "\r\x1b[2K{message}");
            }
        }
        let _ = err.flush();
    }

    fn tier_finished(&self, r: &TierResult) {
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = None;
        let mark = match r.outcome {
            Outcome::Pass => "\x1b[32m✔ PASS\x1b[0m",
            Outcome::Fail => "\x1b[31m✘ FAIL\x1b[0m",
            Outcome::Error => "\x1b[35m‼ ERROR\x1b[0m",
            Outcome::Skipped => "\x1b[33m- SKIP\x1b[0m",
        };
        eprintln!("\r\x1b[2K  {mark} {:<8} {:>7}  {}", r.tier.name(), secs(r.duration_ms), r.reason);
    }
}

fn secs(ms: u64) -> String {
    format!("{:.1}s", Duration::from_millis(ms).as_secs_f64())
}

/// The summary table printed at the end of `ccci test`.
pub fn summary(result: &RunResult) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "\n{} @ {} — run {}\n",
        result.recipe,
        result.git_ref.as_deref().unwrap_or("working tree"),
        result.run_id
    ));
    out.push_str(&format!("  {:<8} {:<8} {:>8}  {}\n", "TIER", "RESULT", "TIME", "DETAIL"));
    for t in &result.tiers {
        out.push_str(&format!(
            "  {:<8} {:<8} {:>8}  {}\n",
            t.tier.name(),
            t.outcome.name(),
            secs(t.duration_ms),
            t.reason
        ));
    }
    out.push_str(&format!(
        "  level {} of {} · {} · {} in {}\n",
        result.level,
        result.level_of,
        result.mode,
        result.outcome.name().to_uppercase(),
        secs(result.duration_ms)
    ));
    out
}
