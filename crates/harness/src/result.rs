//! The outcome of a run as users read it: each tier's class (pass, fail, error, skipped) with its
//! reason and duration, the level (leading tiers passed), and the versioned `result.json` and JUnit
//! documents written from it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Version of the `result.json` schema; bump on any incompatible change (docs/result-json.md).
pub const SCHEMA_VERSION: u32 = 1;

pub use recipe::tier::Tier;

/// Whose fault a tier's end is: pass, the recipe's (fail), the CI's or infrastructure's (error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Fail,
    Error,
    Skipped,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Error => "error",
            Outcome::Skipped => "skipped",
        }
    }
}

/// One test case inside a tier (a check, or a recipe test read from JUnit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub name: String,
    pub outcome: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub duration_ms: u64,
}

/// The result of one tier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TierResult {
    pub tier: Tier,
    pub outcome: Outcome,
    /// Why it failed, errored or was skipped; what it proved when it passed.
    pub reason: String,
    pub duration_ms: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cases: Vec<Case>,
}

impl TierResult {
    pub fn new(tier: Tier, outcome: Outcome, reason: impl Into<String>, duration: Duration) -> Self {
        Self { tier, outcome, reason: reason.into(), duration_ms: millis(duration), cases: Vec::new() }
    }

    pub fn skipped(tier: Tier, reason: impl Into<String>) -> Self {
        Self::new(tier, Outcome::Skipped, reason, Duration::ZERO)
    }
}

/// Where the app of a run lived.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    pub domain: String,
    pub stack: String,
}

/// A file kept with the run (backup, screenshot, diagnostics), relative to the run's output dir.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Artifact {
    pub path: String,
    pub kind: String,
    pub bytes: u64,
}

/// Everything `result.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    pub schema_version: u32,
    pub run_id: String,
    pub recipe: String,
    /// The ref under test as given (branch, tag or commit), and the commit it resolved to.
    #[serde(rename = "ref")]
    pub git_ref: Option<String>,
    pub commit: Option<String>,
    /// `cold` or `quick`.
    pub mode: String,
    pub instance: Instance,
    pub started_at: String,
    pub finished_at: String,
    pub duration_ms: u64,
    pub tiers: Vec<TierResult>,
    /// Number of leading tiers passed, out of `level_of`.
    pub level: usize,
    pub level_of: usize,
    /// pass when every tier that ran passed; else error if any errored (or teardown did); else fail.
    pub outcome: Outcome,
    /// Why teardown or the residual check failed, naming what was left behind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub teardown_error: Option<String>,
    #[serde(default)]
    pub artifacts: Vec<Artifact>,
}

/// Number of leading tiers that passed.
pub fn level(tiers: &[TierResult]) -> usize {
    tiers.iter().take_while(|t| t.outcome == Outcome::Pass).count()
}

/// The run's overall class: error beats fail (the result cannot be trusted), fail beats pass.
/// Skipped tiers do not count; a run where nothing ran is an error.
pub fn overall(tiers: &[TierResult]) -> Outcome {
    let ran: Vec<Outcome> = tiers.iter().map(|t| t.outcome).filter(|o| *o != Outcome::Skipped).collect();
    if ran.is_empty() || ran.contains(&Outcome::Error) {
        Outcome::Error
    } else if ran.contains(&Outcome::Fail) {
        Outcome::Fail
    } else {
        Outcome::Pass
    }
}

pub fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The JUnit XML of a run: one suite per tier, its checks and recipe tests as cases.
pub fn junit_xml(result: &RunResult) -> String {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

    let mut report = Report::new(format!("cc-ci {} {}", result.recipe, result.run_id));
    for tier in &result.tiers {
        let mut suite = TestSuite::new(tier.tier.name());
        let cases = if tier.cases.is_empty() {
            vec![Case {
                name: tier.tier.name().to_owned(),
                outcome: tier.outcome,
                message: Some(tier.reason.clone()),
                duration_ms: tier.duration_ms,
            }]
        } else {
            tier.cases.clone()
        };
        for case in cases {
            let status = match case.outcome {
                Outcome::Pass => TestCaseStatus::success(),
                Outcome::Skipped => {
                    let mut s = TestCaseStatus::skipped();
                    if let Some(m) = &case.message {
                        s.set_message(m.as_str());
                    }
                    s
                }
                Outcome::Fail | Outcome::Error => {
                    let kind =
                        if case.outcome == Outcome::Fail { NonSuccessKind::Failure } else { NonSuccessKind::Error };
                    let mut s = TestCaseStatus::non_success(kind);
                    if let Some(m) = &case.message {
                        s.set_message(m.as_str());
                    }
                    s
                }
            };
            let mut tc = TestCase::new(case.name.as_str(), status);
            tc.set_time(Duration::from_millis(case.duration_ms));
            suite.add_test_case(tc);
        }
        report.add_test_suite(suite);
    }
    report.to_string().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tier(t: Tier, o: Outcome) -> TierResult {
        TierResult::new(t, o, "because", Duration::from_millis(5))
    }

    #[test]
    fn level_counts_leading_passes_only() {
        let tiers = [
            tier(Tier::Install, Outcome::Pass),
            tier(Tier::Upgrade, Outcome::Skipped),
            tier(Tier::Backup, Outcome::Pass),
        ];
        assert_eq!(level(&tiers), 1);
        assert_eq!(overall(&tiers), Outcome::Pass);
    }

    #[test]
    fn error_outranks_fail_and_nothing_run_is_an_error() {
        let tiers = [tier(Tier::Install, Outcome::Fail), tier(Tier::Upgrade, Outcome::Error)];
        assert_eq!(overall(&tiers), Outcome::Error);
        assert_eq!(overall(&[tier(Tier::Install, Outcome::Skipped)]), Outcome::Error);
        assert_eq!(overall(&[tier(Tier::Install, Outcome::Fail)]), Outcome::Fail);
    }

    #[test]
    fn junit_has_one_suite_per_tier_with_failures_marked() {
        let result = RunResult {
            schema_version: SCHEMA_VERSION,
            run_id: "r1".into(),
            recipe: "simple".into(),
            git_ref: None,
            commit: None,
            mode: "cold".into(),
            instance: Instance { domain: "d".into(), stack: "s".into() },
            started_at: String::new(),
            finished_at: String::new(),
            duration_ms: 0,
            tiers: vec![tier(Tier::Install, Outcome::Fail), TierResult::skipped(Tier::Upgrade, "never released")],
            level: 0,
            level_of: 2,
            outcome: Outcome::Fail,
            teardown_error: None,
            artifacts: vec![],
        };
        let xml = junit_xml(&result);
        assert!(xml.contains("<testsuite name=\"install\""), "{xml}");
        assert!(xml.contains("<failure message=\"because\""), "{xml}");
        assert!(xml.contains("<skipped message=\"never released\""), "{xml}");
    }
}
