//! The run's logic through the fake engine (no Docker): the order of tiers and skips, fail vs
//! error, data markers, backup and restore, dependencies, hooks, time limits, teardown, events.

use std::time::Duration;

use crate::engine::fake::{output, Call, FakeEngine};
use crate::events::{Event, Role, Step};
use crate::result::{Outcome, Tier};
use crate::testing::{closed_port, options, run, serve, TestRecipe, WEB_COMPOSE};

/// The web recipe released as 1.0.0+1.0, with an unreleased commit labelled 1.1.0+1.1 on top.
fn upgradable() -> TestRecipe {
    let r = TestRecipe::web("1.0.0+1.0");
    r.tag("1.0.0+1.0");
    r.write("compose.yml", &WEB_COMPOSE.replace("{version}", "1.1.0+1.1"));
    r.commit("next");
    r
}

fn deploys(engine: &FakeEngine) -> Vec<String> {
    engine.calls().into_iter().filter_map(|c| if let Call::Deploy { stack } = c { Some(stack) } else { None }).collect()
}

fn position(calls: &[Call], want: impl Fn(&Call) -> bool) -> usize {
    calls.iter().position(want).unwrap_or_else(|| panic!("not called: {calls:?}"))
}

fn stack_failing(stack: &str) -> swarm::Error {
    swarm::Error::TaskFailing {
        service: format!("{stack}_app"),
        exit_code: Some(3),
        task_error: "task: non-zero exit (3)".into(),
        last_log_lines: vec!["fatal: no config".into()],
        failed_tasks: 3,
    }
}

#[tokio::test]
async fn every_tier_runs_in_order_on_one_deployment_and_it_is_torn_down() {
    let (recipe, engine) = (upgradable(), FakeEngine::new());
    let ran = run(&engine, options(&recipe.path(), None, serve(200), &recipe.path())).await;
    let outcomes: Vec<(Tier, Outcome)> = ran.result().tiers.iter().map(|t| (t.tier, t.outcome)).collect();
    assert_eq!(
        outcomes,
        [
            (Tier::Install, Outcome::Pass),
            (Tier::Upgrade, Outcome::Pass),
            (Tier::Backup, Outcome::Pass),
            (Tier::Restore, Outcome::Pass),
            (Tier::Custom, Outcome::Skipped),
        ]
    );
    assert_eq!((ran.result().outcome, ran.result().level, ran.result().level_of), (Outcome::Pass, 4, 5));
    let calls = engine.calls();
    assert_eq!(calls.first(), Some(&Call::Reap), "the janitor runs first");
    assert_eq!(
        &calls[calls.len() - 2..],
        [
            Call::Teardown {
                stack: ran.result().instance.stack.clone(),
                mode: swarm::teardown::TeardownMode::Throwaway
            },
            Call::ResidualCheck
        ]
    );
    let stack = ran.result().instance.stack.clone();
    assert_eq!(deploys(&engine), [stack.clone(), stack], "install and upgrade deploy the same stack");
}

#[tokio::test]
async fn the_upgrade_starts_from_the_last_release_and_the_marker_survives_it() {
    let (recipe, engine) = (upgradable(), FakeEngine::new());
    let ran = run(&engine, options(&recipe.path(), None, serve(200), &recipe.path())).await;
    let steps = ran.steps();
    let deployed: Vec<&Role> =
        steps.iter().filter_map(|s| if let Step::Deploying { role, .. } = s { Some(role) } else { None }).collect();
    assert_eq!(deployed, [&Role::Base { version: "1.0.0+1.0".into() }, &Role::Target]);
    let written = steps.iter().position(|s| matches!(s, Step::MarkerWritten { before, .. } if before == "upgrade"));
    let changed = steps.iter().position(|s| matches!(s, Step::VersionChanged { from, to } if from == "1.0.0+1.0" && to.starts_with("1.1.0+1.1 (chaos ")));
    let checked = steps.iter().position(|s| matches!(s, Step::MarkerChecked { after, .. } if after == "upgrade"));
    assert!(written < changed && changed < checked && written.is_some(), "{steps:#?}");
    assert!(ran.tier(Tier::Upgrade).reason.ends_with("data marker survived"), "{}", ran.tier(Tier::Upgrade).reason);
}

#[tokio::test]
async fn a_recipe_never_released_skips_the_upgrade_and_goes_on() {
    let (recipe, engine) = (TestRecipe::web("1.0.0+1.0"), FakeEngine::new());
    let ran = run(&engine, options(&recipe.path(), None, serve(200), &recipe.path())).await;
    assert_eq!(ran.outcome(Tier::Upgrade), (Outcome::Skipped, "never released"));
    assert_eq!(ran.outcome(Tier::Backup).0, Outcome::Pass);
}

#[tokio::test]
async fn only_the_asked_tiers_run() {
    let (recipe, engine) = (upgradable(), FakeEngine::new());
    let mut o = options(&recipe.path(), None, serve(200), &recipe.path());
    o.tiers = vec![Tier::Install, Tier::Backup];
    let ran = run(&engine, o).await;
    let tiers: Vec<Tier> = ran.result().tiers.iter().map(|t| t.tier).collect();
    assert_eq!(tiers, [Tier::Install, Tier::Backup]);
    assert_eq!(deploys(&engine).len(), 1, "no base release without the upgrade tier");
}

#[tokio::test]
async fn per_recipe_config_skips_a_tier_with_its_reason() {
    let recipe = TestRecipe::web("1.0.0+1.0");
    recipe.write("ccci.toml", "[skip]\nbackup = \"no backup support upstream\"\n").commit("skip");
    let engine = FakeEngine::new();
    let ran = run(&engine, options(&recipe.path(), None, serve(200), &recipe.path())).await;
    assert_eq!(ran.outcome(Tier::Backup), (Outcome::Skipped, "per-recipe config: no backup support upstream"));
    assert_eq!(ran.outcome(Tier::Restore).0, Outcome::Pass, "restore takes its own backup");
}

#[tokio::test]
async fn a_crash_loop_fails_install_and_skips_the_rest_naming_it() {
    let (recipe, engine) = (upgradable(), FakeEngine::new());
    engine.fail_converge(1, || stack_failing("s"));
    let ran = run(&engine, options(&recipe.path(), None, serve(200), &recipe.path())).await;
    let (outcome, reason) = ran.outcome(Tier::Install);
    assert_eq!(outcome, Outcome::Fail);
    assert!(
        reason.contains("s_app") && reason.contains("exit code 3") && reason.contains("fatal: no config"),
        "{reason}"
    );
    for tier in [Tier::Upgrade, Tier::Backup, Tier::Restore, Tier::Custom] {
        assert_eq!(ran.outcome(tier), (Outcome::Skipped, "after install fail"));
    }
    let calls = engine.calls();
    assert!(calls.contains(&Call::Tasks { stack: ran.result().instance.stack.clone() }), "no diagnostics: {calls:?}");
    assert!(ran.result().artifacts.iter().any(|a| a.kind == "diagnostics"), "{:?}", ran.result().artifacts);
    assert!(calls.iter().any(|c| matches!(c, Call::Teardown { .. })), "a failed run is torn down");
    assert_eq!(ran.result().outcome, Outcome::Fail);
}

#[tokio::test]
async fn engine_and_proxy_faults_are_errors_and_recipe_faults_are_failures() {
    let recipe = TestRecipe::web("1.0.0+1.0");
    let engine = FakeEngine::new();
    engine.fail_deploy(1, || swarm::Error::ImagesMissing { missing: vec![("app".into(), "example/web:1.0".into())] });
    let ran = run(&engine, options(&recipe.path(), None, serve(200), &recipe.path())).await;
    assert_eq!(ran.outcome(Tier::Install), (Outcome::Error, "images missing locally: app needs example/web:1.0"));
    assert_eq!(ran.result().outcome, Outcome::Error);

    let ran = run(&FakeEngine::new(), options(&recipe.path(), None, closed_port(), &recipe.path())).await;
    let (outcome, reason) = ran.outcome(Tier::Install);
    assert_eq!(outcome, Outcome::Error, "{reason}");
    assert!(reason.starts_with("cannot reach http://"), "{reason}");

    let ran = run(&FakeEngine::new(), options(&recipe.path(), None, serve(404), &recipe.path())).await;
    let (outcome, reason) = ran.outcome(Tier::Install);
    assert_eq!(outcome, Outcome::Fail, "{reason}");
    assert!(reason.contains("answered 404") && reason.contains("no route"), "{reason}");

    let engine = FakeEngine::new();
    engine.fail_deploy(1, || swarm::Error::DeployRejected {
        stack: "s".into(),
        message: "bad".into(),
        stderr: String::new(),
    });
    let ran = run(&engine, options(&recipe.path(), None, serve(200), &recipe.path())).await;
    assert_eq!(ran.outcome(Tier::Install).0, Outcome::Fail);
}

#[tokio::test]
async fn a_convergence_timeout_fails_naming_what_was_pending() {
    let (recipe, engine) = (TestRecipe::web("1.0.0+1.0"), FakeEngine::new());
    engine.fail_converge(1, || swarm::Error::Timeout {
        after: Duration::from_secs(2),
        pending: vec![swarm::PendingService {
            service: "s_app".into(),
            replicas: "0/1".into(),
            state: "starting".into(),
        }],
    });
    let ran = run(&engine, options(&recipe.path(), None, serve(200), &recipe.path())).await;
    assert_eq!(ran.outcome(Tier::Install), (Outcome::Fail, "not converged after 2s: s_app 0/1 (starting)"));
    let waited = ran.steps().into_iter().any(|s| matches!(s, Step::WaitingForConvergence { timeout_seconds: 2, .. }));
    assert!(waited, "the recipe's timeout label is the clock");
}

#[tokio::test]
async fn a_teardown_that_leaves_something_makes_the_run_an_error() {
    let (recipe, engine) = (TestRecipe::web("1.0.0+1.0"), FakeEngine::new());
    engine.fail_teardown(|| swarm::Error::Residual {
        run_id: "r".into(),
        leftovers: vec![swarm::Leftover { kind: "volume", name: "s_data".into() }],
    });
    let ran = run(&engine, options(&recipe.path(), None, serve(200), &recipe.path())).await;
    assert!(ran.result().tiers.iter().all(|t| t.outcome != Outcome::Fail && t.outcome != Outcome::Error));
    assert_eq!(ran.result().outcome, Outcome::Error);
    assert_eq!(ran.result().teardown_error.as_deref(), Some("run r: left behind after teardown: volume s_data"));
}

#[tokio::test]
async fn an_unchanged_version_label_fails_the_upgrade() {
    let r = TestRecipe::web("1.0.0+1.0");
    r.tag("1.0.0+1.0");
    r.write(".env.sample", &format!("{}EXTRA=1\n", crate::testing::WEB_ENV)).commit("forgot the label");
    r.tag("1.1.0+1.1");
    let engine = FakeEngine::new();
    let ran = run(&engine, options(&r.path(), Some("1.1.0+1.1"), serve(200), &r.path())).await;
    assert_eq!(ran.outcome(Tier::Upgrade), (Outcome::Fail, "the app's version label did not change: still 1.0.0+1.0"));
}

#[tokio::test]
async fn data_lost_in_the_upgrade_fails_with_the_marker_missing() {
    let r = TestRecipe::web("1.0.0+1.0");
    r.tag("1.0.0+1.0");
    // The next version mounts a new, empty volume where the data was.
    let moved = WEB_COMPOSE.replace("{version}", "1.1.0+1.1").replace("data:/srv/data", "fresh:/srv/data");
    r.write("compose.yml", &moved.replace("volumes:\n  data:", "volumes:\n  fresh:")).commit("new volume");
    let ran = run(&FakeEngine::new(), options(&r.path(), None, serve(200), &r.path())).await;
    let (outcome, reason) = ran.outcome(Tier::Upgrade);
    assert_eq!(outcome, Outcome::Fail);
    assert!(
        reason.starts_with("marker missing after upgrade: file /srv/data/.ccci-marker in app should hold ccci-"),
        "{reason}"
    );
    assert!(reason.ends_with("found nothing"), "{reason}");
}

#[tokio::test]
async fn restore_spoils_the_data_then_brings_the_marker_back_from_the_backup() {
    let (recipe, engine) = (TestRecipe::web("1.0.0+1.0"), FakeEngine::new());
    let ran = run(&engine, options(&recipe.path(), None, serve(200), &recipe.path())).await;
    assert_eq!(ran.outcome(Tier::Restore).0, Outcome::Pass, "{}", ran.tier(Tier::Restore).reason);
    let calls = engine.calls();
    let is_script = |script: &'static str| move |c: &Call| matches!(c, Call::Exec { argv, .. } if argv[2] == script);
    let spoiled = position(&calls, is_script(crate::marker_steps::SPOIL_FILE));
    let imported = position(&calls, |c| matches!(c, Call::ImportVolume { .. }));
    let checked = calls.iter().rposition(is_script(crate::marker_steps::READ_FILE)).unwrap();
    assert!(spoiled < imported && imported < checked, "{calls:?}");
    let steps = ran.steps();
    assert!(steps.iter().any(|s| matches!(s, Step::MarkerChecked { after, .. } if after == "restore")), "{steps:#?}");
}

#[tokio::test]
async fn restore_alone_takes_its_own_backup_first() {
    let (recipe, engine) = (TestRecipe::web("1.0.0+1.0"), FakeEngine::new());
    let mut o = options(&recipe.path(), None, serve(200), &recipe.path());
    o.tiers = vec![Tier::Install, Tier::Restore];
    let ran = run(&engine, o).await;
    assert_eq!(ran.outcome(Tier::Restore).0, Outcome::Pass, "{}", ran.tier(Tier::Restore).reason);
    let calls = engine.calls();
    assert!(
        position(&calls, |c| matches!(c, Call::ExportVolume { .. }))
            < position(&calls, |c| matches!(c, Call::ImportVolume { .. }))
    );
}

#[tokio::test]
async fn the_backup_archive_holds_each_volume_in_backupbots_layout() {
    let (recipe, engine) = (TestRecipe::web("1.0.0+1.0"), FakeEngine::new());
    let mut o = options(&recipe.path(), None, serve(200), &recipe.path());
    o.tiers = vec![Tier::Install, Tier::Backup];
    let out = tempfile::tempdir().unwrap();
    o.out = Some(out.path().to_path_buf());
    let ran = run(&engine, o).await;
    assert_eq!(ran.outcome(Tier::Backup).0, Outcome::Pass, "{}", ran.tier(Tier::Backup).reason);
    let stack = &ran.result().instance.stack;
    let archive = out.path().join(format!("artifacts/backup-{stack}.tar.gz"));
    let listing = std::process::Command::new("tar").arg("-tzf").arg(&archive).output().unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    let marker = format!("var/lib/docker/volumes/{stack}_data/_data/.ccci-marker");
    assert!(listing.lines().any(|l| l.trim_start_matches("./") == marker), "{listing}");
    assert!(ran
        .result()
        .artifacts
        .iter()
        .any(|a| a.kind == "backup" && a.path == format!("artifacts/backup-{stack}.tar.gz")));
}

#[tokio::test]
async fn a_failing_backup_hook_fails_the_backup_with_its_last_line() {
    let recipe = TestRecipe::web("1.0.0+1.0");
    let hooked = WEB_COMPOSE
        .replace("{version}", "1.0.0+1.0")
        .replace("- backupbot.backup=true", "- backupbot.backup=true\n        - backupbot.backup.pre-hook=dump-db");
    recipe.write("compose.yml", &hooked).commit("hook");
    let engine = FakeEngine::new();
    engine.respond(|_, argv| {
        (argv.get(2).map(String::as_str) == Some("dump-db")).then(|| output(2, "", "dump-db: disk full\n"))
    });
    let ran = run(&engine, options(&recipe.path(), None, serve(200), &recipe.path())).await;
    assert_eq!(
        ran.outcome(Tier::Backup),
        (Outcome::Fail, "backupbot.backup.pre-hook of app (dump-db) exited 2: dump-db: disk full")
    );
    assert_eq!(ran.outcome(Tier::Restore), (Outcome::Skipped, "after backup fail"));
}

#[tokio::test]
async fn configured_marker_commands_get_the_value_and_a_missing_spoil_is_said() {
    let recipe = TestRecipe::web("1.0.0+1.0");
    recipe
        .write(
            "ccci.toml",
            "[marker.write]\nservice = \"app\"\ncommand = \"store $CCCI_MARKER\"\n[marker.check]\nservice = \"app\"\ncommand = \"has ${CCCI_MARKER}\"\n",
        )
        .commit("markers");
    let engine = FakeEngine::new();
    let ran = run(&engine, options(&recipe.path(), None, serve(200), &recipe.path())).await;
    assert_eq!(ran.outcome(Tier::Restore).0, Outcome::Pass, "{}", ran.tier(Tier::Restore).reason);
    let written = ran.steps().into_iter().find_map(|s| {
        if let Step::MarkerWritten { value, marker, .. } = s {
            Some((value.clone(), marker.clone()))
        } else {
            None
        }
    });
    let (value, how) = written.expect("a marker was written");
    assert_eq!(how, "marker.write");
    let calls = engine.calls();
    assert!(
        calls.iter().any(|c| matches!(c, Call::Exec { argv, .. } if argv[2] == format!("store {value}"))),
        "{calls:?}"
    );
    assert!(
        calls.iter().any(|c| matches!(c, Call::Exec { argv, .. } if argv[2] == format!("has {value}"))),
        "{calls:?}"
    );
    assert!(ran.steps().iter().any(|s| matches!(s, Step::NoMarker { reason } if reason.contains("no marker.spoil"))));
}

#[tokio::test]
async fn a_failing_marker_check_fails_the_restore() {
    let recipe = TestRecipe::web("1.0.0+1.0");
    recipe
        .write("ccci.toml", "[marker.write]\nservice = \"app\"\ncommand = \"store\"\n[marker.check]\nservice = \"app\"\ncommand = \"has\"\n")
        .commit("markers");
    let engine = FakeEngine::new();
    engine.respond(|_, argv| (argv[2] == "has").then(|| output(1, "", "no such row\n")));
    let mut o = options(&recipe.path(), None, serve(200), &recipe.path());
    o.tiers = vec![Tier::Install, Tier::Backup, Tier::Restore];
    let ran = run(&engine, o).await;
    assert_eq!(
        ran.outcome(Tier::Restore),
        (
            Outcome::Fail,
            "marker missing after restore: marker.check failed: hook marker.check in app exited 1: no such row"
        )
    );
}

#[tokio::test]
async fn an_app_without_a_volume_has_no_marker_and_says_so() {
    let r = TestRecipe::new("novol");
    r.write("compose.yml", "version: \"3.8\"\nservices:\n  app:\n    image: x/y:1\n    deploy:\n      labels: [\"coop-cloud.${STACK_NAME}.version=1.0.0+1\", \"coop-cloud.${STACK_NAME}.timeout=2\"]\n");
    r.write(".env.sample", "TYPE=novol\nDOMAIN=n.example.com\n").commit("c").tag("1.0.0+1");
    r.write("compose.yml", "version: \"3.8\"\nservices:\n  app:\n    image: x/y:2\n    deploy:\n      labels: [\"coop-cloud.${STACK_NAME}.version=1.1.0+2\", \"coop-cloud.${STACK_NAME}.timeout=2\"]\n").commit("d");
    let ran = run(&FakeEngine::new(), options(&r.path(), None, serve(200), &r.path())).await;
    assert_eq!(ran.outcome(Tier::Upgrade).0, Outcome::Pass, "{}", ran.tier(Tier::Upgrade).reason);
    assert!(ran
        .steps()
        .iter()
        .any(|s| matches!(s, Step::NoMarker { reason } if reason.starts_with("no volume to hold a data marker"))));
    assert_eq!(ran.outcome(Tier::Backup), (Outcome::Skipped, "no backupbot labels"));
}

/// A recipe `idp` with one service.
fn idp() -> TestRecipe {
    let dep = TestRecipe::new("idp");
    dep.write("compose.yml", "version: \"3.8\"\nservices:\n  app:\n    image: x/idp:1\n");
    dep.write(".env.sample", "TYPE=idp\nDOMAIN=idp.example.com\n").commit("idp");
    dep
}

fn with_dependency(dep: &TestRecipe) -> TestRecipe {
    let r = TestRecipe::web("1.0.0+1.0");
    let config = format!(
        "[[dependencies]]\nname = \"idp\"\nrecipe = \"{}\"\n[dependencies.env]\nIDP_URL = \"{{url}}/realms/x\"\n",
        dep.path().display()
    );
    r.write("ccci.toml", &config).commit("needs an idp");
    r
}

#[tokio::test]
async fn a_dependency_is_deployed_and_serving_before_the_app_and_gives_it_its_env() {
    let dep = idp();
    let (recipe, engine) = (with_dependency(&dep), FakeEngine::new());
    let mut o = options(&recipe.path(), None, serve(200), &recipe.path());
    o.tiers = vec![Tier::Install];
    let ran = run(&engine, o).await;
    assert_eq!(ran.outcome(Tier::Install).0, Outcome::Pass, "{}", ran.tier(Tier::Install).reason);
    let stacks = deploys(&engine);
    let app_stack = ran.result().instance.stack.clone();
    assert_eq!(stacks.len(), 2);
    assert_ne!(stacks[0], app_stack, "the dependency first");
    assert_eq!(stacks[1], app_stack);
    let ready = ran.steps().into_iter().position(|s| matches!(s, Step::DependencyReady { name, .. } if name == "idp"));
    let app_deploy = ran.steps().into_iter().position(|s| matches!(s, Step::Deploying { role: Role::Target, .. }));
    assert!(ready.is_some() && ready < app_deploy, "{:#?}", ran.steps());
    let doc = engine.document(&app_stack).unwrap();
    let url = doc["services"]["app"]["environment"]["IDP_URL"].as_str().unwrap().to_string();
    assert!(url.starts_with("http://idp-") && url.ends_with(".ccci.test/realms/x"), "{url}");
}

#[tokio::test]
async fn a_failing_dependency_fails_install_naming_it_and_the_app_is_not_deployed() {
    let dep = idp();
    let (recipe, engine) = (with_dependency(&dep), FakeEngine::new());
    engine.fail_converge(1, || stack_failing("idp"));
    let ran = run(&engine, options(&recipe.path(), None, serve(200), &recipe.path())).await;
    let (outcome, reason) = ran.outcome(Tier::Install);
    assert_eq!(outcome, Outcome::Fail);
    assert!(reason.starts_with("dependency idp: service idp_app: task failing"), "{reason}");
    assert_eq!(deploys(&engine).len(), 1, "only the dependency was deployed");
}

#[tokio::test]
async fn a_failing_pre_install_hook_fails_install_before_anything_is_deployed() {
    let recipe = TestRecipe::web("1.0.0+1.0");
    recipe
        .write("ccci.toml", "[hooks.pre_install]\ncommand = \"echo checking; echo no licence >&2; exit 3\"\n")
        .commit("hook");
    let engine = FakeEngine::new();
    let ran = run(&engine, options(&recipe.path(), None, serve(200), &recipe.path())).await;
    assert_eq!(ran.outcome(Tier::Install), (Outcome::Fail, "hook pre_install exited 3: checking"));
    assert!(deploys(&engine).is_empty());
    assert!(engine.secrets().is_empty());
}

#[tokio::test]
async fn a_failing_post_install_hook_in_a_service_fails_install() {
    let recipe = TestRecipe::web("1.0.0+1.0");
    recipe
        .write("ccci.toml", "[hooks.post_install]\nservice = \"app\"\ncommand = [\"app-cli\", \"check\"]\n")
        .commit("hook");
    let engine = FakeEngine::new();
    engine.respond(|service, argv| {
        (service == "app" && argv[0] == "app-cli").then(|| output(1, "", "migrations pending\n"))
    });
    let ran = run(&engine, options(&recipe.path(), None, serve(200), &recipe.path())).await;
    assert_eq!(ran.outcome(Tier::Install), (Outcome::Fail, "hook post_install in app exited 1: migrations pending"));
}

#[tokio::test]
async fn a_failing_pre_backup_hook_fails_the_backup_and_skips_restore() {
    let recipe = TestRecipe::web("1.0.0+1.0");
    recipe.write("ccci.toml", "[hooks.pre_backup]\nservice = \"app\"\ncommand = \"flush\"\n").commit("hook");
    let engine = FakeEngine::new();
    engine.respond(|_, argv| (argv[2] == "flush").then(|| output(5, "", "")));
    let ran = run(&engine, options(&recipe.path(), None, serve(200), &recipe.path())).await;
    assert_eq!(ran.outcome(Tier::Backup), (Outcome::Fail, "hook pre_backup in app exited 5"));
    assert_eq!(ran.outcome(Tier::Restore), (Outcome::Skipped, "after backup fail"));
    assert_eq!(ran.outcome(Tier::Install).0, Outcome::Pass);
}

#[tokio::test]
async fn recipe_tests_are_cases_and_one_over_the_time_limit_is_an_error() {
    let recipe = TestRecipe::web("1.0.0+1.0");
    recipe.script("tests/serves", "#!/bin/sh\n[ -n \"$CCCI_APP_DOMAIN\" ] && echo \"domain $CCCI_APP_DOMAIN\"\n");
    recipe.script("tests/broken", "#!/bin/sh\necho 'expected 200, got 500'\nexit 4\n");
    recipe.script("tests/slow", "#!/bin/sh\nsleep 30\n").commit("tests");
    let mut o = options(&recipe.path(), None, serve(200), &recipe.path());
    o.tiers = vec![Tier::Install, Tier::Custom];
    o.limits.command = Duration::from_secs(1);
    let ran = run(&FakeEngine::new(), o).await;
    let custom = ran.tier(Tier::Custom);
    let cases: Vec<(&str, Outcome, Option<&str>)> =
        custom.cases.iter().map(|c| (c.name.as_str(), c.outcome, c.message.as_deref())).collect();
    assert_eq!(
        cases,
        [
            ("recipe:broken", Outcome::Fail, Some("exit 4: expected 200, got 500")),
            ("recipe:serves", Outcome::Pass, None),
            ("recipe:slow", Outcome::Error, Some("recipe:slow did not finish within 1s")),
        ]
    );
    assert_eq!(custom.outcome, Outcome::Fail, "a failure outranks an error among cases: {}", custom.reason);
    let told = ran.events.iter().filter(|e| matches!(e, Event::CaseFinished { .. })).count();
    assert_eq!(told, 3);
}

#[tokio::test]
async fn no_tests_and_no_screenshots_skip_the_custom_tier() {
    let recipe = TestRecipe::web("1.0.0+1.0");
    let ran = run(&FakeEngine::new(), options(&recipe.path(), None, serve(200), &recipe.path())).await;
    let (outcome, reason) = ran.outcome(Tier::Custom);
    assert_eq!(outcome, Outcome::Skipped);
    assert!(reason.starts_with("no recipe tests"), "{reason}");
}

#[tokio::test]
async fn a_kept_failed_run_is_not_torn_down() {
    let (recipe, engine) = (TestRecipe::web("1.0.0+1.0"), FakeEngine::new());
    engine.fail_converge(1, || stack_failing("s"));
    let mut o = options(&recipe.path(), None, serve(200), &recipe.path());
    o.keep_on_failure = Some(Duration::from_secs(600));
    let ran = run(&engine, o).await;
    let calls = engine.calls();
    assert!(calls.contains(&Call::KeepUntil) && !calls.iter().any(|c| matches!(c, Call::Teardown { .. })), "{calls:?}");
    assert!(ran.events.iter().any(|e| matches!(e, Event::Kept { ttl_seconds: 600, .. })));
}

#[tokio::test]
async fn secrets_are_created_once_each_and_a_version_bump_adds_only_the_new_one() {
    let r = TestRecipe::web("1.0.0+1.0");
    r.tag("1.0.0+1.0");
    r.write("compose.yml", &WEB_COMPOSE.replace("{version}", "1.1.0+1.1"));
    r.write(".env.sample", &crate::testing::WEB_ENV.replace("VERSION=v1", "VERSION=v2")).commit("rotate");
    let engine = FakeEngine::new();
    let ran = run(&engine, options(&r.path(), None, serve(200), &r.path())).await;
    assert_eq!(ran.outcome(Tier::Upgrade).0, Outcome::Pass);
    let created: Vec<String> = engine
        .calls()
        .into_iter()
        .filter_map(|c| if let Call::CreateSecret { name, .. } = c { Some(name) } else { None })
        .collect();
    let stack = &ran.result().instance.stack;
    assert_eq!(created, [format!("{stack}_api_key_v1"), format!("{stack}_api_key_v2")]);
}

#[tokio::test]
async fn an_inserted_secret_without_a_value_fails_install_naming_it() {
    let r = TestRecipe::web("1.0.0+1.0");
    r.write(".env.sample", "TYPE=web\nDOMAIN=web.example.com\nSECRET_API_KEY_VERSION=v1 # generate=false\n")
        .commit("insert");
    let engine = FakeEngine::new();
    let ran = run(&engine, options(&r.path(), None, serve(200), &r.path())).await;
    let (outcome, reason) = ran.outcome(Tier::Install);
    assert_eq!(outcome, Outcome::Fail);
    assert!(reason.starts_with("secret api_key has generate=false"), "{reason}");
    assert!(deploys(&engine).is_empty());
}

#[tokio::test]
async fn a_recipe_that_cannot_be_rendered_fails_install_and_nothing_is_deployed() {
    let r = TestRecipe::new("broken");
    r.write("compose.yml", "version: \"3.8\"\nservices:\n  web:\n    image: x/y:1\n");
    r.write(".env.sample", "TYPE=broken\nDOMAIN=b.example.com\n").commit("no app");
    let engine = FakeEngine::new();
    let ran = run(&engine, options(&r.path(), None, serve(200), &r.path())).await;
    let (outcome, reason) = ran.outcome(Tier::Install);
    assert_eq!(outcome, Outcome::Fail);
    assert!(reason.contains("`app`"), "{reason}");
    assert_eq!(ran.outcome(Tier::Backup), (Outcome::Skipped, "after install fail"));
    assert_eq!(engine.calls(), [Call::Reap], "nothing deployed, nothing to tear down");
}

#[tokio::test]
async fn the_event_stream_starts_and_ends_the_run_and_is_written_to_events_jsonl() {
    let recipe = TestRecipe::web("1.0.0+1.0");
    let mut o = options(&recipe.path(), None, serve(200), &recipe.path());
    let out = tempfile::tempdir().unwrap();
    o.out = Some(out.path().to_path_buf());
    let ran = run(&FakeEngine::new(), o).await;
    assert!(matches!(ran.events.first(), Some(Event::RunStarted { run_id, .. }) if *run_id == ran.result().run_id));
    assert!(matches!(ran.events.last(), Some(Event::RunFinished { result, .. }) if **result == *ran.result()));
    let written: Vec<Event> =
        crate::report::read_jsonl(&out.path().join("events.jsonl")).unwrap().into_iter().map(|s| s.event).collect();
    assert_eq!(written, ran.events);
    let json: crate::result::RunResult =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("result.json")).unwrap()).unwrap();
    assert_eq!(json, *ran.result());
    let log = std::fs::read_to_string(out.path().join("log.txt")).unwrap();
    assert_eq!(
        log.lines().count(),
        ran.events
            .iter()
            .map(|e| match e {
                Event::Output { text, .. } => text.lines().count(),
                _ => 1,
            })
            .sum::<usize>()
    );
}

#[tokio::test]
async fn secret_values_never_reach_the_events_or_the_result() {
    let recipe = TestRecipe::web("1.0.0+1.0");
    // The app prints its secret in a failing hook: the reason quotes it masked.
    recipe.write("ccci.toml", "[hooks.post_install]\nservice = \"app\"\ncommand = \"show-key\"\n").commit("leak");
    let engine = FakeEngine::new();
    let work = tempfile::tempdir().unwrap();
    let mut o = options(&recipe.path(), None, serve(200), &recipe.path());
    o.data_dir = work.path().to_path_buf();
    let (data, leaked) = (work.path().to_path_buf(), std::sync::Arc::new(std::sync::Mutex::new(String::new())));
    let seen = leaked.clone();
    engine.respond(move |_, argv| {
        (argv[2] == "show-key").then(|| {
            let run_dir = std::fs::read_dir(data.join("work")).unwrap().flatten().next().unwrap().path();
            let value = crate::secrets_file::read_secret(&run_dir, "api_key").expect("the secret is recorded");
            *seen.lock().unwrap() = value.clone();
            output(1, "", &format!("key is {value}\n"))
        })
    });
    let collect = std::sync::Arc::new(crate::testing::Collect::default());
    let report = crate::run::run_on(&engine, o, vec![collect.clone()]).await.unwrap();
    assert_eq!(report.result.tiers[0].reason, "hook post_install in app exited 1: key is [redacted]");
    let value = leaked.lock().unwrap().clone();
    assert_eq!(value.len(), 20);
    let events = serde_json::to_string(&*collect.0.lock().unwrap()).unwrap();
    assert!(events.contains("key is [redacted]") && !events.contains(&value), "{events}");
    let log = std::fs::read_to_string(report.out_dir.join("log.txt")).unwrap();
    assert!(!log.contains(&value));
}

#[tokio::test]
async fn images_are_pulled_before_each_deploy_and_a_pull_failure_is_an_error_naming_the_image() {
    let (recipe, engine) = (upgradable(), FakeEngine::new());
    let ran = run(&engine, options(&recipe.path(), None, serve(200), &recipe.path())).await;
    assert_eq!(ran.result().outcome, Outcome::Pass);
    let calls = engine.calls();
    let pulls: Vec<usize> =
        calls.iter().enumerate().filter(|(_, c)| matches!(c, Call::Pull { .. })).map(|(i, _)| i).collect();
    let deployed: Vec<usize> =
        calls.iter().enumerate().filter(|(_, c)| matches!(c, Call::Deploy { .. })).map(|(i, _)| i).collect();
    assert_eq!(pulls.len(), 2, "{calls:?}");
    assert!(pulls[0] < deployed[0] && deployed[0] < pulls[1] && pulls[1] < deployed[1], "{calls:?}");
    assert!(ran.steps().iter().any(|s| matches!(s, Step::Pulled { image, .. } if image == "example/web:1.0")));

    let engine = FakeEngine::new();
    engine.fail_pull(1, || swarm::Error::Pull {
        image: "example/web:1.0".into(),
        reason: swarm::PullFailure::RateLimited,
        answer: "toomanyrequests: You have reached your pull rate limit".into(),
        attempts: 3,
    });
    let ran = run(&engine, options(&recipe.path(), None, serve(200), &recipe.path())).await;
    let (outcome, reason) = ran.outcome(Tier::Install);
    assert_eq!(outcome, Outcome::Error, "{reason}");
    assert!(reason.contains("example/web:1.0") && reason.contains("toomanyrequests"), "{reason}");
    assert!(deploys(&engine).is_empty(), "nothing deployed after a failed pull");
}

#[tokio::test]
async fn a_throwaway_run_is_torn_down_without_waiting_for_stop_grace_periods() {
    let (recipe, engine) = (TestRecipe::web("1.0.0+1.0"), FakeEngine::new());
    run(&engine, options(&recipe.path(), None, serve(200), &recipe.path())).await;
    let modes: Vec<swarm::teardown::TeardownMode> = engine
        .calls()
        .into_iter()
        .filter_map(|c| if let Call::Teardown { mode, .. } = c { Some(mode) } else { None })
        .collect();
    assert_eq!(modes, [swarm::teardown::TeardownMode::Throwaway]);
}
