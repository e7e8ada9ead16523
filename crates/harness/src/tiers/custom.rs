//! The custom tier (SPEC T5): the recipe's own tests (its `tests/`, snapshotted at checkout) and the
//! CI tree's tests for it (`recipes/<name>/tests/`), run against the live app (`crate::recipe_tests`),
//! plus screenshots of the config's `screenshots` pages (`crate::screenshots`). Both sets run from
//! their copies in the run's sandbox, except the CI tree's when its config says `trusted = true`
//! (they run where they are). Every test case is one of the tier's cases; files the tests leave
//! in `CCCI_ARTIFACTS` are kept as artifacts. Skipped when there is nothing to run.

use std::path::{Path, PathBuf};

use super::TierOutput;
use crate::context::RunContext;
use crate::events::{Event, Step};
use crate::outcome::TierEnd;
use crate::result::{Case, Outcome, Tier};
use crate::{recipe_tests, screenshots};

const TIER: Tier = Tier::Custom;

/// Run every suite and screenshot; the tier fails if any case failed.
pub async fn run(ctx: &RunContext<'_>) -> TierOutput {
    let pages = &ctx.config.screenshots;
    let mut dirs = vec![(ctx.sandbox.tests_dir(), "recipe", false)];
    if let Some(dir) = &ctx.options.config_dir {
        match ctx.config.trusted {
            true => dirs.push((recipe::config::ci_recipe_dir(dir, ctx.recipe).join("tests"), "ci", true)),
            false => dirs.push((ctx.sandbox.ci_tests_dir(), "ci", false)),
        }
    }
    let mut suites = Vec::new();
    for (dir, origin, trusted) in &dirs {
        let found = recipe_tests::discover(dir, origin, *trusted);
        let (origin, dir) = (origin.to_string(), dir.display().to_string());
        ctx.events.step(Some(TIER), Step::SuitesFound { origin, dir, count: found.len() });
        suites.extend(found);
    }
    if suites.is_empty() && pages.is_empty() {
        let why =
            "no recipe tests (tests/ in the recipe, recipes/<name>/tests/ in the CI tree) and no screenshot pages";
        return Err(TierEnd::skipped(why)).into();
    }
    let artifacts = ctx.dirs.test_artifacts();
    if let Err(e) = std::fs::create_dir_all(&artifacts) {
        return Err(TierEnd::error(format!("cannot create {}: {e}", artifacts.display()))).into();
    }
    let mut cases = Vec::new();
    for (i, suite) in suites.iter().enumerate() {
        record(ctx, &mut cases, recipe_tests::run_suite(ctx, suite, i).await);
    }
    if !pages.is_empty() {
        record(ctx, &mut cases, screenshots::take(ctx, pages).await);
    }
    for file in files_under(&artifacts) {
        let kind = if file.extension().is_some_and(|e| e == "png") { "screenshot" } else { "file" };
        ctx.keep_artifact(&file, kind);
    }
    TierOutput { verdict: verdict(&cases, suites.len()), cases }
}

/// Tell each case as it ends, and keep it.
fn record(ctx: &RunContext<'_>, cases: &mut Vec<Case>, new: Vec<Case>) {
    for case in new {
        ctx.events.emit(Event::CaseFinished { tier: TIER, case: case.clone() });
        cases.push(case);
    }
}

fn verdict(cases: &[Case], suites: usize) -> Result<String, TierEnd> {
    let count = |o: Outcome| cases.iter().filter(|c| c.outcome == o).count();
    let names = |o: Outcome| cases.iter().filter(|c| c.outcome == o).map(|c| c.name.as_str()).collect::<Vec<_>>();
    let summary = format!(
        "{} case(s) from {suites} suite(s): {} passed, {} failed, {} errored, {} skipped",
        cases.len(),
        count(Outcome::Pass),
        count(Outcome::Fail),
        count(Outcome::Error),
        count(Outcome::Skipped)
    );
    if count(Outcome::Fail) > 0 {
        Err(TierEnd::fail(format!("{summary}; failed: {}", names(Outcome::Fail).join(", "))))
    } else if count(Outcome::Error) > 0 {
        Err(TierEnd::error(format!("{summary}; errored: {}", names(Outcome::Error).join(", "))))
    } else {
        Ok(summary)
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(p),
                Ok(t) if t.is_file() => out.push(p),
                _ => {}
            }
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fails_name_the_failed_cases() {
        let c = |n: &str, o| Case { name: n.into(), outcome: o, message: None, duration_ms: 0 };
        let err = verdict(&[c("a", Outcome::Pass), c("b", Outcome::Fail)], 1).unwrap_err();
        assert_eq!(err.outcome, Outcome::Fail);
        assert!(err.reason.ends_with("failed: b"), "{}", err.reason);
        assert!(verdict(&[c("a", Outcome::Pass), c("s", Outcome::Skipped)], 1).is_ok());
        assert_eq!(verdict(&[c("e", Outcome::Error)], 1).unwrap_err().outcome, Outcome::Error);
    }
}
