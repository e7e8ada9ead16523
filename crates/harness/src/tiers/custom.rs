//! The custom tier (SPEC T5): the recipe's own tests (its `tests/`, snapshotted at checkout) and the
//! CI tree's tests for it (`recipes/<name>/tests/`), run against the live app with the recipe-test
//! environment (crate::recipe_tests), plus screenshots of the config's `screenshots` pages taken
//! with Playwright and Debian's chromium. Every test case is listed in the tier's cases; files the
//! tests leave in `CCCI_ARTIFACTS` are kept as artifacts. Skipped when there is nothing to run.

use std::path::{Path, PathBuf};

use super::TierEnd;
use crate::context::RunContext;
use crate::recipe_tests;
use crate::result::{Case, Outcome, Tier};

/// Run every suite and screenshot; the tier fails if any case failed.
pub async fn run(ctx: &RunContext<'_>) -> Result<String, TierEnd> {
    let pages = ctx.state.lock().unwrap_or_else(|e| e.into_inner()).config.screenshots.clone();
    let mut dirs = vec![(ctx.workdir.join("tests"), "recipe")];
    if let Some(dir) = &ctx.options.config_dir {
        dirs.push((recipe::config::ci_recipe_dir(dir, &recipe_tests::recipe_name(ctx)).join("tests"), "ci"));
    }
    let mut suites = Vec::new();
    for (dir, origin) in &dirs {
        let found = recipe_tests::discover(dir, origin);
        ctx.log.step(Some(Tier::Custom), &format!("{origin} tests in {}: {} suite(s)", dir.display(), found.len()));
        suites.extend(found);
    }
    if suites.is_empty() && pages.is_empty() {
        return Err(TierEnd {
            outcome: Outcome::Skipped,
            reason:
                "no recipe tests (tests/ in the recipe, recipes/<name>/tests/ in the CI tree) and no screenshot pages"
                    .into(),
        });
    }
    let artifacts = recipe_tests::artifacts_dir(ctx);
    std::fs::create_dir_all(&artifacts)
        .map_err(|e| TierEnd::error(format!("cannot create {}: {e}", artifacts.display())))?;
    let mut cases = Vec::new();
    for (i, suite) in suites.iter().enumerate() {
        cases.extend(recipe_tests::run_suite(ctx, suite, i).await);
    }
    if !pages.is_empty() {
        cases.extend(screenshots(ctx, &pages, &artifacts.join("screenshots")).await);
    }
    for file in files_under(&artifacts) {
        let kind = if file.extension().is_some_and(|e| e == "png") { "screenshot" } else { "file" };
        ctx.keep_artifact(&file, kind);
    }
    let verdict = verdict(&cases, suites.len());
    ctx.state.lock().unwrap_or_else(|e| e.into_inner()).cases = cases;
    verdict
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

/// The Playwright script: one JSON line per page (`{"path", "status"}` or `{"path", "error"}`).
const SCREENSHOT_PY: &str = r#"
import json, sys
from playwright.sync_api import sync_playwright
a = json.loads(sys.argv[1])
args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
if a["map"]:
    args.append("--host-resolver-rules=MAP " + a["map"])
with sync_playwright() as p:
    browser = p.chromium.launch(executable_path=a["chromium"], args=args)
    page = browser.new_page()
    for path, out in a["pages"]:
        try:
            resp = page.goto(a["base"] + path, timeout=30000)
            page.screenshot(path=out, full_page=True)
            print(json.dumps({"path": path, "status": resp.status if resp else 0}), flush=True)
        except Exception as e:
            print(json.dumps({"path": path, "error": str(e).splitlines()[0] if str(e) else repr(e)}), flush=True)
    browser.close()
"#;

async fn screenshots(ctx: &RunContext<'_>, pages: &[String], dir: &Path) -> Vec<Case> {
    let case = |path: &str, outcome, message: Option<String>| Case {
        name: format!("screenshot {path}"),
        outcome,
        message,
        duration_ms: 0,
    };
    if let Err(e) = std::fs::create_dir_all(dir) {
        return pages.iter().map(|p| case(p, Outcome::Error, Some(e.to_string()))).collect();
    }
    let listed: Vec<(String, String)> = pages
        .iter()
        .enumerate()
        .map(|(i, p)| (p.clone(), dir.join(format!("{i:02}{}.png", slug(p))).to_string_lossy().into_owned()))
        .collect();
    let map = ctx.options.proxy.map(|a| format!("{} {}", ctx.app.domain, a.ip())).unwrap_or_default();
    let spec = serde_json::json!({
        "base": recipe_tests::app_url(ctx),
        "map": map,
        "chromium": recipe_tests::CHROMIUM,
        "pages": listed,
    });
    let script = ctx.workdir.join("screenshots.py");
    if let Err(e) = std::fs::write(&script, SCREENSHOT_PY) {
        return pages.iter().map(|p| case(p, Outcome::Error, Some(e.to_string()))).collect();
    }
    let python = std::env::var("CCCI_PYTHON").unwrap_or_else(|_| "python3".into());
    let mut cmd = tokio::process::Command::new(python);
    cmd.arg(&script).arg(spec.to_string()).stdout(std::process::Stdio::piped());
    ctx.log.step(Some(Tier::Custom), &format!("screenshots of {} page(s)", pages.len()));
    let out = match tokio::time::timeout(recipe_tests::TEST_TIMEOUT, cmd.kill_on_drop(true).output()).await {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => {
            return pages.iter().map(|p| case(p, Outcome::Error, Some(format!("cannot run python: {e}")))).collect()
        }
        Err(_) => return pages.iter().map(|p| case(p, Outcome::Error, Some("timed out".into()))).collect(),
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    ctx.log.detail(Some(Tier::Custom), &stdout);
    ctx.log.detail(Some(Tier::Custom), &String::from_utf8_lossy(&out.stderr));
    pages
        .iter()
        .map(|p| {
            let line = stdout
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .find(|v| v["path"] == p.as_str());
            match line {
                Some(v) if v["status"].as_u64().is_some_and(|s| (200..400).contains(&s)) => {
                    case(p, Outcome::Pass, None)
                }
                Some(v) if v.get("status").is_some() => {
                    case(p, Outcome::Fail, Some(format!("answered {}", v["status"])))
                }
                Some(v) => case(p, Outcome::Fail, Some(v["error"].as_str().unwrap_or("failed").to_string())),
                None => case(p, Outcome::Error, Some(format!("the screenshot script exited {}", out.status))),
            }
        })
        .collect()
}

fn slug(path: &str) -> String {
    let s: String = path.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    let s = s.trim_matches('-');
    if s.is_empty() {
        String::new()
    } else {
        format!("-{s}")
    }
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
        assert_eq!(slug("/"), "");
        assert_eq!(slug("/login?x=1"), "-login-x-1");
    }
}
