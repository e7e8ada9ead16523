//! End to end on the real swarm (SPEC D1, D3, D6): three `ccci test` runs of the same fixture
//! started at once each get their own app instance (distinct domains and stack names, private
//! checkouts), none reaps another's objects at its start, all three pass, and nothing of any of
//! them is left behind.

mod support;

use std::collections::BTreeSet;

use support::{leftovers, spawn_ccci_test, testbed};

#[test]
fn three_concurrent_runs_of_the_same_fixture_all_pass_and_leave_nothing() {
    testbed();
    let work = tempfile::tempdir().unwrap();
    let repo = testbed::fixture("simple", &work.path().join("simple")).unwrap();
    // All three test the same checkout on disk: each run must take its own private copy.
    let running: Vec<_> = (0..3)
        .map(|i| {
            spawn_ccci_test(&work.path().join(format!("run{i}")), &repo.path, &["--tiers", "install", "--ref", "main"])
        })
        .collect();
    let runs: Vec<_> = running.into_iter().map(|r| r.wait()).collect();

    for run in &runs {
        assert_eq!(run.tier("install")["outcome"], "pass", "{}\nstderr:\n{}", run.result, run.stderr());
        assert_eq!(run.code(), Some(0), "stderr:\n{}", run.stderr());
        assert!(run.tier("install")["reason"].as_str().unwrap().contains("answered 200"), "{}", run.result);
    }
    let distinct = |field: &str| {
        runs.iter().map(|r| r.result["instance"][field].as_str().unwrap().to_string()).collect::<BTreeSet<_>>().len()
    };
    assert_eq!(distinct("domain"), 3, "domains shared");
    assert_eq!(distinct("stack"), 3, "stack names shared");
    assert_eq!(runs.iter().map(|r| r.run_id().to_string()).collect::<BTreeSet<_>>().len(), 3, "run ids shared");
    for run in &runs {
        let events = serde_json::to_string(&run.events()).unwrap();
        for other in runs.iter().filter(|o| o.run_id() != run.run_id()) {
            assert!(
                !events.contains(other.run_id()),
                "run {} reaped or touched run {}: {events}",
                run.run_id(),
                other.run_id()
            );
        }
        assert_eq!(leftovers(run.run_id()), Vec::<String>::new(), "objects of {} remain", run.run_id());
    }
}
