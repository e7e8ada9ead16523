//! The dashboard in a real headless Chromium (Debian's, driven by Python Playwright): the runs
//! list and its filter form, a running run's page following its log through server-sent events
//! while the test appends to log.txt, the end of the run, a finished run's screenshot, the recipes
//! page's badges, and the log without JavaScript. Screenshots go to `$CCCI_CI_ARTIFACTS` (default
//! `<workspace>/target/ci-artifacts/`). Missing Chromium or Playwright fails the test: run
//! `scripts/testbed-setup`.

#[path = "browser/fixture.rs"]
mod fixture;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use fixture::{Fixture, PNG};
use server::Mode;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser/dashboard.py");

fn artifact_dir() -> PathBuf {
    match std::env::var_os("CCCI_CI_ARTIFACTS") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/ci-artifacts"),
    }
}

/// Chromium and Python Playwright, or a failure saying how to get them.
fn browser_tools() -> (String, String) {
    let chromium = std::env::var("CCCI_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let python = std::env::var("CCCI_PYTHON").unwrap_or_else(|_| "python3".into());
    assert!(
        std::path::Path::new(&chromium).exists(),
        "no Chromium at {chromium}: run scripts/testbed-setup (as root) to install it"
    );
    let playwright = std::process::Command::new(&python).args(["-c", "import playwright.sync_api"]).output();
    match playwright {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "{python} cannot import playwright ({}): run scripts/testbed-setup to install it",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => panic!("cannot run {python} ({e}): run scripts/testbed-setup"),
    }
    (chromium, python)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_works_in_a_real_browser() {
    let started = Instant::now();
    let (chromium, python) = browser_tools();
    let f = Fixture::new().await;

    // A finished run with a screenshot, a failed one of another recipe, a queued one, a live one.
    let finished = f.enqueue("app-db", Some(3), Mode::Cold);
    f.start(finished);
    f.write(finished, "log.txt", "install: deployed\ncustom: 2 tests passed\n");
    f.write(finished, "artifacts/screenshots/home.png", PNG);
    f.finish(
        finished,
        47_000,
        &[
            ("install", "pass", "deployed and served https://app-db.ci.test"),
            ("upgrade", "pass", "upgraded from 1.0.0"),
            ("backup", "pass", "backup taken with backup-bot-two"),
            ("restore", "pass", "markers restored"),
            ("custom", "pass", "2 tests passed"),
        ],
        5,
    );
    let failed = f.enqueue("bonfire", Some(12), Mode::Cold);
    f.start(failed);
    f.finish(failed, 20_000, &[("install", "fail", "the app never answered on /")], 5);
    let live = f.enqueue("app-db", Some(4), Mode::Cold);
    f.start(live);
    f.enqueue("bonfire", Some(13), Mode::Quick);
    let first_line = "install: deploying app-db at 4f2a9c1";
    f.append_log(live, &format!("{first_line}\ninstall: waiting for convergence\n"));

    let out = artifact_dir();
    std::fs::create_dir_all(&out).unwrap();
    let out = out.canonicalize().unwrap();
    let later_line = "upgrade: a line written while the page was open";
    let spec = serde_json::json!({
        "base": f.base,
        "chromium": chromium,
        "out": out,
        "live": live.0,
        "finished": finished.0,
        "first_line": first_line,
        "later_line": later_line,
    });
    let mut child = tokio::process::Command::new(&python)
        .arg(SCRIPT)
        .arg(spec.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
    let mut stderr = child.stderr.take().unwrap();
    let errors = tokio::spawn(async move {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s).await;
        s
    });
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut said = Vec::new();
    let talk = async {
        while let Some(line) = lines.next_line().await.unwrap() {
            match line.as_str() {
                "READY" => {
                    // Let the page sit on what it has for a moment, then grow the log.
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    f.append_log(live, "upgrade: starting\n");
                    f.append_log(live, &format!("{later_line}\n"));
                }
                "SEEN" => {
                    f.finish(live, 5_000, &[("install", "pass", "deployed"), ("upgrade", "pass", "upgraded")], 2);
                }
                _ => {}
            }
            said.push(line);
        }
        child.wait().await.unwrap()
    };
    let status = tokio::time::timeout(Duration::from_secs(90), talk).await;
    let errors = match &status {
        Ok(_) => errors.await.unwrap_or_default(),
        Err(_) => "(still running; killed)".into(),
    };
    let status = status.unwrap_or_else(|_| panic!("the browser script did not finish in 90 s; it said {said:?}"));
    assert!(status.success(), "the browser script failed ({status}); it said {said:?}\n{errors}");
    assert_eq!(said.iter().filter(|l| ["READY", "SEEN"].contains(&l.as_str())).count(), 2, "{said:?}");
    assert!(said.last().is_some_and(|l| l.starts_with("DONE ")), "{said:?}\n{errors}");
    for shot in ["dashboard-runs.png", "dashboard-run.png", "dashboard-run-finished.png", "dashboard-recipes.png"] {
        let len = std::fs::metadata(out.join(shot)).map(|m| m.len()).unwrap_or(0);
        assert!(len > 1000, "{shot} was not saved in {}", out.display());
    }
    eprintln!(
        "browser test: {} in {:.1} s; screenshots in {}",
        said.last().unwrap(),
        started.elapsed().as_secs_f64(),
        out.display()
    );
}
