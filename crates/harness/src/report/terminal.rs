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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Role, Step};
    use crate::result::{Case, Instance, SCHEMA_VERSION};
    use std::sync::{Arc, Mutex};

    /// A writer the test can read back.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn tier(tier: Tier, outcome: Outcome, reason: &str, ms: u64) -> TierResult {
        TierResult::new(tier, outcome, reason, Duration::from_millis(ms))
    }

    fn result(tiers: Vec<TierResult>, outcome: Outcome) -> RunResult {
        RunResult {
            schema_version: SCHEMA_VERSION,
            run_id: "20261201t120000-abcdef".into(),
            recipe: "app-db".into(),
            git_ref: Some("next".into()),
            commit: Some("0123456789abcdef".into()),
            mode: "cold".into(),
            instance: Instance { domain: "app--1a2b3c.ccci.test".into(), stack: "app--1a2b3c_ccci_test".into() },
            started_at: "2026-12-01T12:00:00Z".into(),
            finished_at: "2026-12-01T12:00:31Z".into(),
            duration_ms: 31_400,
            level: crate::result::level(&tiers),
            level_of: tiers.len(),
            outcome,
            teardown_error: None,
            tiers,
            artifacts: vec![],
        }
    }

    /// The events of a run whose install went as `install`, then `rest`.
    fn events(install: TierResult, rest: Vec<TierResult>, outcome: Outcome) -> Vec<(u64, Event)> {
        let step = |t, step| Event::Step { tier: Some(t), step };
        let stack = "app--1a2b3c_ccci_test".to_string();
        let mut all = vec![
            (
                0,
                Event::RunStarted {
                    run_id: "20261201t120000-abcdef".into(),
                    source: "./app-db".into(),
                    git_ref: Some("next".into()),
                },
            ),
            (120, Event::CheckedOut { recipe: "app-db".into(), version: "01234567".into(), tests_snapshotted: true }),
            (300, Event::TierStarted { tier: Tier::Install }),
            (
                310,
                step(
                    Tier::Install,
                    Step::SecretCreated {
                        name: format!("{stack}_db_password_v1"),
                        how: "32 characters, alphanumeric".into(),
                    },
                ),
            ),
            (
                400,
                step(
                    Tier::Install,
                    Step::Deploying {
                        stack: stack.clone(),
                        domain: "app--1a2b3c.ccci.test".into(),
                        role: Role::Base { version: "1.1.0+1.36".into() },
                    },
                ),
            ),
            (900, Event::Output { tier: Some(Tier::Install), text: "Creating service app_db".into() }),
            (
                950,
                step(
                    Tier::Install,
                    Step::WaitingForConvergence { stack: stack.clone(), timeout_seconds: 120, window_seconds: 0 },
                ),
            ),
        ];
        let mut at = 8_000;
        all.push((at, Event::TierFinished { result: install }));
        for r in rest {
            at += 100;
            if r.outcome == Outcome::Skipped {
                all.push((at, Event::TierFinished { result: r }));
                continue;
            }
            all.push((at, Event::TierStarted { tier: r.tier }));
            if r.tier == Tier::Custom {
                let case = Case {
                    name: "recipe:test_web::test_login".into(),
                    outcome: r.outcome,
                    message: None,
                    duration_ms: 900,
                };
                at += 1_000;
                all.push((at, Event::CaseFinished { tier: Tier::Custom, case }));
            }
            at += r.duration_ms;
            all.push((at, Event::TierFinished { result: r }));
        }
        let tiers: Vec<TierResult> = all
            .iter()
            .filter_map(|(_, e)| match e {
                Event::TierFinished { result } => Some(result.clone()),
                _ => None,
            })
            .collect();
        at += 200;
        all.push((at, Event::TeardownStarted { stack: stack.clone() }));
        all.push((at + 1_500, Event::TornDown { objects: 9, seconds: 1.5 }));
        all.push((at + 1_600, Event::RunFinished { result: Box::new(result(tiers, outcome)), out_dir: "out".into() }));
        all
    }

    fn shown(mode: Mode, events: &[(u64, Event)]) -> String {
        let out = Shared::default();
        let terminal = Terminal::new(mode, Box::new(out.clone()));
        for (ms, e) in events {
            terminal.event(Duration::from_millis(*ms), e);
        }
        let bytes = out.0.lock().unwrap().clone();
        // Control characters made visible, so the snapshot shows what the terminal is sent.
        String::from_utf8(bytes).unwrap().replace('\x1b', "␛").replace('\r', "␍")
    }

    fn passing() -> Vec<(u64, Event)> {
        let install = tier(
            Tier::Install,
            Outcome::Pass,
            "1.1.0+1.36 converged in 6.1s; http://app--1a2b3c.ccci.test:8080/ answered 200",
            7_700,
        );
        let rest = vec![
            tier(Tier::Upgrade, Outcome::Pass, "1.1.0+1.36 → 1.1.0+1.36 (chaos 01234567); data marker survived", 9_300),
            tier(Tier::Backup, Outcome::Pass, "artifacts/backup.tar.gz (10240 bytes)", 1_200),
            tier(Tier::Restore, Outcome::Pass, "restored app_db-data; data marker back", 5_100),
            tier(
                Tier::Custom,
                Outcome::Pass,
                "1 case(s) from 1 suite(s): 1 passed, 0 failed, 0 errored, 0 skipped",
                2_000,
            ),
        ];
        events(install, rest, Outcome::Pass)
    }

    fn failing() -> Vec<(u64, Event)> {
        let install = tier(Tier::Install, Outcome::Fail, "service app_app: task failing (3 failed), exit code 3, task: non-zero exit (3); last log: fatal: no config", 7_700);
        let rest = Tier::ALL[1..].iter().map(|t| TierResult::skipped(*t, "after install fail")).collect();
        events(install, rest, Outcome::Fail)
    }

    fn erroring() -> Vec<(u64, Event)> {
        let install = tier(
            Tier::Install,
            Outcome::Pass,
            "converged in 6.1s; http://app--1a2b3c.ccci.test:8080/ answered 200",
            7_700,
        );
        let rest = vec![
            tier(Tier::Upgrade, Outcome::Skipped, "never released", 0),
            tier(Tier::Backup, Outcome::Error, "docker engine: reading volume app_db-data: connection reset", 400),
            TierResult::skipped(Tier::Restore, "after backup error"),
            TierResult::skipped(Tier::Custom, "after backup error"),
        ];
        events(install, rest, Outcome::Error)
    }

    #[test]
    fn live_output_of_passing_failing_and_erroring_runs() {
        insta::assert_snapshot!("live_pass", shown(Mode::Live, &passing()));
        insta::assert_snapshot!("live_fail", shown(Mode::Live, &failing()));
        insta::assert_snapshot!("live_error", shown(Mode::Live, &erroring()));
    }

    #[test]
    fn plain_output_of_passing_failing_and_erroring_runs() {
        insta::assert_snapshot!("plain_pass", shown(Mode::Plain, &passing()));
        insta::assert_snapshot!("plain_fail", shown(Mode::Plain, &failing()));
        insta::assert_snapshot!("plain_error", shown(Mode::Plain, &erroring()));
    }

    #[test]
    fn live_only_on_a_terminal_outside_ci() {
        assert_eq!(mode(true, false), Mode::Live);
        assert_eq!(mode(true, true), Mode::Plain);
        assert_eq!(mode(false, false), Mode::Plain);
        assert_eq!(mode(false, true), Mode::Plain);
        assert!(is_ci(Some("true")) && is_ci(Some("1")) && is_ci(Some("woodpecker")));
        assert!(!is_ci(None) && !is_ci(Some("")) && !is_ci(Some("0")) && !is_ci(Some("false")));
    }
}
