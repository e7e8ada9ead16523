//! Warm dependencies (SPEC T6): a dependency declared `warm = true` is a long-lived app the CI
//! shares between runs — at the stable domain `shared-<recipe>.<base domain>`, every object of it
//! labelled `cc-ci.infra=<its stack name>` and never with a run, so no teardown or janitor removes
//! it — deployed by the first run that needs it and kept (upgrading it is infrastructure work).
//! Each run gets its own **tenant** in it, `ccci-<run id>`: made by the dependency's
//! `tenant.create` hook (run inside its service, `$CCCI_TENANT` set) before the dependent is
//! rendered, its credentials (the `KEY=VALUE` lines the hook prints) registered as secrets before
//! anything is logged and handed to the dependent through `{tenant}` and `{tenant.<key>}` in the
//! config's `env`; removed by `tenant.delete` after the run's teardown. The janitor removes the
//! tenants of runs that are no longer live (`tenant.list`), never one of a live run or one cc-ci
//! did not make. Deploying the app and making or removing a tenant hold the app's lock.
//!
//! `<data dir>/shared/<recipe>/` holds `shared.json` (what the janitor needs), `secrets.json`
//! (0600: the app's own secret values) and `lock`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use recipe::config::{Hook, TenantHooks};
use recipe::instance::Instance;
use serde::{Deserialize, Serialize};
use swarm::deploy::Deploy;

use crate::app::DependencyApp;
use crate::deploy::{self, Deployer};
use crate::engine::Engine;
use crate::events::{Role, Step};
use crate::outcome::TierEnd;
use crate::result::Tier;

/// Prefix of the tenants cc-ci makes (the rest is the run id).
pub const TENANT_PREFIX: &str = "ccci-";

/// The instance of `recipe` shared as a warm dependency.
pub fn instance(recipe: &str, base_domain: &str) -> Instance {
    let domain = format!("shared-{recipe}.{base_domain}");
    Instance { stack_name: recipe::app_env::stack_name(&domain), domain }
}

/// The tenant of run `run_id`.
pub fn tenant_name(run_id: &str) -> String {
    format!("{TENANT_PREFIX}{run_id}")
}

/// What is kept about a shared app: enough for the janitor to list and remove tenants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shared {
    pub recipe: String,
    pub stack: String,
    pub domain: String,
    pub tenant: TenantHooks,
}

/// `<data>/shared/<recipe>`: the shared app's record, secret values and lock.
pub fn dir(data_dir: &Path, recipe: &str) -> PathBuf {
    data_dir.join("shared").join(recipe)
}

/// The lock held by whoever deploys the shared app or changes its tenants.
pub fn lock_path(data_dir: &Path, recipe: &str) -> PathBuf {
    dir(data_dir, recipe).join("lock")
}

/// The shared app's secret values by Docker name, as kept in `<dir>/secrets.json` (empty before
/// its first deploy).
pub fn secret_values(root: &Path) -> BTreeMap<String, String> {
    std::fs::read(root.join("secrets.json")).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
}

/// Create every secret of `app` that `values` has no value for (generated; the app lives as
/// long as the CI, so it carries the infrastructure label) and keep the values in
/// `<root>/secrets.json` (0600). A release that adds a secret gets it here.
pub async fn create_missing_secrets(
    engine: &dyn Engine,
    app: &crate::app::App,
    root: &Path,
    values: &mut BTreeMap<String, String>,
) -> Result<(), TierEnd> {
    let mut created = false;
    for spec in &app.secrets {
        if values.contains_key(&spec.name) {
            continue;
        }
        let value = crate::secrets::generate(&spec.generator)
            .ok_or_else(|| TierEnd::fail(format!("secret {} of a shared app has generate=false", spec.key)))?;
        engine.create_infra_secret(&app.stack, &spec.name, value.as_bytes()).await?;
        values.insert(spec.name.clone(), value);
        created = true;
    }
    if created {
        std::fs::create_dir_all(root).map_err(|e| TierEnd::error(format!("{}: {e}", root.display())))?;
        let json = serde_json::to_vec(values).map_err(|e| TierEnd::error(e.to_string()))?;
        crate::durable::write_atomically(&root.join("secrets.json"), &json, 0o600)
            .map_err(|e| TierEnd::error(format!("cannot keep the shared app's secret values: {e}")))?;
    }
    Ok(())
}

/// A run's tenant in a shared app.
#[derive(Debug, Clone)]
pub struct Tenant {
    /// The dependency's name in the dependent's config.
    pub dependency: String,
    pub name: String,
    pub stack: String,
    pub delete: Hook,
    lock_path: PathBuf,
}

/// Make sure every warm dependency of the run is deployed and serving, make the run's tenant in
/// each, and fill `{tenant}` and `{tenant.<key>}` in the env it gives the dependent.
pub async fn open(d: &Deployer<'_>, deps: &mut [DependencyApp]) -> Result<Vec<Tenant>, TierEnd> {
    let mut tenants = Vec::new();
    for dep in deps.iter_mut() {
        let Some(hooks) = dep.warm.clone() else { continue };
        let opened = open_one(d, dep, &hooks).await.map_err(|e| e.context(&format!("dependency {}", dep.name)));
        match opened {
            Ok(tenant) => tenants.push(tenant),
            Err(end) => {
                close(d, tenants).await;
                return Err(end);
            }
        }
    }
    Ok(tenants)
}

async fn open_one(d: &Deployer<'_>, dep: &mut DependencyApp, hooks: &TenantHooks) -> Result<Tenant, TierEnd> {
    let root = dir(&d.options.data_dir, &dep.recipe);
    let lock_path = lock_path(&d.options.data_dir, &dep.recipe);
    let _lock = crate::locks::acquire(&lock_path)
        .await
        .map_err(|e| TierEnd::error(format!("cannot lock {}: {e}", lock_path.display())))?;
    ensure_deployed(d, dep, &root).await?;
    let record = Shared {
        recipe: dep.recipe.clone(),
        stack: dep.app.stack.clone(),
        domain: dep.app.domain.clone(),
        tenant: hooks.clone(),
    };
    let json = serde_json::to_vec_pretty(&record).map_err(|e| TierEnd::error(e.to_string()))?;
    crate::durable::write_atomically(&root.join("shared.json"), &json, 0o644)
        .map_err(|e| TierEnd::error(format!("cannot record the shared app {}: {e}", dep.recipe)))?;
    let name = tenant_name(d.run_id);
    let create = hooks.create.as_ref().ok_or_else(|| TierEnd::fail("no tenant.create hook"))?;
    let out = run_hook(d.engine, &dep.app.stack, create, &name).await?;
    let credentials = parse_credentials(&out.stdout);
    // Every credential is a secret but the tenant's own name (a client id often repeats it).
    for value in credentials.values().filter(|v| **v != name) {
        d.events.redactor().register(value);
    }
    d.events.output(Some(Tier::Install), &out.stdout);
    d.events.output(Some(Tier::Install), &out.stderr);
    if out.exit_code != 0 {
        let last = crate::exec::last_output_line(&out.stdout, &out.stderr);
        return Err(TierEnd::fail(crate::exec::exited(&format!("tenant.create of {name}"), out.exit_code, &last)));
    }
    for (key, value) in &credentials {
        crate::secrets_file::record_secret(d.work, &[&format!("{}/tenant.{key}", dep.name)], value)
            .map_err(|e| TierEnd::error(format!("cannot record the run's secret values: {e}")))?;
    }
    dep.env = with_tenant(&dep.env, &name, &credentials).map_err(TierEnd::fail)?;
    d.events.step(Some(Tier::Install), Step::TenantCreated { dependency: dep.name.clone(), tenant: name.clone() });
    let delete = hooks.delete.clone().ok_or_else(|| TierEnd::fail("no tenant.delete hook"))?;
    Ok(Tenant { dependency: dep.name.clone(), name, stack: dep.app.stack.clone(), delete, lock_path })
}

/// Deploy the shared app unless it is deployed, then wait until it has converged and serves.
async fn ensure_deployed(d: &Deployer<'_>, dep: &DependencyApp, root: &Path) -> Result<(), TierEnd> {
    let app = &dep.app;
    let infra = app.stack.clone();
    let mut values = secret_values(root);
    let deployed = d.engine.service_labels(&app.stack, "app").await.is_ok();
    if !deployed {
        crate::pull::pull_images(d, app, Tier::Install).await?;
        create_missing_secrets(d.engine, app, root, &mut values).await?;
    }
    for value in values.values() {
        d.events.redactor().register(value);
    }
    if !deployed {
        let role = Role::Dependency { name: dep.name.clone() };
        d.events
            .step(Some(Tier::Install), Step::Deploying { stack: app.stack.clone(), domain: app.domain.clone(), role });
        let deploy =
            Deploy { stack: &app.stack, run_id: d.run_id, document: &app.doc, workdir: d.work, dnsrr: d.options.dnsrr };
        let output = d.engine.deploy_labelled(&deploy, &[(swarm::labels::INFRA, &infra)]).await?;
        d.events.output(Some(Tier::Install), &output);
    }
    let converged = deploy::converge(d, app, Tier::Install, dep.timeout).await?;
    let served = deploy::check_serving(d, app, None, Tier::Install, dep.timeout).await?;
    d.events.step(
        Some(Tier::Install),
        Step::DependencyReady {
            name: dep.name.clone(),
            stack: app.stack.clone(),
            seconds: converged.as_secs_f64(),
            url: served.url,
            status: served.status,
        },
    );
    Ok(())
}

/// Remove the run's tenants (the dependent is torn down by now).
pub async fn close(d: &Deployer<'_>, tenants: Vec<Tenant>) {
    for t in tenants {
        let _lock = crate::locks::acquire(&t.lock_path).await;
        match run_hook(d.engine, &t.stack, &t.delete, &t.name).await {
            Ok(out) if out.exit_code == 0 => {
                d.events.step(None, Step::TenantDeleted { dependency: t.dependency.clone(), tenant: t.name.clone() })
            }
            Ok(out) => {
                let last = crate::exec::last_output_line(&out.stdout, &out.stderr);
                let what = crate::exec::exited(&format!("tenant.delete of {}", t.name), out.exit_code, &last);
                d.events.note(None, format!("{what}; the janitor will try again"));
            }
            Err(e) => {
                d.events.note(None, format!("tenant.delete of {}: {}; the janitor will try again", t.name, e.reason))
            }
        }
    }
}

/// Remove the tenants of runs that are not live from every shared app recorded under
/// `data_dir`; returns `(app, tenant)` for each removed.
pub async fn reap(engine: &dyn Engine, data_dir: &Path, live_dir: &Path) -> Vec<(String, String)> {
    let mut reaped = Vec::new();
    for entry in std::fs::read_dir(data_dir.join("shared")).into_iter().flatten().flatten() {
        let Some(shared) = std::fs::read(entry.path().join("shared.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<Shared>(&b).ok())
        else {
            continue;
        };
        let (Some(list), Some(delete)) = (&shared.tenant.list, &shared.tenant.delete) else { continue };
        let _lock = crate::locks::acquire(&entry.path().join("lock")).await;
        let Ok(out) = run_hook(engine, &shared.stack, list, "").await else { continue };
        if out.exit_code != 0 {
            continue;
        }
        for tenant in out.stdout.lines().map(str::trim) {
            let Some(run) = tenant.strip_prefix(TENANT_PREFIX) else { continue };
            if !crate::run_id::is_valid(run) || crate::liveness::is_live(live_dir, run) {
                continue;
            }
            if run_hook(engine, &shared.stack, delete, tenant).await.is_ok_and(|o| o.exit_code == 0) {
                reaped.push((shared.recipe.clone(), tenant.to_string()));
            }
        }
    }
    reaped
}

/// Run a tenant hook inside its service of `stack`, `$CCCI_TENANT` replaced by `tenant`.
async fn run_hook(engine: &dyn Engine, stack: &str, hook: &Hook, tenant: &str) -> Result<crate::exec::Ran, TierEnd> {
    let service = hook.service.as_deref().unwrap_or("app");
    let argv = hook.command.argv(&[("CCCI_TENANT", tenant)]);
    let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
    let out = engine.exec(stack, service, &refs).await?;
    Ok(crate::exec::Ran {
        exit_code: out.exit_code,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// `KEY=VALUE` lines (others left out).
fn parse_credentials(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .filter(|(k, _)| !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .collect()
}

/// `env` with `{tenant}` and each `{tenant.<key>}` filled in; a key the tenant has no credential
/// for is the recipe config's mistake.
fn with_tenant(
    env: &BTreeMap<String, String>,
    tenant: &str,
    credentials: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for (k, v) in env {
        let mut value = v.replace("{tenant}", tenant);
        while let Some(start) = value.find("{tenant.") {
            let end =
                value[start..].find('}').map(|e| start + e).ok_or_else(|| format!("env {k}: unclosed {{tenant."))?;
            let key = &value[start + "{tenant.".len()..end];
            let credential = credentials
                .get(key)
                .ok_or_else(|| format!("env {k} wants {{tenant.{key}}}, but tenant.create printed no {key}= line"))?;
            value.replace_range(start..=end, credential);
        }
        out.insert(k.clone(), value);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_fill_the_env_and_an_unknown_key_is_named() {
        let creds = parse_credentials("client_id=ccci-r1\nclient_secret=abc123\nnoise line\n");
        assert_eq!(creds.len(), 2);
        let env = BTreeMap::from([
            ("IDP_TENANT".to_string(), "{tenant}".to_string()),
            ("IDP_SECRET".to_string(), "{tenant.client_secret}".to_string()),
            ("IDP_URL".to_string(), "https://idp/realms/{tenant}".to_string()),
        ]);
        let filled = with_tenant(&env, "ccci-r1", &creds).unwrap();
        assert_eq!(filled["IDP_SECRET"], "abc123");
        assert_eq!(filled["IDP_URL"], "https://idp/realms/ccci-r1");
        let bad = BTreeMap::from([("X".to_string(), "{tenant.token}".to_string())]);
        assert!(with_tenant(&bad, "t", &creds).unwrap_err().contains("printed no token= line"));
    }
}
