//! Broken fixtures fail on the swarm the way their READMEs say: `crashloop` 1.1.0 exits 3 after
//! printing its line, over and over; `missing-image` never gets a task running.

mod common;

use std::time::Duration;

use common::{docker, wait_for, TestStack};

#[test]
fn crashloop_exits_3_after_printing_a_line() {
    testbed::ensure_ready().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let repo = testbed::fixture("crashloop", &tmp.path().join("crashloop")).unwrap();
    let mut stack = TestStack::new("crash");
    stack.deploy(&repo.path, &["compose.yml"], &["app"]).unwrap();
    let service = format!("{}_app", stack.name);
    let errors = wait_for("two failed tasks", Duration::from_secs(60), || {
        let ps = docker(&["service", "ps", "--no-trunc", "--format", "{{.Error}}", &service]).ok()?;
        let failed: Vec<String> = ps.lines().filter(|l| !l.is_empty()).map(String::from).collect();
        (failed.len() >= 2).then_some(failed)
    });
    assert!(errors.iter().all(|e| e.contains("non-zero exit (3)")), "{errors:?}");
    let logs = docker(&["service", "logs", "--raw", &service]).unwrap();
    assert!(logs.contains("crashloop: fatal: cannot read /etc/crashloop/settings.conf"), "{logs}");
    stack.teardown().unwrap();
}

#[test]
fn missing_image_never_runs() {
    testbed::ensure_ready().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let repo = testbed::fixture("missing-image", &tmp.path().join("mi")).unwrap();
    let mut stack = TestStack::new("noimg");
    stack.deploy(&repo.path, &["compose.yml"], &["app"]).unwrap();
    let service = format!("{}_app", stack.name);
    let error = wait_for("a task error", Duration::from_secs(60), || {
        let ps = docker(&["service", "ps", "--no-trunc", "--format", "{{.Error}}", &service]).ok()?;
        ps.lines().find(|l| !l.is_empty()).map(String::from)
    });
    assert!(error.contains("No such image") || error.contains("0.0-missing"), "{error}");
    stack.teardown().unwrap();
}
