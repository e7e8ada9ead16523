//! End to end on the real swarm, through the real proxy over HTTPS: the custom tier runs the
//! `webtests` fixture's own pytest + Playwright suite (follow a link, log in at the app's HTTPS URL
//! with an inserted secret read by `ccci run-secret`; Chromium verifies the certificate against
//! the run's CA), a plain executable test (`ccci run-exec`) and a plain `curl https://` without
//! `-k` or `--cacert`, takes the configured screenshots, keeps them as artifacts, and leaves
//! nothing behind; a failing case from the CI
//! tree's tests is named in result.json and junit.xml and fails the tier; no secret value reaches
//! any file of the run's output or the command's output.

mod support;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use support::{leftovers, ran_hook, spawn_ccci_test_env, testbed, Event, Step, TestRun};

/// An alphanumeric value unique to this test process.
fn password() -> String {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("Pw{t:x}{}", std::process::id())
}

fn run_custom(work: &Path, recipe: &Path, password: &str, extra: &[&str]) -> TestRun {
    let capture = work.join("captured.json");
    let mut args = vec!["--tiers", "install,custom"];
    args.extend(extra);
    let env = [("WEBTESTS_ADMIN_PASSWORD", OsStr::new(password)), ("WEBTESTS_CAPTURE", capture.as_os_str())];
    spawn_ccci_test_env(work, recipe, &args, &env).wait()
}

/// A CI tree for webtests that trusts its own tests (they run as ccci, with its environment) and
/// has one: it writes the run's secrets, read with `run-secret` and `run-exec`, to
/// `$WEBTESTS_CAPTURE`, so this test can look for them in the run's output. Its directory.
fn trusted_capturing_ci_tree(work: &Path) -> PathBuf {
    let ci = work.join("ci");
    let tests = ci.join("recipes/webtests/tests");
    std::fs::create_dir_all(&tests).unwrap();
    std::fs::write(ci.join("recipes/webtests/ccci.toml"), "trusted = true\n").unwrap();
    std::fs::write(
        tests.join("test_capture.py"),
        r#"import json, os, subprocess

def run(*args):
    return subprocess.run(["ccci", *args], check=True, capture_output=True, text=True).stdout

def test_capture():
    captured = {
        "admin_password": run("run-secret", "admin_password"),
        "api_key": run("run-secret", "api_key"),
        "api_key_exec": run("run-exec", "app", "--", "cat", "/run/secrets/api_key"),
    }
    with open(os.environ["WEBTESTS_CAPTURE"], "w") as f:
        json.dump(captured, f)
"#,
    )
    .unwrap();
    ci
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// No captured secret value appears in any file under the out dir, nor in stdout/stderr.
fn assert_no_secret_leaks(run: &TestRun, values: &[String]) {
    let mut streams =
        vec![("stdout".to_string(), run.output.stdout.clone()), ("stderr".to_string(), run.output.stderr.clone())];
    for f in files_under(&run.out_dir) {
        streams.push((f.display().to_string(), std::fs::read(&f).unwrap()));
    }
    for v in values {
        assert!(v.len() >= 8, "captured value too short to check: {v:?}");
        for (name, bytes) in &streams {
            let hay = String::from_utf8_lossy(bytes);
            assert!(!hay.contains(v.as_str()), "a secret value leaked into {name}");
        }
    }
}

fn case<'a>(run: &'a TestRun, name_part: &str) -> &'a serde_json::Value {
    let custom = run.tier("custom");
    custom["cases"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"].as_str().unwrap_or("").contains(name_part)))
        .unwrap_or_else(|| panic!("no case {name_part} in {custom}"))
}

#[test]
fn recipe_tests_log_in_through_the_proxy_take_screenshots_and_leak_no_secret() {
    testbed();
    let work = tempfile::tempdir().unwrap();
    let repo = testbed::fixture("webtests", &work.path().join("webtests")).unwrap();
    let pw = password();
    let ci = trusted_capturing_ci_tree(work.path());
    let run = run_custom(work.path(), &repo.path, &pw, &["--config-dir", ci.to_str().unwrap()]);
    let custom = run.tier("custom");
    assert_eq!(run.code(), Some(0), "{custom}\nstderr:\n{}", run.stderr());
    assert_eq!(custom["outcome"], "pass", "{custom}");
    assert_eq!(case(&run, "test_follow_the_link_and_log_in")["outcome"], "pass");
    assert_eq!(case(&run, "check-api-key")["outcome"], "pass");
    assert_eq!(case(&run, "curl-https")["outcome"], "pass", "plain curl over HTTPS");
    assert_eq!(case(&run, "ci:test_capture::test_capture")["outcome"], "pass", "the trusted CI-tree test");
    let said =
        |e: &Event| matches!(e, Event::Step { step: Step::Note { text }, .. } if text.contains("run sandboxed as"));
    assert!(run.events().iter().any(said), "the run does not say its recipe tests ran sandboxed");
    let install = run.tier("install")["reason"].as_str().unwrap();
    assert!(install.contains("https://") && install.contains("(certificate verified)"), "{install}");
    assert_eq!(case(&run, "screenshot /login.html")["outcome"], "pass");
    assert_eq!(run.result["level"], 2);
    // Screenshots: the test's own and the configured pages, kept as artifacts.
    let shot = run.out_dir.join("artifacts/custom/logged-in.png");
    assert!(std::fs::metadata(&shot).map(|m| m.len() > 1000).unwrap_or(false), "no screenshot at {}", shot.display());
    let artifacts = run.result["artifacts"].as_array().unwrap();
    assert!(
        artifacts.iter().any(|a| a["path"] == "artifacts/custom/logged-in.png" && a["kind"] == "screenshot"),
        "{artifacts:?}"
    );
    assert!(
        artifacts.iter().filter(|a| a["path"].as_str().unwrap().starts_with("artifacts/custom/screenshots/")).count()
            == 2,
        "{artifacts:?}"
    );
    // Secrets: the inserted one reached the app and the test; the generated one agrees with exec.
    let captured: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(work.path().join("captured.json")).unwrap()).unwrap();
    assert_eq!(captured["admin_password"], pw.as_str());
    assert_eq!(captured["api_key"], captured["api_key_exec"]);
    let values = vec![pw, captured["api_key"].as_str().unwrap().to_string()];
    assert_no_secret_leaks(&run, &values);
    let events = run.events();
    let output = |e: &Event| matches!(e, Event::Output { text, .. } if text.contains("api key in the app: "));
    assert!(events.iter().any(output), "the executable test's output is not in the log");
    assert!(ran_hook(&run.steps(), "post_install", "app"), "the post_install hook did not run");
    assert_eq!(leftovers(run.run_id()), Vec::<String>::new(), "objects of the run remain");
}

#[test]
fn a_failing_ci_tree_test_is_named_and_fails_the_custom_tier() {
    testbed();
    let work = tempfile::tempdir().unwrap();
    let repo = testbed::fixture("webtests", &work.path().join("webtests")).unwrap();
    let ci_tests = work.path().join("ci/recipes/webtests/tests");
    std::fs::create_dir_all(&ci_tests).unwrap();
    std::fs::write(
        ci_tests.join("test_ci.py"),
        "import os\n\ndef test_app_domain_is_set():\n    assert os.environ['CCCI_APP_DOMAIN']\n\n\
def test_deliberately_failing():\n    assert 1 == 2, 'this case fails on purpose'\n",
    )
    .unwrap();
    let config_dir = work.path().join("ci");
    let run = run_custom(work.path(), &repo.path, &password(), &["--config-dir", config_dir.to_str().unwrap()]);
    let custom = run.tier("custom");
    assert_eq!(run.code(), Some(1), "{custom}\nstderr:\n{}", run.stderr());
    assert_eq!(custom["outcome"], "fail", "{custom}");
    assert!(custom["reason"].as_str().unwrap().contains("test_deliberately_failing"), "{custom}");
    assert_eq!(case(&run, "ci:test_ci::test_deliberately_failing")["outcome"], "fail");
    assert_eq!(case(&run, "ci:test_ci::test_app_domain_is_set")["outcome"], "pass");
    assert_eq!(case(&run, "recipe:test_web::test_follow_the_link_and_log_in")["outcome"], "pass");
    let junit = std::fs::read_to_string(run.out_dir.join("junit.xml")).unwrap();
    assert!(junit.contains("test_deliberately_failing"), "{junit}");
    assert!(junit.contains("<failure"), "{junit}");
    assert_eq!(run.result["level"], 1);
    assert_eq!(leftovers(run.run_id()), Vec::<String>::new(), "objects of the run remain");
}
