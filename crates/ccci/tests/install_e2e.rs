//! End to end on the real swarm: `ccci test --tiers install` deploys fixture recipes, proves they
//! serve through the proxy, and leaves nothing behind.

mod support;

use support::{ccci_test, leftovers, testbed};

fn install_passes(fixture: &str) {
    testbed();
    let work = tempfile::tempdir().unwrap();
    let repo = testbed::fixture(fixture, &work.path().join(fixture)).unwrap();
    let run = ccci_test(work.path(), &repo.path, &["--tiers", "install"]);
    let install = run.tier("install");
    assert_eq!(run.code(), Some(0), "stderr:\n{}", run.stderr());
    assert_eq!(install["outcome"], "pass", "{install}");
    let reason = install["reason"].as_str().unwrap();
    assert!(reason.contains("answered 200"), "serving check made no HTTP request: {reason}");
    assert_eq!(run.result["level"], 1);
    assert!(run.out_dir.join("junit.xml").is_file());
    assert!(run.out_dir.join("log.txt").is_file());
    assert_eq!(leftovers(run.run_id()), Vec::<String>::new(), "objects of the run remain");
}

#[test]
fn simple_fixture_installs_serves_and_leaves_nothing() {
    install_passes("simple");
}

#[test]
fn app_db_fixture_installs_serves_and_leaves_nothing() {
    install_passes("app-db");
}
