//! The app of one run, as abra would deploy it: the CI's domain and stack name for this run, the app
//! env (the recipe's `.env.sample`, `abra.sh` exports, DOMAIN, STACK_NAME, no ACME resolver), the
//! merged document with abra's deploy-time labels (recipe, chaos) and every env key exposed to
//! `app`, and the secrets to create. Every Docker name is checked against its limit here, before
//! anything exists. Also the other apps a run deploys: the base release an upgrade starts from
//! ([`BaseApp`]) and cold dependencies ([`DependencyApp`]).

use std::collections::BTreeMap;

use recipe::app_env;
use recipe::instance::{self, Instance};
use recipe::naming::{self, RunIdentity};
use recipe::recipe::Recipe;
use recipe::secrets::{self, SecretSpec};
use serde_norway::{Mapping, Value};

/// The main service abra labels and exposes the env to.
const APP_SERVICE: &str = "app";

/// A deployable app instance.
#[derive(Debug, Clone)]
pub struct App {
    pub domain: String,
    pub stack: String,
    pub env: BTreeMap<String, String>,
    /// The rendered, labelled document to deploy.
    pub doc: Value,
    pub secrets: Vec<SecretSpec>,
}

impl App {
    /// How long the set of running tasks must hold still before the stack counts as converged.
    /// Zero when every service declares an enabled healthcheck: swarm then keeps each task
    /// `starting` until the recipe's own readiness check passes, which is the evidence abra waits
    /// for. Otherwise swarm's default window, as `docker service create` verifies, so a task that
    /// starts and crashes a moment later is not taken for converged.
    pub fn stability_window(&self) -> std::time::Duration {
        let services = self.doc.get("services").and_then(Value::as_mapping);
        let all_checked = services.is_some_and(|m| !m.is_empty() && m.values().all(has_healthcheck));
        if all_checked {
            std::time::Duration::ZERO
        } else {
            swarm::converge::STABLE
        }
    }
}

fn has_healthcheck(service: &Value) -> bool {
    let Some(hc) = service.get("healthcheck") else { return false };
    let disabled = hc.get("disable").and_then(Value::as_bool) == Some(true);
    let test_none = hc
        .get("test")
        .and_then(Value::as_sequence)
        .and_then(|t| t.first())
        .and_then(Value::as_str)
        .is_some_and(|first| first == "NONE");
    hc.get("test").is_some() && !disabled && !test_none
}

/// The release the upgrade tier starts from: install deploys it, upgrade replaces it in place.
#[derive(Debug, Clone)]
pub struct BaseApp {
    /// The release tag.
    pub version: String,
    /// The base release rendered for the same instance (same domain and stack) as the target.
    pub app: App,
}

/// A dependency (SPEC T6) rendered for one run: another recipe's app on its own instance — the
/// run's own (cold), or a long-lived one the CI shares between runs (warm).
#[derive(Debug, Clone)]
pub struct DependencyApp {
    /// Its short name (config `name`, else the recipe's name).
    pub name: String,
    /// The recipe's name.
    pub recipe: String,
    /// For a warm dependency: how it makes, removes and lists tenants (its own config's hooks).
    pub warm: Option<recipe::config::TenantHooks>,
    pub app: App,
    /// `<scheme>://<domain>`.
    pub url: String,
    /// Its convergence timeout (its own label, else the default).
    pub timeout: std::time::Duration,
    /// The env it gives the dependent (config `env` with its coordinates filled in).
    pub env: BTreeMap<String, String>,
}

/// Why an app cannot be prepared: the recipe is at fault.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct NotDeployable(pub String);

/// The instance names of a run.
pub fn instance_for(identity: &RunIdentity<'_>, base_domain: &str) -> Instance {
    let domain = naming::app_domain(identity, base_domain);
    Instance { stack_name: app_env::stack_name(&domain), domain }
}

/// Render `recipe` for `instance`; `chaos` is the chaos version when the ref is not a release.
pub fn prepare(recipe: &Recipe, instance: &Instance, chaos: Option<&str>) -> Result<App, NotDeployable> {
    prepare_with(recipe, instance, chaos, &BTreeMap::new())
}

/// [`prepare`] with `extra` env (per-recipe config, dependency coordinates) over the app env.
pub fn prepare_with(
    recipe: &Recipe,
    instance: &Instance,
    chaos: Option<&str>,
    extra: &BTreeMap<String, String>,
) -> Result<App, NotDeployable> {
    let combination =
        instance::combinations(recipe).into_iter().next().ok_or_else(|| NotDeployable("no compose files".into()))?;
    let mut env = instance::app_env(recipe, instance);
    env.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
    // The CI serves with a wildcard certificate: no ACME resolver (COOPCLOUD.md).
    env.insert("LETS_ENCRYPT_ENV".into(), String::new());
    env.insert("COMPOSE_FILE".into(), combination.files.join(":"));
    let mut doc =
        recipe::compose::load(&recipe.dir, &combination.files, &env).map_err(|e| NotDeployable(e.to_string()))?.doc;
    check_names(&instance.stack_name, &doc)?;
    add_abra_labels(&mut doc, &instance.stack_name, &recipe.name, chaos)?;
    expose_env(&mut doc, &env)?;
    let env_path =
        recipe.env_sample.as_ref().map(|s| recipe.dir.join(&s.path)).unwrap_or_else(|| recipe.dir.join(".env.sample"));
    let empty = recipe::env::EnvFile::default();
    let env_file = recipe.env_sample.as_ref().map(|s| &s.env).unwrap_or(&empty);
    let secrets = secrets::secret_specs(&doc, env_file, &env_path).map_err(|e| NotDeployable(e.to_string()))?;
    Ok(App { domain: instance.domain.clone(), stack: instance.stack_name.clone(), env, doc, secrets })
}

fn check_names(stack: &str, doc: &Value) -> Result<(), NotDeployable> {
    let checks = naming::docker_names(stack, doc);
    let over = naming::overflows(&checks);
    if over.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = over
        .iter()
        .map(|c| format!("{:?} {} is {} characters (limit {})", c.kind, c.name, c.length, c.limit).to_lowercase())
        .collect();
    Err(NotDeployable(format!("refused before deploying: {}; shorten the names in the recipe", list.join("; "))))
}

fn app_service(doc: &mut Value) -> Result<&mut Mapping, NotDeployable> {
    doc.get_mut("services")
        .and_then(|s| s.get_mut(APP_SERVICE))
        .and_then(Value::as_mapping_mut)
        .ok_or_else(|| NotDeployable("the compose files define no `app` service".into()))
}

fn child_mapping<'a>(parent: &'a mut Mapping, key: &str) -> &'a mut Mapping {
    let slot = parent.entry(Value::from(key)).or_insert_with(|| Value::Mapping(Mapping::new()));
    if !slot.is_mapping() {
        *slot = Value::Mapping(Mapping::new());
    }
    slot.as_mapping_mut().expect("just made a mapping")
}

/// abra's deploy-time labels on `app`: the recipe name, and for an unreleased ref the chaos pair.
fn add_abra_labels(doc: &mut Value, stack: &str, recipe: &str, chaos: Option<&str>) -> Result<(), NotDeployable> {
    let app = app_service(doc)?;
    let labels = child_mapping(child_mapping(app, "deploy"), "labels");
    labels.insert(format!("coop-cloud.{stack}.recipe").into(), recipe.into());
    if let Some(version) = chaos {
        labels.insert(format!("coop-cloud.{stack}.chaos").into(), "true".into());
        labels.insert(format!("coop-cloud.{stack}.chaos-version").into(), version.into());
    }
    Ok(())
}

/// abra exposes every app env key to `app`; keys the recipe sets itself keep the recipe's value.
fn expose_env(doc: &mut Value, env: &BTreeMap<String, String>) -> Result<(), NotDeployable> {
    let environment = child_mapping(app_service(doc)?, "environment");
    for (k, v) in env {
        environment.entry(k.as_str().into()).or_insert_with(|| v.as_str().into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::app_from;

    fn doc() -> Value {
        serde_norway::from_str("services: {app: {image: x:1, environment: {KEEP: mine}}, db: {image: y:1}}").unwrap()
    }

    #[test]
    fn abra_labels_and_env_land_on_app_only() {
        let mut d = doc();
        add_abra_labels(&mut d, "s_example", "simple", Some("abc123+U")).unwrap();
        let env = BTreeMap::from([("KEEP".to_string(), "env".to_string()), ("NEW".to_string(), "v".to_string())]);
        expose_env(&mut d, &env).unwrap();
        let app = &d["services"]["app"];
        assert_eq!(app["deploy"]["labels"]["coop-cloud.s_example.recipe"], Value::from("simple"));
        assert_eq!(app["deploy"]["labels"]["coop-cloud.s_example.chaos-version"], Value::from("abc123+U"));
        assert_eq!(app["environment"]["KEEP"], Value::from("mine"));
        assert_eq!(app["environment"]["NEW"], Value::from("v"));
        assert!(d["services"]["db"].get("environment").is_none());
    }

    #[test]
    fn the_stability_window_is_waived_only_when_every_service_has_a_healthcheck() {
        let checked = "services: {app: {healthcheck: {test: [CMD, x]}}, db: {healthcheck: {test: [CMD-SHELL, y]}}}";
        assert_eq!(app_from(checked).stability_window(), std::time::Duration::ZERO);
        let one_missing = "services: {app: {healthcheck: {test: [CMD, x]}}, db: {image: y}}";
        assert_eq!(app_from(one_missing).stability_window(), swarm::converge::STABLE);
        let disabled = "services: {app: {healthcheck: {test: [NONE]}}}";
        assert_eq!(app_from(disabled).stability_window(), swarm::converge::STABLE);
    }

    #[test]
    fn a_missing_app_service_is_named() {
        let mut d: Value = serde_norway::from_str("services: {web: {image: x:1}}").unwrap();
        let err = add_abra_labels(&mut d, "s", "r", None).unwrap_err();
        assert!(err.0.contains("`app`"), "{err}");
    }

    #[test]
    fn overlong_names_are_refused_with_each_name() {
        let long = "x".repeat(60);
        let d: Value = serde_norway::from_str(&format!(
            "services: {{app: {{image: x:1}}}}\nsecrets: {{pw: {{external: true, name: {long}_pw_v1}}}}"
        ))
        .unwrap();
        let err = check_names("stack", &d).unwrap_err();
        assert!(err.0.contains(&format!("{long}_pw_v1 is 66 characters (limit 64)")), "{err}");
    }
}
