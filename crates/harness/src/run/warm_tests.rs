//! Seeding and quick runs through the fake engine: what a seed refuses, what a green or red seed
//! does to the canonical copy, and that a quick run — passing, failing, or after one that died —
//! always leaves the copy idle at its version with its volumes equal to its snapshot.

use std::collections::BTreeMap;

use crate::context::RunMode;
use crate::engine::fake::{Call, FakeEngine};
use crate::error::RunError;
use crate::result::{Outcome, Tier};
use crate::testing::{options, serve, Collect, TestRecipe, WEB_COMPOSE};
use crate::warm::canonical::{Status, WarmDir};

/// The web recipe released as 1.0.0+1.0 (annotated), with a commit labelled 1.1.0+1.1 on top.
fn released() -> TestRecipe {
    let r = TestRecipe::web("1.0.0+1.0");
    r.tag("1.0.0+1.0");
    r.write("compose.yml", &WEB_COMPOSE.replace("{version}", "1.1.0+1.1")).commit("next");
    r
}

struct World {
    recipe: TestRecipe,
    engine: FakeEngine,
    data: tempfile::TempDir,
}

impl World {
    fn new() -> Self {
        World { recipe: released(), engine: FakeEngine::new(), data: tempfile::tempdir().unwrap() }
    }

    fn dir(&self) -> WarmDir {
        WarmDir::new(self.data.path(), "web").unwrap()
    }

    async fn run(&self, mode: RunMode, git_ref: Option<&str>) -> Result<crate::run::RunReport, RunError> {
        let mut o = options(&self.recipe.path(), git_ref, serve(200), &self.recipe.path());
        o.mode = mode;
        o.data_dir = self.data.path().to_path_buf();
        crate::run::run_on(&self.engine, o, vec![std::sync::Arc::new(Collect::default())]).await
    }

    async fn seed(&self) -> crate::run::RunReport {
        let report = self.run(RunMode::Seed, Some("1.0.0+1.0")).await.expect("the seed runs");
        assert_eq!(report.result.outcome, Outcome::Pass, "{:?}", report.result.tiers);
        report
    }

    /// The canonical copy's volume contents.
    fn copy_volume(&self) -> BTreeMap<String, String> {
        self.engine.volume("warm-web_ccci_test_data")
    }
}

#[tokio::test]
async fn a_seed_refuses_anything_but_an_annotated_release_tag() {
    let w = World::new();
    w.recipe.path();
    std::process::Command::new("git").args(["tag", "2.0.0+2"]).current_dir(w.recipe.path()).status().unwrap();
    for (git_ref, why) in [
        (Some("main"), "not a tag"),
        (Some("2.0.0+2"), "lightweight tag"),
        (None, "no --ref"),
        (Some("HEAD"), "not a tag"),
    ] {
        match w.run(RunMode::Seed, git_ref).await {
            Err(RunError::Input(msg)) => assert!(msg.contains(why) && msg.contains("annotated release tag"), "{msg}"),
            other => panic!("{git_ref:?}: expected a refusal, got {other:?}"),
        }
    }
    assert!(!w.engine.calls().iter().any(|c| matches!(c, Call::Deploy { .. })), "nothing deployed");
    assert_eq!(w.dir().load().unwrap(), None);
}

#[tokio::test]
async fn a_green_seed_makes_the_canonical_copy_from_the_runs_data() {
    let w = World::new();
    let report = w.seed().await;
    let record = w.dir().load().unwrap().expect("a canonical copy");
    assert_eq!((record.status, record.version.as_str()), (Status::Idle, "1.0.0+1.0"));
    assert_eq!((record.domain.as_str(), record.stack.as_str()), ("warm-web.ccci.test", "warm-web_ccci_test"));
    assert_eq!(
        record.commit,
        std::process::Command::new("git")
            .args(["rev-parse", "1.0.0+1.0^{commit}"])
            .current_dir(w.recipe.path())
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap()
    );
    assert!(report
        .result
        .notice
        .as_deref()
        .unwrap()
        .starts_with("promoted: the canonical copy warm-web.ccci.test is at 1.0.0+1.0"));
    let objects: Vec<String> = w.engine.secrets().into_iter().collect();
    assert_eq!(objects, ["warm-web_ccci_test_api_key_v1"], "only the copy's secret is left");
    assert!(w.copy_volume().contains_key(".ccci-marker"), "the copy holds the run's data: {:?}", w.copy_volume());
    assert!(crate::warm::snapshot::current(&w.dir()).unwrap().is_some());
    let values = w.dir().load_secrets().unwrap();
    assert_eq!(values["api_key"].len(), 20);
    assert_eq!(values["api_key"], values["warm-web_ccci_test_api_key_v1"]);
}

#[tokio::test]
async fn a_red_seed_leaves_the_canonical_copy_untouched() {
    let w = World::new();
    w.seed().await;
    let before = (w.dir().load().unwrap(), w.copy_volume(), w.engine.secrets());
    let (_, converges) = w.engine.deploys_and_converges();
    w.engine.fail_converge(converges + 1, || swarm::Error::Timeout {
        after: std::time::Duration::from_secs(2),
        pending: vec![],
    });
    let report = w.run(RunMode::Seed, Some("1.0.0+1.0")).await.unwrap();
    assert_ne!(report.result.outcome, Outcome::Pass);
    assert_eq!(report.result.notice.as_deref(), Some("not promoted: the run of 1.0.0+1.0 did not pass"));
    assert_eq!((w.dir().load().unwrap(), w.copy_volume(), w.engine.secrets()), before);
}

#[tokio::test]
async fn without_a_canonical_copy_a_quick_run_is_cold_and_says_so() {
    let w = World::new();
    let report = w.run(RunMode::Quick, None).await.unwrap();
    assert_eq!(report.result.mode, "cold");
    assert_eq!(report.result.outcome, Outcome::Pass);
    let notice = report.result.notice.unwrap();
    assert!(notice.starts_with("no canonical copy of web") && notice.ends_with("ran cold"), "{notice}");
}

#[tokio::test]
async fn a_quick_run_upgrades_the_copy_and_leaves_it_as_it_was() {
    let w = World::new();
    w.seed().await;
    let before = w.dir().load().unwrap().unwrap();
    let data = w.copy_volume();
    let report = w.run(RunMode::Quick, None).await.unwrap();
    let r = &report.result;
    assert_eq!(
        (r.mode.as_str(), r.outcome),
        ("quick", Outcome::Pass),
        "{:?} {:?} {:?}",
        r.tiers,
        r.teardown_error,
        w.engine.calls()
    );
    assert_eq!(r.instance.domain, "warm-web.ccci.test");
    let outcome = |t: Tier| r.tiers.iter().find(|x| x.tier == t).unwrap().outcome;
    assert_eq!(outcome(Tier::Install), Outcome::Pass);
    assert_eq!(outcome(Tier::Upgrade), Outcome::Pass);
    let tiers: Vec<Tier> = r.tiers.iter().map(|t| t.tier).collect();
    assert_eq!(tiers, [Tier::Install, Tier::Upgrade, Tier::Custom], "a quick run has no backup or restore tier");
    let after = w.dir().load().unwrap().unwrap();
    assert_eq!(
        (after.status, &after.version, &after.commit, &after.snapshot),
        (Status::Idle, &before.version, &before.commit, &before.snapshot)
    );
    assert_eq!(after.last_quick.as_ref().map(|q| q.outcome), Some(Outcome::Pass));
    assert_eq!(w.copy_volume(), data, "the copy's data is its snapshot again");
    let created: Vec<String> = w
        .engine
        .calls()
        .into_iter()
        .filter_map(|c| if let Call::CreateSecret { name, .. } = c { Some(name) } else { None })
        .collect();
    assert!(
        !created.contains(&"warm-web_ccci_test_api_key_v1".to_string()),
        "the copy's own secret is reused: {created:?}"
    );
}

#[tokio::test]
async fn a_quick_run_that_corrupts_the_data_and_crashes_fails_and_the_data_is_the_snapshot_again() {
    let w = World::new();
    w.seed().await;
    let data = w.copy_volume();
    // The quick deploys twice (reattach, upgrade); the upgrade corrupts the data, then crashes.
    let (deploys, converges) = w.engine.deploys_and_converges();
    w.engine.write_on_deploy(deploys + 2, "warm-web_ccci_test_data", ".ccci-marker", "garbage");
    w.engine.write_on_deploy(deploys + 2, "warm-web_ccci_test_data", "junk.db", "junk");
    w.engine.fail_converge(converges + 2, || swarm::Error::TaskFailing {
        service: "warm-web_ccci_test_app".into(),
        exit_code: Some(2),
        task_error: "task: non-zero exit (2)".into(),
        last_log_lines: vec!["migration 7 failed".into()],
        failed_tasks: 3,
    });
    let report = w.run(RunMode::Quick, None).await.unwrap();
    assert_eq!(report.result.outcome, Outcome::Fail);
    let record = w.dir().load().unwrap().unwrap();
    assert_eq!(record.status, Status::Idle);
    assert_eq!(w.copy_volume(), data, "byte for byte the snapshot");
    assert_eq!(record.last_quick.map(|q| q.outcome), Some(Outcome::Fail));
    // And the next quick passes again.
    assert_eq!(w.run(RunMode::Quick, None).await.unwrap().result.outcome, Outcome::Pass);
}

#[tokio::test]
async fn a_quick_run_after_one_that_died_restores_the_copy_first() {
    let w = World::new();
    w.seed().await;
    let data = w.copy_volume();
    let dir = w.dir();
    let mut record = dir.load().unwrap().unwrap();
    dir.set_status(&mut record, Status::Busy, "quick run 20261201t000000-000000 of pr").unwrap();
    w.engine.put_file("warm-web_ccci_test_data", "half-migrated.db", "x");
    let report = w.run(RunMode::Quick, None).await.unwrap();
    assert_eq!(report.result.outcome, Outcome::Pass);
    assert_eq!(w.copy_volume(), data);
    assert_eq!(dir.load().unwrap().unwrap().status, Status::Idle);
    let undeploys = w
        .engine
        .calls()
        .into_iter()
        .filter(|c| matches!(c, Call::Undeploy { stack } if stack == "warm-web_ccci_test"))
        .count();
    assert_eq!(undeploys, 1, "what the dead run left was undeployed before the restore");
}
