//! `!testme --quick` through the server in process (SPEC W3, V5, V6): intake queues a quick run,
//! the workers start the engine with `--quick`, and the pull request hears about it under
//! `cc-ci/quick`, never the merge-gating `cc-ci/cold`; a quick run that found no canonical copy ran
//! cold, which its comment, its `cc-ci/quick` status and the store say (still never `cc-ci/cold`).
//! The recipes page and `/api/recipes` show the canonical copy's record. Runs use the stand-in
//! engine `tests/stub-engine.sh`, which answers `--quick` as the engine does (quick when the
//! recipe's canonical record exists under the data dir, else cold with the engine's notice); the
//! real engine and swarm are in crates/ccci/tests/serve_e2e.rs.

mod support;

use std::time::{Duration, Instant};

use harness::result::Outcome;
use harness::warm::canonical::{self, Canonical, LastQuick, SnapshotInfo, Status, WarmDir};
use server::{poller, Mode, RunFilter, RunState};
use support::{Served, HEAD, MEMBER, REPO};

const PATIENCE: Duration = Duration::from_secs(60);

/// A served server whose runs use the stand-in engine, its workers started, its first poll done.
async fn served() -> Served {
    let top = format!("engine = \"{}/tests/stub-engine.sh\"", env!("CARGO_MANIFEST_DIR"));
    let served = Served::start_with(&top, "", None).await;
    poller::poll_repo(&served.parts.intake, REPO).await.unwrap();
    tokio::spawn(served.parts.workers.clone().run());
    served
}

/// `!testme <args>` by a maintainer on PR #1, polled; the id of the run it queued.
async fn testme(served: &Served, body: &str) -> server::RunId {
    served.forge.add_comment(REPO, 1, MEMBER, body, served.forge.now());
    poller::poll_repo(&served.parts.intake, REPO).await.unwrap();
    let runs = served.parts.store.list_runs(&RunFilter::default(), 10, 0).unwrap();
    runs.first().expect("a run was queued").id
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The statuses of the PR's head as `(context, state, description)`, oldest first.
fn statuses(served: &Served) -> Vec<(String, String, String)> {
    served.forge.statuses().into_iter().filter(|s| s.sha == HEAD).map(|s| (s.context, s.state, s.description)).collect()
}

/// The bot's comments on PR #1 as they read now.
fn bot_comments(served: &Served) -> Vec<String> {
    let bot = served.forge.bot_login();
    served.forge.comments(REPO).into_iter().filter(|c| c.number == 1 && c.author == bot).map(|c| c.body).collect()
}

/// A canonical copy of `app-db` at 1.0.0+1.35, idle, used once by a quick run.
fn seeded(served: &Served) -> Canonical {
    let instance = canonical::instance("app-db", "ci.test");
    let copy = Canonical {
        recipe: "app-db".into(),
        source: "https://forge.test/coop-cloud/app-db.git".into(),
        domain: instance.domain,
        stack: instance.stack_name,
        version: "1.0.0+1.35".into(),
        commit: "abcdef0123456789abcdef0123456789abcdef01".into(),
        status: Status::Idle,
        volumes: vec![],
        snapshot: Some(SnapshotInfo { id: "s1".into(), taken_at: "2026-01-02T15:04:05Z".into(), bytes: 4300 }),
        changed_at: "2026-01-02T15:04:06Z".into(),
        why: "seeded at 1.0.0+1.35 from run r0".into(),
        last_quick: Some(LastQuick {
            run_id: "20260103t000000-abcdef".into(),
            git_ref: Some("feature".into()),
            outcome: Outcome::Fail,
            at: "2026-01-03T00:00:00Z".into(),
        }),
    };
    WarmDir::new(&served.data_dir, "app-db").unwrap().save(&copy).unwrap();
    copy
}

async fn get(served: &Served, path: &str) -> String {
    let response = reqwest::get(served.url(path)).await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.unwrap()
}

#[tokio::test]
async fn a_quick_testme_runs_quick_and_reports_under_cc_ci_quick_only() {
    let served = served().await;
    seeded(&served);
    let id = testme(&served, "!testme --quick").await;
    wait_for("the run to finish", || {
        served.parts.store.get_run(id).unwrap().is_some_and(|r| r.state == RunState::Finished)
    })
    .await;
    wait_for("the final status", || statuses(&served).iter().any(|s| s.1 == "success")).await;

    let run = served.parts.store.get_run(id).unwrap().unwrap();
    assert_eq!((run.mode, run.outcome), (Mode::Quick, Some(Outcome::Pass)));
    let statuses = statuses(&served);
    assert!(statuses.iter().all(|s| s.0 == "cc-ci/quick"), "only the quick context: {statuses:?}");
    assert_eq!(statuses[0], ("cc-ci/quick".into(), "pending".into(), "queued, position 1".into()));
    assert_eq!(statuses.last().unwrap().2, "level 1 of 1: pass");
    let comments = bot_comments(&served);
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert!(comments[0].contains("**pass**, level 1 of 1 (quick, commit `0123456789`"), "{}", comments[0]);
    assert!(!comments[0].contains("Note:"), "{}", comments[0]);
    assert!(served.server_log().contains(&format!("queued quick run {id} for {HEAD}")), "{}", served.server_log());

    let page = get(&served, &format!("/runs/{id}")).await;
    assert!(page.contains("<dd>quick</dd>") && !page.contains("id=\"notice\""), "{page}");

    // The recipes page and the API show the copy.
    let html = get(&served, "/recipes").await;
    for want in [
        "1.0.0+1.35",
        "<span class=\"chip idle\">idle</span>",
        "abcdef0123",
        "warm-app-db.ci.test",
        "2026-01-02 15:04:05 UTC, 4.2 KiB",
        "<span class=\"chip fail\">fail</span> 2026-01-03 00:00:00 UTC (feature)",
        "seeded at 1.0.0+1.35 from run r0",
    ] {
        assert!(html.contains(want), "{want:?} missing from\n{html}");
    }
    assert!(!html.contains("No warm canonical copies yet"), "{html}");
    let api: serde_json::Value = serde_json::from_str(&get(&served, "/api/recipes").await).unwrap();
    let recipe = &api["recipes"][0];
    assert_eq!(recipe["recipe"], "app-db");
    assert_eq!(recipe["quick"]["outcome"], "pass");
    assert!(recipe["cold"].is_null());
    let copy = &recipe["canonical"];
    assert_eq!((copy["version"].as_str(), copy["status"].as_str()), (Some("1.0.0+1.35"), Some("idle")));
    assert_eq!(
        (copy["snapshot"]["bytes"].as_u64(), copy["snapshot"]["taken_at"].as_i64()),
        (Some(4300), Some(1_767_366_245_000))
    );
    assert_eq!(
        (copy["last_quick"]["outcome"].as_str(), copy["last_quick"]["ref"].as_str()),
        (Some("fail"), Some("feature"))
    );
}

#[tokio::test]
async fn a_quick_testme_without_a_canonical_copy_runs_cold_and_says_so_everywhere() {
    let served = served().await;
    let html = get(&served, "/recipes").await;
    assert!(html.contains("No recipe has been tested yet, and no warm canonical copy is kept."), "{html}");

    let id = testme(&served, "!testme --quick").await;
    wait_for("the final status", || statuses(&served).iter().any(|s| s.1 == "success")).await;

    let run = served.parts.store.get_run(id).unwrap().unwrap();
    assert_eq!(run.mode, Mode::Cold, "the store records what ran");
    let statuses = statuses(&served);
    assert!(statuses.iter().all(|s| s.0 == "cc-ci/quick"), "never the merge-gating context: {statuses:?}");
    let last = statuses.last().unwrap();
    assert_eq!((last.1.as_str(), last.2.as_str()), ("success", "ran cold instead: level 1 of 1: pass"));
    let comment = &bot_comments(&served)[0];
    assert!(comment.contains("(cold, asked: quick, commit"), "{comment}");
    assert!(
        comment.contains("Note: no canonical copy of app-db (seed one with `ccci warm seed`): ran cold"),
        "{comment}"
    );

    let page = get(&served, &format!("/runs/{id}")).await;
    assert!(page.contains("<dd>cold</dd>"), "{page}");
    assert!(
        page.contains(
            "<p class=\"box\" id=\"notice\">no canonical copy of app-db (seed one with `ccci warm seed`): ran cold</p>"
        ),
        "{page}"
    );
    let html = get(&served, "/recipes").await;
    assert!(html.contains("No warm canonical copies yet"), "{html}");
    let api: serde_json::Value = serde_json::from_str(&get(&served, "/api/recipes").await).unwrap();
    let recipe = &api["recipes"][0];
    assert_eq!((recipe["cold"]["outcome"].as_str(), recipe["quick"].is_null()), (Some("pass"), true));
    assert!(recipe["canonical"].is_null());
}
