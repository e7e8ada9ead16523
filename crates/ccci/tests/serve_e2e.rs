//! The server end to end (SPEC V1–V5): `ccci serve` against the fake forge (real git over HTTP,
//! real signed webhooks) and the testbed's real swarm. A maintainer's `!testme` on a pull request
//! is answered with a queued comment and a pending status, the run executes, the comment becomes a
//! results table and the status success with the run page as target; through the poller and
//! through a webhook; refusals, signatures and dedupe; `kill -9` and restart; `max_tests`; timeout.

mod support;

use std::time::Duration;

use support::leftovers;
use support::server::{http, http_get, wait_for, Knobs, World, HOOK_SECRET, MEMBER};

const RUN: Duration = Duration::from_secs(300);

/// The first bot comment on PR `number` that contains `text`, within `patience`.
fn wait_bot_comment(world: &World, number: u64, text: &str, patience: Duration) -> String {
    let deadline = std::time::Instant::now() + patience;
    loop {
        if let Some(found) = world.bot_comments(number).into_iter().find(|c| c.contains(text)) {
            return found;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no bot comment on #{number} containing {text:?} after {patience:?}; comments: {:?}\nserver log:\n{}",
            world.forge.comments(&world.repo),
            world.server_log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The run finished with a results table, success status pointing at its page, nothing left.
fn assert_passed_and_reported(world: &World, server: &support::server::Server, id: u64, sha: &str) {
    let run = server.wait_run(id, &["finished", "error"], RUN);
    assert_eq!(run["state"], "finished", "{run}\nserver log:\n{}", world.server_log());
    assert_eq!(run["outcome"], "pass", "{run}");
    let table = wait_bot_comment(world, 1, "| install | pass |", Duration::from_secs(10));
    assert!(table.contains("level 1 of 1"), "{table}");
    assert!(table.contains(&sha[..10]), "commit not named: {table}");
    let run_url = format!("{}/runs/{id}", world.public_url);
    assert!(table.contains(&run_url), "no link to the run: {table}");
    wait_for("the success status", Duration::from_secs(10), || {
        world
            .statuses(sha)
            .last()
            .is_some_and(|(state, context, url)| state == "success" && context == "cc-ci/cold" && *url == run_url)
    });
    let (status, page) = http_get(&run_url).expect("the run page answers");
    assert_eq!(status, 200);
    assert!(page.contains("install"), "{page}");
    let engine_run = world.engine_run_id(id).expect("the engine's run id in the run's log");
    assert_eq!(leftovers(&engine_run), Vec::<String>::new(), "objects of the run remain");
}

#[test]
fn testme_through_the_poller_queues_runs_and_reports_on_the_pull_request() {
    let world = World::new("simple", Knobs::default());
    let sha = world.forge.open_pr_from_branch(&world.repo, 1, "main");
    let server = world.serve();
    world.comment(1, MEMBER, "!testme tiers=install");
    // The comment is edited from "queued" to "running" as soon as a worker takes the run; the
    // first status says it was queued.
    wait_bot_comment(&world, 1, "cc-ci: run [#1]", Duration::from_secs(10));
    wait_for("a pending status", Duration::from_secs(5), || {
        world.forge.statuses().iter().any(|s| {
            s.sha == sha && s.state == "pending" && s.context == "cc-ci/cold" && s.description == "queued, position 1"
        })
    });
    assert_passed_and_reported(&world, &server, 1, &sha);
    assert_eq!(world.bot_comments(1).len(), 1, "one comment per run, edited: {:?}", world.bot_comments(1));
}

#[test]
fn testme_through_a_signed_webhook_is_queued_without_waiting_for_a_poll() {
    let world = World::new("simple", Knobs { poll_seconds: 3600, ..Knobs::default() });
    let sha = world.forge.open_pr_from_branch(&world.repo, 1, "main");
    let server = world.serve();
    world.forge.set_webhook(&format!("{}/hooks/forge", server.url), HOOK_SECRET);
    world.comment(1, MEMBER, "!testme tiers=install");
    wait_bot_comment(&world, 1, "cc-ci: run [#1]", Duration::from_secs(5));
    assert_passed_and_reported(&world, &server, 1, &sha);
}

#[test]
fn refusals_signatures_and_dedupe() {
    let world = World::new("simple", Knobs { poll_seconds: 1, ..Knobs::default() });
    world.forge.open_pr_from_branch(&world.repo, 1, "main");
    let server = world.serve();
    let hook = format!("{}/hooks/forge", server.url);

    // A non-member: refused with a short reply that mentions nobody, no run.
    world.comment(1, "stranger", "!testme");
    let refusal = wait_bot_comment(&world, 1, "only the maintainers", Duration::from_secs(10));
    assert_eq!(refusal, server::intake::REFUSAL);

    // Wrong and empty signatures: 401, nothing queued.
    let id = world.comment(1, "stranger", "hello");
    let request = testbed::fake_forge::comment_webhook_request(
        "not-the-secret",
        &world.forge.comment_hook(id, testbed::fake_forge::HookAction::Created),
    );
    let headers: Vec<(&str, &str)> = request.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    assert_eq!(http("POST", &hook, &headers, &request.body).map(|r| r.0), Some(401));
    let unsigned = testbed::fake_forge::comment_webhook_request(
        "",
        &world.forge.comment_hook(id, testbed::fake_forge::HookAction::Created),
    );
    let headers: Vec<(&str, &str)> = unsigned.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    assert_eq!(http("POST", &hook, &headers, &unsigned.body).map(|r| r.0), Some(401));

    // The same delivery twice, and the same comment seen by webhook and poller: one run.
    world.forge.set_webhook(&hook, HOOK_SECRET);
    world.comment(1, MEMBER, "!testme tiers=install");
    wait_bot_comment(&world, 1, "cc-ci: run [#1]", Duration::from_secs(10));
    let delivery = world.forge.deliveries().last().expect("a delivery").id.clone();
    world.forge.redeliver(&delivery);
    std::thread::sleep(Duration::from_secs(3)); // several poll cycles see the comment too
    let (_, list) = http_get(&format!("{}/api/runs", server.url)).unwrap();
    let runs: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(runs["runs"].as_array().map(Vec::len), Some(1), "{runs}");

    // A forge outage during the membership check: refused and logged, no second run.
    world.forge.start_outage();
    world.comment(1, MEMBER, "!testme");
    wait_for("the refusal in the server log", Duration::from_secs(30), || {
        world.server_log().contains("refused: the membership check")
    });
    world.forge.clear_outage();
    server.wait_run(1, &["finished", "error"], RUN);
    let (_, list) = http_get(&format!("{}/api/runs", server.url)).unwrap();
    let runs: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(runs["runs"].as_array().map(Vec::len), Some(1), "{runs}");
}

/// The last commit status of server run `id` on `sha` (PRs of one branch share the commit; the
/// target URL tells the runs apart).
fn run_status(world: &World, id: u64, sha: &str) -> Option<String> {
    let url = format!("{}/runs/{id}", world.public_url);
    world.statuses(sha).into_iter().filter(|(_, _, target)| *target == url).map(|(state, _, _)| state).next_back()
}

/// `(started_at, finished_at)` of a run from the API.
fn span(run: &serde_json::Value) -> (i64, i64) {
    (run["started_at"].as_i64().expect("started_at"), run["finished_at"].as_i64().expect("finished_at"))
}

#[test]
fn kill_9_with_one_live_and_two_queued_then_restart() {
    let world = World::new("simple", Knobs { poll_seconds: 3600, max_tests: 1, ..Knobs::default() });
    let shas: Vec<String> = (1..=3).map(|n| world.forge.open_pr_from_branch(&world.repo, n, "main")).collect();
    let mut server = world.serve();
    world.forge.set_webhook(&format!("{}/hooks/forge", server.url), HOOK_SECRET);
    for n in 1..=3 {
        world.comment(n, MEMBER, "!testme tiers=install");
        wait_bot_comment(&world, n, "cc-ci: run [#", Duration::from_secs(10));
    }
    server.wait_run(1, &["running"], Duration::from_secs(30));
    wait_for("run 1 to deploy", Duration::from_secs(60), || {
        support::steps_of(&support::events_in(&world.data_dir.join("runs/1")))
            .iter()
            .any(|s| matches!(s, support::Step::Deploying { .. }))
    });
    let engine_run = world.engine_run_id(1).expect("run 1's engine id");
    server.kill9();

    let server = world.serve();
    let crashed = server.wait_run(1, &["error", "finished"], Duration::from_secs(30));
    assert_eq!(crashed["state"], "error", "{crashed}");
    assert_eq!(leftovers(&engine_run), Vec::<String>::new(), "the live run was not torn down");
    wait_for("run 1's error status", Duration::from_secs(10), || {
        run_status(&world, 1, &shas[0]).as_deref() == Some("error")
    });
    for id in 2..=3 {
        let run = server.wait_run(id, &["finished", "error"], RUN);
        assert_eq!(run["outcome"], "pass", "{run}");
    }
    for n in 1..=3 {
        assert_eq!(world.bot_comments(n).len(), 1, "PR #{n} answered more than once: {:?}", world.bot_comments(n));
    }
    let (a, b) = (span(&server.run(2)), span(&server.run(3)));
    assert!(a.1 <= b.0 || b.1 <= a.0, "runs 2 and 3 overlapped with max_tests = 1: {a:?} {b:?}");
}

#[test]
fn max_tests_one_runs_one_at_a_time_and_a_run_over_its_timeout_is_stopped() {
    // The `unhealthy` fixture never converges (its own deploy timeout is 30 s), so every run
    // outlives the server's 8 s run timeout, whatever the machine's speed.
    let world = World::new("unhealthy", Knobs { poll_seconds: 3600, max_tests: 1, timeout_seconds: Some(8) });
    let shas: Vec<String> = (1..=3).map(|n| world.forge.open_pr_from_branch(&world.repo, n, "main")).collect();
    let server = world.serve();
    world.forge.set_webhook(&format!("{}/hooks/forge", server.url), HOOK_SECRET);
    for n in 1..=3 {
        world.comment(n, MEMBER, "!testme tiers=install");
        wait_bot_comment(&world, n, "cc-ci: run [#", Duration::from_secs(10));
    }
    let mut spans = Vec::new();
    for id in 1..=3 {
        let stopped = server.wait_run(id, &["finished", "error"], RUN);
        assert_eq!(stopped["state"], "error", "{stopped}");
        let message = stopped["error"].as_str().unwrap_or_default();
        assert!(message.contains("run timeout of 8 s"), "{stopped}");
        let engine_run = world.engine_run_id(id).expect("the run's engine id");
        assert_eq!(leftovers(&engine_run), Vec::<String>::new(), "stopped run {id} left objects");
        wait_for("the error status", Duration::from_secs(10), || {
            run_status(&world, id, &shas[0]).as_deref() == Some("error")
        });
        spans.push(span(&stopped));
    }
    for (i, a) in spans.iter().enumerate() {
        for b in &spans[i + 1..] {
            assert!(a.1 <= b.0 || b.1 <= a.0, "two runs at once with max_tests = 1: {spans:?}");
        }
    }
}
