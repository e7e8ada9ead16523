//! Warm dependencies through the fake engine: the shared app is deployed once and kept, each run
//! gets its own tenant (made before the dependent is rendered, its credentials in the
//! dependent's env and redacted), the tenant is removed after the run, and the janitor removes
//! tenants of dead runs only.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use crate::engine::fake::{output, Call, FakeEngine};
use crate::result::{Outcome, Tier};
use crate::testing::{options, serve, Collect, TestRecipe};

/// The idp's tenants, as its hooks see them.
type Tenants = Arc<Mutex<BTreeSet<String>>>;

/// A fake engine whose `idp-admin` commands keep tenants in `tenants`.
fn idp_engine(tenants: &Tenants) -> FakeEngine {
    let engine = FakeEngine::new();
    let t = tenants.clone();
    engine.respond(move |_, argv| {
        let line = argv.last()?.clone();
        let words: Vec<&str> = line.split_whitespace().collect();
        let mut set = t.lock().unwrap();
        match words.as_slice() {
            ["idp-admin", "create", name] => {
                set.insert(name.to_string());
                Some(output(0, &format!("client_id={name}\nclient_secret=secret-of-{name}\n"), ""))
            }
            ["idp-admin", "delete", name] => {
                set.remove(*name);
                Some(output(0, "", ""))
            }
            ["idp-admin", "list"] => {
                Some(output(0, &format!("master\n{}\n", set.iter().cloned().collect::<Vec<_>>().join("\n")), ""))
            }
            _ => None,
        }
    });
    tenants.lock().unwrap().insert("master".into());
    engine
}

/// The shared idp recipe with its tenant hooks.
fn idp() -> TestRecipe {
    let r = TestRecipe::new("idp");
    r.write("compose.yml", "version: \"3.8\"\nservices:\n  app:\n    image: x/idp:1\n    secrets: [admin]\nsecrets:\n  admin:\n    external: true\n    name: ${STACK_NAME}_admin_${SECRET_ADMIN_VERSION}\n");
    r.write(".env.sample", "TYPE=idp\nDOMAIN=idp.example.com\nSECRET_ADMIN_VERSION=v1 # length=30\n");
    r.write(
        "ccci.toml",
        "[tenant.create]\nservice = \"app\"\ncommand = \"idp-admin create $CCCI_TENANT\"\n[tenant.delete]\nservice = \"app\"\ncommand = \"idp-admin delete ${CCCI_TENANT}\"\n[tenant.list]\nservice = \"app\"\ncommand = \"idp-admin list\"\n",
    );
    r.commit("idp");
    r
}

/// Install-only options for `app` with its data under `data`.
fn install_only(app: &TestRecipe, data: &std::path::Path) -> crate::context::RunOptions {
    let mut o = options(&app.path(), None, serve(200), &app.path());
    o.data_dir = data.to_path_buf();
    o.tiers = vec![Tier::Install];
    o
}

/// A web app depending on the shared idp.
fn dependent(idp: &TestRecipe) -> TestRecipe {
    let r = TestRecipe::web("1.0.0+1.0");
    r.write(
        "ccci.toml",
        &format!(
            "[[dependencies]]\nname = \"idp\"\nrecipe = \"{}\"\nwarm = true\n[dependencies.env]\nIDP_TENANT = \"{{tenant}}\"\nIDP_SECRET = \"{{tenant.client_secret}}\"\nIDP_HOST = \"{{stack}}_app\"\n",
            idp.path().display()
        ),
    );
    r.commit("needs the shared idp");
    r
}

#[tokio::test]
async fn each_run_gets_its_own_tenant_in_one_shared_app_deployed_once() {
    let tenants: Tenants = Default::default();
    let engine = idp_engine(&tenants);
    let (idp, data) = (idp(), tempfile::tempdir().unwrap());
    let app = dependent(&idp);
    let mut seen = Vec::new();
    for _ in 0..2 {
        let o = install_only(&app, data.path());
        let collect = Arc::new(Collect::default());
        let report = crate::run::run_on(&engine, o, vec![collect.clone()]).await.unwrap();
        assert_eq!(report.result.outcome, Outcome::Pass, "{:?}", report.result.tiers);
        let doc = engine.document(&report.result.instance.stack).unwrap();
        let env = &doc["services"]["app"]["environment"];
        let tenant = env["IDP_TENANT"].as_str().unwrap().to_string();
        assert_eq!(tenant, format!("ccci-{}", report.result.run_id));
        assert_eq!(env["IDP_SECRET"].as_str().unwrap(), format!("secret-of-{tenant}"));
        assert_eq!(env["IDP_HOST"].as_str().unwrap(), "shared-idp_ccci_test_app");
        let events = serde_json::to_string(&*collect.0.lock().unwrap()).unwrap();
        assert!(!events.contains(&format!("secret-of-{tenant}")), "the tenant's credential is redacted: {events}");
        seen.push(tenant);
    }
    assert_ne!(seen[0], seen[1], "distinct tenants");
    assert_eq!(*tenants.lock().unwrap(), BTreeSet::from(["master".to_string()]), "no tenant of the runs is left");
    let shared_deploys = engine
        .calls()
        .into_iter()
        .filter(|c| matches!(c, Call::Deploy { stack } if stack == "shared-idp_ccci_test"))
        .count();
    assert_eq!(shared_deploys, 1, "the shared app is deployed once and kept");
    assert!(engine.is_deployed("shared-idp_ccci_test"), "teardown of the runs leaves it");
    assert!(engine.secrets().contains("shared-idp_ccci_test_admin_v1"), "and its secret");
}

#[tokio::test]
async fn the_janitor_removes_tenants_of_dead_runs_only() {
    let tenants: Tenants = Default::default();
    let engine = idp_engine(&tenants);
    let (idp, data) = (idp(), tempfile::tempdir().unwrap());
    let app = dependent(&idp);
    crate::run::run_on(&engine, install_only(&app, data.path()), vec![]).await.unwrap();
    let live_dir = crate::liveness::live_dir();
    let live = crate::run_id::new_run_id();
    let _claim = crate::liveness::claim(&live_dir, &live).unwrap();
    let dead = crate::run_id::new_run_id();
    tenants.lock().unwrap().extend([format!("ccci-{live}"), format!("ccci-{dead}"), "operators-own".to_string()]);
    let reaped = crate::shared::reap(&engine, data.path(), &live_dir).await;
    assert_eq!(reaped, [("idp".to_string(), format!("ccci-{dead}"))]);
    let left = tenants.lock().unwrap().clone();
    assert_eq!(left, BTreeSet::from(["master".to_string(), format!("ccci-{live}"), "operators-own".to_string()]));
}

#[tokio::test]
async fn a_failing_tenant_create_fails_install_naming_it_and_nothing_of_the_app_is_deployed() {
    let engine = FakeEngine::new();
    engine.respond(|_, argv| {
        argv.last().is_some_and(|l| l.contains("create")).then(|| output(3, "", "realm limit reached\n"))
    });
    let (idp, data) = (idp(), tempfile::tempdir().unwrap());
    let app = dependent(&idp);
    let mut o = options(&app.path(), None, serve(200), &app.path());
    o.data_dir = data.path().to_path_buf();
    let report = crate::run::run_on(&engine, o, vec![]).await.unwrap();
    let install = &report.result.tiers[0];
    assert_eq!(install.outcome, Outcome::Fail);
    assert!(
        install.reason.starts_with("dependency idp: tenant.create of ccci-")
            && install.reason.ends_with("exited 3: realm limit reached"),
        "{}",
        install.reason
    );
    assert!(!engine
        .calls()
        .iter()
        .any(|c| matches!(c, Call::Deploy { stack } if *stack == report.result.instance.stack)));
}
