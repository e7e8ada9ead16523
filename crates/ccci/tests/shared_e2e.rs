//! End to end on the real swarm (SPEC T6, warm): two runs of `tenant-app` at once against one
//! shared `warm-idp` each get a tenant of their own (the app's own test logs in through it), both
//! pass, and no tenant of theirs is left; the tenant of a run killed with `kill -9` is removed by
//! the janitor, and the tenant of a live run is not.

mod support;

use std::path::Path;
use std::time::Duration;

use support::{ccci, docker_lines, poll, spawn_ccci_test_env, testbed, Step, TestRun};

/// The shared idp's stack: `shared-warm-idp.ccci.test` (no other test uses `warm-idp`, and the
/// testbed's wildcard certificate covers one label under `ccci.test` only).
const STACK: &str = "shared-warm-idp_ccci_test";

fn tenants() -> Vec<String> {
    let container =
        docker_lines(&["ps", "-q", "--filter", &format!("label=com.docker.swarm.service.name={STACK}_app")]);
    let id = container.first().expect("the shared idp runs");
    let mut names = docker_lines(&["exec", id, "idp-admin", "list-tenants"]);
    names.sort();
    names
}

fn created_tenant(run: &TestRun) -> String {
    run.steps()
        .into_iter()
        .find_map(|s| if let Step::TenantCreated { tenant, .. } = s { Some(tenant) } else { None })
        .expect("a tenant was made")
}

fn idp_admin(args: &[&str]) {
    let container =
        docker_lines(&["ps", "-q", "--filter", &format!("label=com.docker.swarm.service.name={STACK}_app")]);
    let mut all = vec!["exec", container[0].as_str(), "idp-admin"];
    all.extend(args);
    let out = std::process::Command::new("docker").args(&all).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Removes the shared idp when dropped, whether the test passed or not (the test made it;
/// nothing else removes an infrastructure app).
struct SharedApp;

impl Drop for SharedApp {
    fn drop(&mut self) {
        remove_shared_app();
    }
}

fn remove_shared_app() {
    for id in docker_lines(&["service", "ls", "-q", "--filter", &format!("label=com.docker.stack.namespace={STACK}")]) {
        let _ = std::process::Command::new("docker").args(["service", "rm", &id]).output();
    }
    poll("the shared idp's containers to go", Duration::from_secs(60), || {
        docker_lines(&["ps", "-aq", "--filter", &format!("label=com.docker.stack.namespace={STACK}")])
            .is_empty()
            .then_some(())
    });
    for kind in ["network", "config", "volume", "secret"] {
        for id in docker_lines(&[kind, "ls", "-q", "--filter", &format!("label=cc-ci.infra={STACK}")]) {
            let _ = std::process::Command::new("docker").args([kind, "rm", &id]).output();
        }
    }
}

fn run(work: &Path, app: &Path, name: &str) -> support::Running {
    spawn_ccci_test_env(
        &work.join(name),
        app,
        &["--tiers", "install,custom"],
        &[("CCCI_DATA_DIR", work.join("data").as_os_str())],
    )
}

#[test]
fn dependents_of_one_warm_idp_get_their_own_tenants_and_only_dead_runs_tenants_are_reaped() {
    testbed();
    let _shared = SharedApp;
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    testbed::fixture("warm-idp", &w.join("warm-idp")).unwrap();
    let app = testbed::fixture("tenant-app", &w.join("tenant-app")).unwrap();

    let (a, b) = (run(w, &app.path, "a"), run(w, &app.path, "b"));
    let (a, b) = (a.wait(), b.wait());
    for r in [&a, &b] {
        assert_eq!(r.code(), Some(0), "{}\n{}", r.result, r.stderr());
        assert_eq!(
            r.tier("custom")["outcome"],
            "pass",
            "the app's own test logged in through its tenant: {}",
            r.result
        );
    }
    let (ta, tb) = (created_tenant(&a), created_tenant(&b));
    assert_ne!(ta, tb, "distinct tenants");
    assert_eq!(tenants(), ["master"], "no tenant of the two runs is left");

    // A run killed while it holds a tenant, and a live run holding one.
    let mut killed = run(w, &app.path, "killed");
    let orphan = poll("the killed run's tenant", Duration::from_secs(180), || {
        killed.steps_so_far().into_iter().find_map(|s| {
            if let Step::TenantCreated { tenant, .. } = s {
                Some(tenant)
            } else {
                None
            }
        })
    });
    killed.kill9();
    let live = harness::run_id::new_run_id();
    let _live = harness::liveness::claim(&harness::liveness::live_dir(), &live).unwrap();
    let live_tenant = format!("ccci-{live}");
    idp_admin(&["create-tenant", &live_tenant]);
    let said =
        String::from_utf8_lossy(&ccci(w).env("CCCI_DATA_DIR", w.join("data")).arg("janitor").output().unwrap().stdout)
            .into_owned();
    assert!(said.contains(&format!("removed tenant {orphan}")), "{said}");
    let mut expected = vec!["master".to_string(), live_tenant.clone()];
    expected.sort();
    assert_eq!(tenants(), expected, "the live run's tenant stays: {said}");
    idp_admin(&["delete-tenant", &live_tenant]);
}
