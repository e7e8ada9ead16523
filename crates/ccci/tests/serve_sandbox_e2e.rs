//! End to end through `ccci serve` (SPEC V9), on the real swarm with the fake forge: a pull
//! request whose own test and host hook are hostile (`support::hostile`) is run sandboxed by the
//! server (`--sandbox required`): every attempt is refused, the run passes, and the forge token
//! and webhook secret appear in no comment, status, page or file of the server. A second pull
//! request's test leaves detached processes; a `kill -9` of the server in the middle of its custom
//! tier leaves none of them, and the restarted server marks the run `error` with nothing of it
//! left.

mod support;

use std::time::Duration;

use support::server::{http_get, wait_for, Knobs, World, HOOK_SECRET, MEMBER};
use support::{files_under, hostile, leftovers, processes_mentioning};

const RUN: Duration = Duration::from_secs(600);

#[test]
fn the_server_sandboxes_pull_request_code_and_a_kill_9_mid_custom_tier_leaves_no_process() {
    let mark = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos().to_string();
    // The server's files lie in the world's temporary directory; the script tries them by glob.
    let script = hostile::script(
        &"/tmp/.tmp*/token",
        &"/tmp/.tmp*/ccci-server.toml",
        &"/tmp/.tmp*/data",
        &"/tmp/.tmp*/data/sandbox/*",
        &hostile::host_service(),
    );
    let hook = "[hooks.pre_install]\ncommand = \"sh tests/hostile\"\n".to_string();
    let branches = [
        ("hostile", vec![("tests/hostile", script, 0o755), ("ccci.toml", hook, 0o644)]),
        ("clinging", vec![("tests/clinging", hostile::clinging(&mark), 0o755)]),
    ];
    let world = World::with_branches(
        "simple",
        "simple",
        Knobs { poll_seconds: 3600, max_tests: 1, ..Knobs::default() },
        &branches,
    );
    let token = world.forge.token();
    let mut server = world.serve();
    world.forge.set_webhook(&format!("{}/hooks/forge", server.url), HOOK_SECRET);

    // The hostile pull request: refused everything, passes, leaks nothing.
    let sha = world.forge.open_pr_from_branch(&world.repo, 1, "hostile");
    world.comment(1, MEMBER, "!testme tiers=install,custom");
    let run = server.wait_run(1, &["finished", "error"], RUN);
    let log = std::fs::read_to_string(world.data_dir.join("runs/1/log.txt")).unwrap_or_default();
    assert_eq!(run["outcome"], "pass", "{run}\nlog:\n{log}");
    assert!(log.contains("run sandboxed as ccci-runner"), "{log}");
    for attempt in hostile::ATTEMPTS {
        assert_eq!(log.matches(&format!("refused: {attempt}")).count(), 2, "{attempt} not refused twice:\n{log}");
    }
    assert!(!log.contains("LEAK"), "{log}");
    let engine_run = world.engine_run_id(1).expect("run 1's engine id");
    assert_eq!(leftovers(&engine_run), Vec::<String>::new(), "objects of run 1 remain");
    let mut places: Vec<(String, String)> =
        world.forge.comments(&world.repo).into_iter().map(|c| (format!("comment {}", c.id), c.body)).collect();
    for (state, context, target) in world.statuses(&sha) {
        places.push(("a status".into(), format!("{state} {context} {target}")));
    }
    for page in ["/runs/1", "/api/runs/1", "/"] {
        let (_, body) = http_get(&format!("{}{page}", server.url)).expect("the dashboard answers");
        places.push((format!("page {page}"), body));
    }
    for file in files_under(&world.data_dir) {
        places.push((
            file.display().to_string(),
            String::from_utf8_lossy(&std::fs::read(&file).unwrap_or_default()).into(),
        ));
    }
    places.push(("the server's stderr".into(), server.stderr_text()));
    for (place, text) in &places {
        assert!(!text.contains(&token) && !text.contains(HOOK_SECRET), "the token or webhook secret is in {place}");
    }

    // The clinging pull request: the server is killed in its custom tier.
    world.forge.open_pr_from_branch(&world.repo, 2, "clinging");
    world.comment(2, MEMBER, "!testme tiers=install,custom");
    wait_for("the run's four clinging processes", RUN, || processes_mentioning(&mark).len() >= 4);
    let engine_run = world.engine_run_id(2).expect("run 2's engine id");
    server.kill9();
    wait_for("every process of the run to end", Duration::from_secs(30), || processes_mentioning(&mark).is_empty());
    let server = world.serve();
    let crashed = server.wait_run(2, &["error", "finished"], Duration::from_secs(30));
    assert_eq!(crashed["state"], "error", "{crashed}");
    wait_for("run 2's objects to be reaped", Duration::from_secs(60), || leftovers(&engine_run).is_empty());
    let sandbox = world.data_dir.join("sandbox").join(&engine_run);
    wait_for("run 2's sandbox to be removed", Duration::from_secs(60), || !sandbox.exists());
}
