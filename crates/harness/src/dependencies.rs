//! Cold dependencies (SPEC T6): another recipe a recipe needs (e.g. an identity provider), declared
//! in its per-recipe config, deployed for the run before install on its own instance (own domain
//! and stack) and labelled with the same run id, so teardown, the residual check, keep-on-failure
//! and the janitor treat it as part of the run. Its coordinates (`{domain}`, `{url}`, `{stack}`,
//! `{name}`) reach the dependent's env, hooks and tests through the config's `env` templates.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use recipe::config::RecipeConfig;
use recipe::naming::RunIdentity;
use recipe::plan::{self, Overrides};
use recipe::recipe::Recipe;
use swarm::deploy::Deploy;

use crate::app::{self, App};
use crate::context::{RunContext, RunOptions};
use crate::error::RunError;
use crate::result::Tier;
use crate::serving;
use crate::tiers::steps::ensure_secrets;
use crate::tiers::TierEnd;

/// A dependency prepared for one run.
#[derive(Debug, Clone)]
pub struct Dependency {
    /// Its short name (config `name`, else the recipe's name).
    pub name: String,
    pub app: App,
    /// `<scheme>://<domain>`.
    pub url: String,
    /// Its convergence timeout (its own label, else the default).
    pub timeout: Duration,
    /// The env it gives the dependent (config `env` with its coordinates filled in).
    pub env: BTreeMap<String, String>,
}

/// Check out and render every dependency of `config` for run `run_id`; returns them with the env
/// they give the dependent app. Failures are the recipe's (its config names a bad dependency).
pub fn prepare(
    config: &RecipeConfig,
    options: &RunOptions,
    run_id: &str,
    dependent_domain: &str,
    workdir: &Path,
) -> Result<(Vec<Dependency>, BTreeMap<String, String>), TierEnd> {
    let mut deps = Vec::new();
    let mut env = BTreeMap::new();
    for (i, spec) in config.dependencies.iter().enumerate() {
        let label = spec.name.clone().unwrap_or_else(|| spec.recipe.clone());
        let fail = |what: String| TierEnd::fail(format!("dependency {label}: {what}"));
        let dest = workdir.join("deps").join(i.to_string());
        std::fs::create_dir_all(workdir.join("deps"))
            .map_err(|e| TierEnd::error(format!("dependency {label}: cannot create its work dir: {e}")))?;
        let checkout =
            crate::checkout::checkout(&spec.recipe, spec.git_ref.as_deref(), &dest).map_err(|e| match e {
                RunError::Input(m) => fail(m),
                RunError::Infra(m) => TierEnd::error(format!("dependency {label}: {m}")),
            })?;
        let mut recipe = Recipe::load(&checkout.dir).map_err(|e| fail(e.to_string()))?;
        recipe.name = checkout.name.clone();
        let name = spec.name.clone().unwrap_or_else(|| checkout.name.clone());
        let timeout = plan::plan(&recipe, spec.git_ref.as_deref(), &Overrides::default())
            .map(|p| Duration::from_secs(p.timeout.seconds))
            .map_err(|e| fail(e.to_string()))?;
        let identity = RunIdentity {
            recipe: &checkout.name,
            pr: options.pr,
            git_ref: spec.git_ref.as_deref().unwrap_or("HEAD"),
            run_id,
        };
        let instance = app::instance_for(&identity, &options.base_domain);
        if instance.domain == dependent_domain || deps.iter().any(|d: &Dependency| d.app.domain == instance.domain) {
            return Err(fail(format!("its instance {} collides with another app of the run", instance.domain)));
        }
        let app = app::prepare_with(&recipe, &instance, None, &spec.set).map_err(|e| fail(e.0))?;
        let url = format!("{}://{}", options.scheme, app.domain);
        let mut given = BTreeMap::new();
        for (key, template) in &spec.env {
            let value = template
                .replace("{domain}", &app.domain)
                .replace("{url}", &url)
                .replace("{stack}", &app.stack)
                .replace("{name}", &name);
            given.insert(key.clone(), value);
        }
        env.extend(given.clone());
        deps.push(Dependency { name, app, url, timeout, env: given });
    }
    Ok((deps, env))
}

/// Deploy every dependency of the run, wait for convergence and for it to serve.
pub async fn deploy_all(ctx: &RunContext<'_>) -> Result<(), TierEnd> {
    let deps = ctx.state.lock().unwrap_or_else(|e| e.into_inner()).dependencies.clone();
    for dep in &deps {
        deploy_one(ctx, dep)
            .await
            .map_err(|e| TierEnd { reason: format!("dependency {}: {}", dep.name, e.reason), ..e })?;
    }
    Ok(())
}

async fn deploy_one(ctx: &RunContext<'_>, dep: &Dependency) -> Result<(), TierEnd> {
    let tier = Some(Tier::Install);
    ensure_secrets(ctx, &dep.app, Tier::Install).await?;
    ctx.log.step(tier, &format!("deploying dependency {} as stack {} at {}", dep.name, dep.app.stack, dep.app.domain));
    let deploy = Deploy {
        stack: &dep.app.stack,
        run_id: ctx.run_id,
        document: &dep.app.doc,
        workdir: ctx.workdir,
        dnsrr: ctx.options.dnsrr,
    };
    let deployed = ctx.swarm.deploy(&deploy).await?;
    ctx.log.detail(tier, &deployed.output);
    let converged = ctx.swarm.wait_converged_with(&dep.app.stack, dep.timeout, dep.app.stability_window()).await?;
    let target = serving::Target {
        domain: dep.app.domain.clone(),
        scheme: ctx.options.scheme.clone(),
        proxy: ctx.options.proxy,
        path: "/".into(),
        expect: Vec::new(),
    };
    let served = serving::check(&target, dep.timeout.min(Duration::from_secs(60))).await.map_err(|e| {
        if e.is_infrastructure() {
            TierEnd::error(e.to_string())
        } else {
            TierEnd::fail(e.to_string())
        }
    })?;
    ctx.log.step(
        tier,
        &format!(
            "dependency {} converged in {:.1}s; {} answered {}",
            dep.name,
            converged.elapsed.as_secs_f64(),
            served.url,
            served.status
        ),
    );
    Ok(())
}
