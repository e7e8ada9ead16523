//! Progress for people on standard error: on a terminal (and not in CI) one updating line per
//! tier, finished tiers staying as a line each; otherwise plain timestamped lines. Both end with
//! the summary table. The mode is a pure function of (is a terminal, is CI); output goes to an
//! injected writer, so both modes are snapshot-tested.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

use super::Sink;
use crate::events::Event;
use crate::result::{Outcome, RunResult, Tier, TierResult};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// An updating line per tier (a terminal, outside CI).
    Live,
    /// One line per step (CI logs, pipes, files).
    Plain,
}

/// Live only on a terminal outside CI: CI log viewers show carriage returns as garbage.
pub fn mode(is_terminal: bool, is_ci: bool) -> Mode {
    if is_terminal && !is_ci {
        Mode::Live
    } else {
        Mode::Plain
    }
}

/// Whether `CI` is set to anything but empty, `0` or `false` (what CI services export).
pub fn is_ci(ci_var: Option<&str>) -> bool {
    ci_var.is_some_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

/// The reporter for this process's standard error.
pub fn for_stderr() -> Terminal {
    let ci = is_ci(std::env::var("CI").ok().as_deref());
    Terminal::new(mode(std::io::stderr().is_terminal(), ci), Box::new(std::io::stderr()))
}

/// Widest live line, in characters.
const LIVE_WIDTH: usize = 100;

/// The terminal reporter.
pub struct Terminal {
    mode: Mode,
    out: Mutex<Output>,
}

struct Output {
    writer: Box<dyn Write + Send>,
    /// The tier on the live line, and when it started.
    current: Option<(Tier, Duration)>,
}

impl Terminal {
    pub fn new(mode: Mode, writer: Box<dyn Write + Send>) -> Self {
        Self { mode, out: Mutex::new(Output { writer, current: None }) }
    }
}

impl Sink for Terminal {
    fn event(&self, at: Duration, event: &Event) {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let text = match (self.mode, event) {
            (_, Event::Output { .. } | Event::ArtifactKept { .. }) => return,
            (_, Event::RunFinished { result, out_dir }) => {
                format!("{}  results: {out_dir}\n", summary(result))
            }
            (Mode::Plain, Event::TierFinished { result }) => plain(at, Some(result.tier), &finished(result)),
            (Mode::Plain, e) => plain(at, e.tier(), &e.line()),
            (Mode::Live, Event::TierFinished { result }) => {
                out.current = None;
                format!(
                    "\r\x1b[2K  {} {:<8} {:>7}  {}\n",
                    mark(result.outcome),
                    result.tier.name(),
                    secs(result.duration_ms),
                    result.reason
                )
            }
            (Mode::Live, e) => match e.tier() {
                Some(tier) => {
                    let since = match out.current {
                        Some((t, since)) if t == tier => since,
                        _ => at,
                    };
                    out.current = Some((tier, since));
                    let elapsed = at.saturating_sub(since).as_secs_f64();
                    let line = format!("  ⋯ {:<8} {elapsed:>5.1}s  {}", tier.name(), e.line());
                    format!("\r\x1b[2K{}", truncate(&line, LIVE_WIDTH))
                }
                None => format!("\r\x1b[2K{}\n", e.line()),
            },
        };
        let _ = out.writer.write_all(text.as_bytes());
        let _ = out.writer.flush();
    }
}

fn plain(at: Duration, tier: Option<Tier>, line: &str) -> String {
    format!("[{:7.1}s] {:<8} {line}\n", at.as_secs_f64(), tier.map_or("run", |t| t.name()))
}

fn finished(r: &TierResult) -> String {
    format!("{} ({}): {}", r.outcome.name().to_uppercase(), secs(r.duration_ms), r.reason)
}

fn mark(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Pass => "\x1b[32m✔ PASS\x1b[0m",
        Outcome::Fail => "\x1b[31m✘ FAIL\x1b[0m",
        Outcome::Error => "\x1b[35m‼ ERROR\x1b[0m",
        Outcome::Skipped => "\x1b[33m- SKIP\x1b[0m",
    }
}

fn truncate(line: &str, width: usize) -> &str {
    line.char_indices().nth(width).map_or(line, |(i, _)| &line[..i])
}

fn secs(ms: u64) -> String {
    format!("{:.1}s", Duration::from_millis(ms).as_secs_f64())
}

/// The summary table printed at the end of a run.
pub fn summary(result: &RunResult) -> String {
    let mut out = format!(
        "\n{} @ {} — run {}\n",
        result.recipe,
        result.git_ref.as_deref().unwrap_or("working tree"),
        result.run_id
    );
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
    if let Some(e) = &result.teardown_error {
        out.push_str(&format!("  teardown: {e}\n"));
    }
    out
}
