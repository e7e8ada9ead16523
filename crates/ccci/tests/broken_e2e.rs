//! End to end on the real swarm (SPEC D1, D4, D5, T7, T8): each broken fixture recipe fails its
//! install tier through the `ccci` binary with the right class (fail = the recipe is at fault,
//! error = the infrastructure is), a one-line reason naming the cause, the matching exit code,
//! diagnostics when something was deployed, and nothing of the run left on the swarm.

mod support;

use support::{ccci_test, leftovers, testbed, Step, TestRun};

/// Run `fixture` (at `git_ref`, if any) through `ccci test --tiers install` and check what every
/// broken install must show: the outcome and exit code, a one-line reason, level 0, the log, and
/// no object of the run left. Returns the run, the install tier's reason, and the temporary
/// directory holding the run's output (removed when dropped).
fn broken_install(
    fixture: &str,
    git_ref: Option<&str>,
    outcome: &str,
    code: i32,
) -> (TestRun, String, tempfile::TempDir) {
    testbed();
    let work = tempfile::tempdir().unwrap();
    let repo = testbed::fixture(fixture, &work.path().join(fixture)).unwrap();
    let mut args = vec!["--tiers", "install"];
    if let Some(r) = git_ref {
        args.extend(["--ref", r]);
    }
    let run = ccci_test(work.path(), &repo.path, &args);
    let install = run.tier("install").clone();
    assert_eq!(install["outcome"], outcome, "{install}\nstderr:\n{}", run.stderr());
    assert_eq!(run.code(), Some(code), "stderr:\n{}", run.stderr());
    assert_eq!(run.result["outcome"], outcome, "{}", run.result);
    assert_eq!(run.result["level"], 0);
    let reason = install["reason"].as_str().unwrap().to_string();
    assert!(!reason.is_empty() && !reason.contains('\n'), "not one line: {reason:?}");
    assert!(run.stderr().contains(&reason), "the reason is not shown on stderr:\n{}", run.stderr());
    assert!(run.out_dir.join("log.txt").is_file());
    assert!(run.out_dir.join("junit.xml").is_file());
    assert_eq!(leftovers(run.run_id()), Vec::<String>::new(), "objects of the run remain");
    (run, reason, work)
}

fn diagnostics(run: &TestRun) -> String {
    let path = run.out_dir.join("artifacts").join("diagnostics.txt");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("no {} ({e}) after a deployed failure", path.display()));
    assert!(
        run.result["artifacts"].as_array().is_some_and(|a| a.iter().any(|a| a["kind"] == "diagnostics")),
        "diagnostics not listed in result.json: {}",
        run.result
    );
    text
}

#[test]
fn crashloop_fails_fast_naming_the_service_exit_code_and_last_log_line() {
    let (run, reason, _work) = broken_install("crashloop", Some("main"), "fail", 1);
    let stack = run.result["instance"]["stack"].as_str().unwrap();
    assert!(reason.contains(&format!("{stack}_app")), "service not named: {reason}");
    assert!(reason.contains("exit code 3"), "exit code not named: {reason}");
    assert!(
        reason.contains("crashloop: fatal: cannot read /etc/crashloop/settings.conf"),
        "last log line not in the reason: {reason}"
    );
    let diag = diagnostics(&run);
    assert!(diag.contains(&format!("{stack}_app")), "{diag}");
    assert!(diag.contains("cannot read /etc/crashloop/settings.conf"), "no log tail:\n{diag}");
}

#[test]
fn unhealthy_times_out_naming_the_service_after_its_label_timeout() {
    let (run, reason, _work) = broken_install("unhealthy", None, "fail", 1);
    let stack = run.result["instance"]["stack"].as_str().unwrap();
    // The fixture's timeout label is `${TIMEOUT:-30}`.
    assert!(reason.contains("not converged after 30s"), "not a timeout of 30s: {reason}");
    assert!(reason.contains(&format!("{stack}_app 0/1")), "service not named: {reason}");
    let diag = diagnostics(&run);
    assert!(diag.contains(&format!("{stack}_app")), "{diag}");
}

#[test]
fn long_secret_is_refused_before_deploying_naming_the_secret_and_its_length() {
    let (run, reason, _work) = broken_install("long-secret", None, "fail", 1);
    let stack = run.result["instance"]["stack"].as_str().unwrap();
    let secret = format!("{stack}_oauth_client_credentials_for_the_upstream_identity_provider_v1");
    assert!(reason.contains("refused before deploying"), "{reason}");
    assert!(
        reason.contains(&format!("{secret} is {} characters (limit 64)", secret.len())),
        "secret, length or limit not named: {reason}"
    );
    let steps = run.steps();
    assert!(!steps.iter().any(|s| matches!(s, Step::SecretCreated { .. })), "a secret was created: {steps:#?}");
    assert!(!steps.iter().any(|s| matches!(s, Step::Deploying { .. })), "it deployed: {steps:#?}");
}

#[test]
fn missing_image_is_an_infrastructure_error_naming_the_image() {
    let (_run, reason, _work) = broken_install("missing-image", None, "error", 3);
    assert!(reason.contains("ccci-testbed/busybox:0.0-missing"), "image not named: {reason}");
}

#[test]
fn missing_overlay_fails_naming_the_missing_file() {
    let (run, reason, _work) = broken_install("missing-overlay", None, "fail", 1);
    assert!(reason.contains("compose.smtp.yml"), "missing file not named: {reason}");
    let steps = run.steps();
    assert!(!steps.iter().any(|s| matches!(s, Step::Deploying { .. })), "it deployed: {steps:#?}");
}
