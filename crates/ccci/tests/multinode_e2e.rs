//! End to end on the multi-node testbed (SPEC V8; `scripts/testbed-multinode`, docs/testbed.md):
//! three dockerds as one swarm (a manager, two workers), the loopback registry reachable from every
//! node and the project's Traefik on the manager, used by `ccci test` through `DOCKER_HOST` (the
//! manager) and `CCCI_NODE_HOSTS` (every node's engine). The `spread` fixture places its three
//! services on the three nodes:
//!
//! - a five-tier run passes, each service ran on its node, every node pulled, backup and restore
//!   worked on two workers' volumes, and afterwards nothing of the run exists on any node (asked
//!   of each node's own engine);
//! - a worker's engine stopped while the run converges ends the run in error naming that node;
//!   once the engine is back, the janitor leaves nothing of the run on it;
//! - two runs at once both pass, and their objects never mix;
//! - a node that may run tasks but has no endpoint is refused before anything is deployed.
//!
//! Each test is skipped, saying why, unless the multi-node testbed is up (or `CCCI_MULTINODE=up`
//! lets the test bring it up). They share the testbed and one stops a node, so they take turns.

mod support;

use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use support::multinode::{hostname, Created, Multinode, NODES};
use support::{ccci, poll, spawn_ccci_test_env, Step, TestRun};

/// The release the five-tier runs test (the upgrade starts from 1.0.0+1.35).
const RELEASE: &str = "1.1.0+1.36";

static TURNS: Mutex<()> = Mutex::new(());

/// A test's turn on the testbed (bind `_turn` to keep it), with a work directory holding the
/// `spread` fixture.
struct Turn {
    testbed: Multinode,
    work: tempfile::TempDir,
    repo: testbed::FixtureRepo,
    _turn: MutexGuard<'static, ()>,
}

/// This test's turn on the testbed, or `None` after printing why the test is skipped.
fn turn() -> Option<Turn> {
    let turn = TURNS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let testbed = match Multinode::get() {
        Ok(testbed) => testbed,
        Err(why) => {
            eprintln!("skipped: {why}");
            return None;
        }
    };
    let work = tempfile::tempdir().unwrap();
    let repo = testbed::fixture("spread", &work.path().join("spread")).unwrap();
    Some(Turn { testbed, work, repo, _turn: turn })
}

/// The nodes (sorted) where containers of swarm service `service` were created.
fn nodes_of<'a>(created: &'a [Created], service: &str) -> Vec<&'a str> {
    let nodes: BTreeSet<&str> = created.iter().filter(|c| c.service == service).map(|c| c.node.as_str()).collect();
    nodes.into_iter().collect()
}

/// Every tier of the run passed, and the exit code says so.
fn assert_five_tiers_pass(run: &TestRun) {
    for tier in ["install", "upgrade", "backup", "restore", "custom"] {
        assert_eq!(run.tier(tier)["outcome"], "pass", "{tier}: {}\nstderr:\n{}", run.result, run.stderr());
    }
    assert_eq!(run.result["level"], 5, "{}", run.result);
    assert_eq!(run.code(), Some(0), "stderr:\n{}", run.stderr());
}

/// `ccci janitor` on the multi-node testbed; its stdout.
fn janitor(testbed: &Multinode, work: &std::path::Path) -> String {
    let out = ccci(work).envs(testbed.ccci_env()).arg("janitor").output().expect("ccci janitor runs");
    assert!(out.status.success(), "ccci janitor failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_run_spread_over_three_nodes_passes_five_tiers_and_leaves_nothing_on_any_node() {
    let Some(Turn { testbed, work, repo, _turn }) = turn() else { return };
    let watch = testbed.watch_containers();
    let run =
        spawn_ccci_test_env(&work.path().join("run"), &repo.path, &["--ref", RELEASE], &testbed.ccci_env()).wait();
    let created = watch.stop();
    assert_five_tiers_pass(&run);

    let stack = run.result["instance"]["stack"].as_str().unwrap();
    assert_eq!(nodes_of(&created, &format!("{stack}_app")), ["worker1"], "{created:#?}");
    assert_eq!(nodes_of(&created, &format!("{stack}_db")), ["worker2"], "{created:#?}");
    assert_eq!(nodes_of(&created, &format!("{stack}_watch")), ["manager"], "{created:#?}");
    // The backup and restore read and wrote each volume through a helper container on its node.
    let helpers: BTreeSet<&str> =
        created.iter().filter(|c| c.run == run.run_id() && c.service.is_empty()).map(|c| c.node.as_str()).collect();
    assert_eq!(helpers, BTreeSet::from(["worker1", "worker2"]), "{created:#?}");
    // Every node had the images before the clock started.
    let steps = run.steps();
    for node in NODES {
        let on = format!(" on {}", hostname(node));
        assert!(
            steps
                .iter()
                .any(|s| matches!(s, Step::Pulled { image, .. } | Step::ImageReady { image } if image.ends_with(&on))),
            "no pull on {node}: {steps:#?}"
        );
    }
    assert_eq!(testbed.leftovers(run.run_id()), Vec::<String>::new(), "objects of the run remain");
}

/// Starts a stopped node's engine again when dropped, so a failing test leaves the testbed whole.
struct StartAgain<'a> {
    testbed: &'a Multinode,
    node: &'a str,
}

impl Drop for StartAgain<'_> {
    fn drop(&mut self) {
        self.testbed.node_engine("start", self.node);
    }
}

#[test]
fn a_worker_lost_during_convergence_ends_the_run_in_error_and_the_janitor_cleans_up_once_it_is_back() {
    let Some(Turn { testbed, work, repo, _turn }) = turn() else { return };
    // `gated`: the app on worker1 does not serve until told to, so the run stays in convergence.
    let mut running = spawn_ccci_test_env(
        &work.path().join("run"),
        &repo.path,
        &["--ref", "gated", "--tiers", "install"],
        &testbed.ccci_env(),
    );
    let id = running.run_id(Duration::from_secs(60));
    let filter = format!("label=cc-ci.run={id}");
    poll("the app's container running on worker1", Duration::from_secs(120), || {
        (!testbed.docker("worker1", &["ps", "-q", "--filter", &filter]).is_empty()).then_some(())
    });
    assert!(
        running.steps_so_far().iter().any(|s| matches!(s, Step::WaitingForConvergence { .. })),
        "the run is not converging yet: {:#?}",
        running.steps_so_far()
    );
    let again = StartAgain { testbed: &testbed, node: "worker1" };
    testbed.node_engine("stop", "worker1");
    let run = running.wait();

    assert_eq!(run.code(), Some(3), "an infrastructure error; stderr:\n{}", run.stderr());
    let install = run.tier("install");
    assert_eq!(install["outcome"], "error", "{}", run.result);
    let reason = install["reason"].as_str().unwrap();
    assert!(reason.contains("node ccmn-worker1 was lost"), "the reason names the node: {reason}");
    let teardown = run.result["teardown_error"].as_str().unwrap_or_default();
    assert!(teardown.contains("ccmn-worker1"), "teardown says what it could not check: {}", run.result);
    let elsewhere: Vec<String> = testbed.leftovers(&id).into_iter().filter(|l| !l.ends_with(" on worker1")).collect();
    assert_eq!(elsewhere, Vec::<String>::new(), "teardown left objects on the nodes that answered");

    drop(again);
    let left = testbed.leftovers(&id);
    assert!(left.iter().any(|l| l.ends_with(" on worker1")), "the lost node kept the run's volume: {left:?}");
    let said = janitor(&testbed, work.path());
    assert!(said.contains(&format!("reaped run {id}")), "janitor did not reap {id}:\n{said}");
    assert_eq!(testbed.leftovers(&id), Vec::<String>::new(), "objects remain after the janitor:\n{said}");
}

#[test]
fn two_runs_at_once_on_the_three_nodes_pass_and_never_mix() {
    let Some(Turn { testbed, work, repo, _turn }) = turn() else { return };
    let watch = testbed.watch_containers();
    let running: Vec<_> = ["a", "b"]
        .iter()
        .map(|name| spawn_ccci_test_env(&work.path().join(name), &repo.path, &["--ref", RELEASE], &testbed.ccci_env()))
        .collect();
    let runs: Vec<TestRun> = running.into_iter().map(|r| r.wait()).collect();
    let created = watch.stop();
    for run in &runs {
        assert_five_tiers_pass(run);
    }
    let (a, b) = (&runs[0], &runs[1]);
    assert!(
        a.result["started_at"].as_str() < b.result["finished_at"].as_str()
            && b.result["started_at"].as_str() < a.result["finished_at"].as_str(),
        "the runs did not overlap: {} / {}",
        a.result,
        b.result
    );
    for (run, other) in [(a, b), (b, a)] {
        let stack = run.result["instance"]["stack"].as_str().unwrap();
        let other_stack = other.result["instance"]["stack"].as_str().unwrap();
        assert_ne!(stack, other_stack);
        let mine: Vec<&Created> = created.iter().filter(|c| c.run == run.run_id()).collect();
        let nodes: BTreeSet<&str> = mine.iter().map(|c| c.node.as_str()).collect();
        assert_eq!(nodes.len(), 3, "run {} ran on {nodes:?}", run.run_id());
        for c in &mine {
            assert!(
                c.stack.is_empty() || c.stack == stack,
                "a container of run {} is in stack {}: {c:?}",
                run.run_id(),
                c.stack
            );
        }
        // Nothing of the other run in this run's stack, nor in its events.
        assert!(
            !created.iter().any(|c| c.stack == stack && c.run != run.run_id()),
            "a container of another run in stack {stack}: {created:#?}"
        );
        let events = serde_json::to_string(&run.events()).unwrap();
        assert!(
            !events.contains(other.run_id()) && !events.contains(other_stack),
            "run {} touched the other run",
            run.run_id()
        );
        assert_eq!(testbed.leftovers(run.run_id()), Vec::<String>::new(), "objects of {} remain", run.run_id());
    }
}

#[test]
fn a_node_without_an_endpoint_is_refused_before_anything_is_deployed() {
    let Some(Turn { testbed, work, repo, _turn }) = turn() else { return };
    let hosts = format!("{},{}", testbed.host("manager"), testbed.host("worker1"));
    let run = spawn_ccci_test_env(
        &work.path().join("run"),
        &repo.path,
        &["--ref", RELEASE, "--tiers", "install"],
        &testbed.ccci_env_with_hosts(&hosts),
    )
    .wait();
    assert_eq!(run.code(), Some(3), "stderr:\n{}", run.stderr());
    let reason = run.tier("install")["reason"].as_str().unwrap().to_string();
    assert!(
        reason.contains("node ccmn-worker2")
            && reason.contains("no engine endpoint")
            && reason.contains("CCCI_NODE_HOSTS"),
        "the reason names the node and what to do: {reason}"
    );
    assert!(
        !run.steps().iter().any(|s| matches!(s, Step::Deploying { .. } | Step::Pulling { .. })),
        "something was pulled or deployed: {:#?}",
        run.steps()
    );
    assert_eq!(testbed.leftovers(run.run_id()), Vec::<String>::new());
}
