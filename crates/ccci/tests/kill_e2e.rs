//! End to end on the real swarm (SPEC D6, quality bar "after any run, killed or not, no Docker
//! object of that run remains once the janitor has run"): a `ccci test` killed with SIGKILL
//! (a) in the middle of its deploy and (b) while it waits for convergence leaves objects behind,
//! and `ccci janitor` removes every one of them — including any the killed run's `docker stack
//! deploy` would still create — while a concurrent live run started beforehand (the `gated`
//! fixture, held in convergence until the test lets it go on) keeps its objects through both
//! janitor passes and then passes as usual.

mod support;

use std::path::Path;
use std::time::Duration;

use support::{
    docker_lines, janitor, leftovers, poll, processes_mentioning, run_containers, spawn_ccci_test, testbed, Running,
    Step,
};

/// Objects of `run` that the stack deploy creates (not the secrets `ccci` creates before it).
fn deployed_objects(run: &str) -> Vec<String> {
    leftovers(run).into_iter().filter(|o| !o.starts_with("secret ")).collect()
}

/// The live run's services, networks, volumes, secrets and configs (its containers may be
/// replaced by swarm while it runs, so they are left out).
fn stable_objects(run: &str) -> Vec<String> {
    leftovers(run).into_iter().filter(|o| !o.starts_with("container ")).collect()
}

/// Reap after a kill and check the victim is gone and the live run untouched.
fn reap_and_check(work: &Path, victim: &str, live: &mut Running, live_id: &str) {
    let before = stable_objects(live_id);
    assert!(before.iter().any(|o| o.starts_with("service ")), "the live run has no service yet: {before:?}");
    let said = janitor(work);
    let reaped_at = now();
    assert!(said.contains(&format!("reaped run {victim}")), "janitor did not reap {victim}:\n{said}");
    assert!(!said.contains(live_id), "janitor touched the live run {live_id}:\n{said}");
    assert!(live.is_running(), "the live run ended early; stderr:\n{}", live.stderr_text());
    assert_eq!(stable_objects(live_id), before, "the janitor changed the live run's objects");
    // Whatever the killed run had started (an orphaned `docker stack deploy`) must be over
    // before we look, or an object it creates late would go unnoticed.
    poll("the killed run's processes to end", Duration::from_secs(60), || {
        processes_mentioning(victim).is_empty().then_some(())
    });
    let left = leftovers(victim);
    assert!(
        left.is_empty(),
        "objects of the killed run remain: {left:?}\njanitor (done at {reaped_at}) said:\n{said}\n{}",
        describe(&left)
    );
}

fn now() -> String {
    String::from_utf8_lossy(&std::process::Command::new("date").arg("+%FT%T.%N").output().unwrap().stdout)
        .trim()
        .to_string()
}

/// `docker inspect` summaries of leftovers (`kind id` lines), for failure messages.
fn describe(leftovers: &[String]) -> String {
    leftovers
        .iter()
        .filter_map(|l| l.split_once(' '))
        .map(|(kind, id)| {
            let format = match kind {
                "network" => "{{.Name}} created {{.Created}}",
                "volume" => "{{.Name}} created {{.CreatedAt}}",
                _ => "{{.ID}}",
            };
            let args = [kind, "inspect", "--format", format, id];
            format!("{kind} {id}: {:?}", docker_lines(&args))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn killed_runs_leave_nothing_after_the_janitor_and_a_live_run_is_untouched() {
    testbed();
    let work = tempfile::tempdir().unwrap();
    let w = work.path();

    // The live run: `gated` stays in convergence until we let it go on, after both kills.
    let gated = testbed::fixture("gated", &w.join("gated")).unwrap();
    let mut live = spawn_ccci_test(&w.join("live"), &gated.path, &["--tiers", "install"]);
    let live_id = live.run_id(Duration::from_secs(60));
    poll("a running container of the live run", Duration::from_secs(120), || {
        (!run_containers(&live_id).is_empty()).then_some(())
    });

    // (a) Killed during its deploy: as soon as the stack deploy has created its first object.
    let app_db = testbed::fixture("app-db", &w.join("app-db")).unwrap();
    let mut victim = spawn_ccci_test(&w.join("victim-a"), &app_db.path, &["--tiers", "install"]);
    let victim_a = victim.run_id(Duration::from_secs(60));
    poll("an object of the deploy", Duration::from_secs(120), || {
        (!deployed_objects(&victim_a).is_empty()).then_some(())
    });
    victim.kill9();
    assert!(!leftovers(&victim_a).is_empty(), "nothing to reap: the test proves nothing");
    reap_and_check(w, &victim_a, &mut live, &live_id);

    // (b) Killed during convergence: its app's container is running but, gated, not healthy.
    let gated_b = testbed::fixture("gated", &w.join("gated-b")).unwrap();
    let mut victim = spawn_ccci_test(&w.join("victim-b"), &gated_b.path, &["--tiers", "install"]);
    let victim_b = victim.run_id(Duration::from_secs(60));
    poll("a running container of the run", Duration::from_secs(120), || {
        (!run_containers(&victim_b).is_empty()).then_some(())
    });
    let steps = victim.steps_so_far();
    assert!(
        steps.iter().any(|s| matches!(s, Step::WaitingForConvergence { .. }))
            && !steps.iter().any(|s| matches!(s, Step::Converged { .. })),
        "not killed during convergence: {steps:#?}"
    );
    victim.kill9();
    reap_and_check(w, &victim_b, &mut live, &live_id);

    // Let the live run go on: it converges, serves, passes and tears down as usual.
    for c in run_containers(&live_id) {
        let status = std::process::Command::new("docker").args(["exec", &c, "touch", "/tmp/go"]).status().unwrap();
        assert!(status.success(), "cannot let the live run go on");
    }
    let live = live.wait();
    let install = live.tier("install");
    assert_eq!(install["outcome"], "pass", "{}\nstderr:\n{}", live.result, live.stderr());
    assert!(install["reason"].as_str().unwrap().contains("answered 200"), "{install}");
    assert_eq!(live.code(), Some(0));
    assert_eq!(leftovers(&live_id), Vec::<String>::new(), "objects of the live run remain");
}
