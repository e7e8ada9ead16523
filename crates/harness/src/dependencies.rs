//! Dependencies (SPEC T6): another recipe a recipe needs (e.g. an identity provider), declared in
//! its per-recipe config and rendered for the run. A **cold** one gets the run's own instance (own
//! domain and stack), is deployed before install through the same install path as the app
//! (`crate::deploy`) and labelled with the same run id, so teardown, the residual check,
//! keep-on-failure and the janitor treat it as part of the run. A **warm** one (`warm = true`) is
//! shared between runs, each with its own tenant (`crate::shared`). Their coordinates
//! (`{domain}`, `{url}`, `{stack}`, `{name}`, and for a warm one `{tenant}` and
//! `{tenant.<key>}`) reach the dependent's env, hooks and tests through the config's `env`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use recipe::config::RecipeConfig;
use recipe::naming::RunIdentity;
use recipe::plan::{self, Overrides};
use recipe::recipe::Recipe;

use crate::app::{self, DependencyApp};
use crate::context::{RunContext, RunOptions};
use crate::deploy;
use crate::error::RunError;
use crate::events::{Role, Step};
use crate::outcome::TierEnd;
use crate::result::Tier;

/// Check out and render every dependency of `config` for run `run_id`. Failures are the
/// recipe's (its config names a bad dependency), but a checkout the machine cannot make is an error.
pub fn prepare(
    config: &RecipeConfig,
    options: &RunOptions,
    run_id: &str,
    dependent_domain: &str,
    workdir: &Path,
) -> Result<Vec<DependencyApp>, TierEnd> {
    let mut deps: Vec<DependencyApp> = Vec::new();
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
        let warm = match spec.warm {
            false => None,
            true => Some(tenant_hooks(&checkout, options).map_err(fail)?),
        };
        let instance = match warm {
            Some(_) => crate::shared::instance(&checkout.name, &options.base_domain),
            None => app::instance_for(&identity, &options.base_domain),
        };
        if instance.domain == dependent_domain || deps.iter().any(|d| d.app.domain == instance.domain) {
            return Err(fail(format!("its instance {} collides with another app of the run", instance.domain)));
        }
        let app = app::prepare_with(&recipe, &instance, None, &spec.set).map_err(|e| fail(e.0))?;
        let url = format!("{}://{}", options.scheme, app.domain);
        let env: BTreeMap<String, String> = spec
            .env
            .iter()
            .map(|(key, template)| {
                let value = template
                    .replace("{domain}", &app.domain)
                    .replace("{url}", &url)
                    .replace("{stack}", &app.stack)
                    .replace("{name}", &name);
                (key.clone(), value)
            })
            .collect();
        deps.push(DependencyApp { name, recipe: checkout.name.clone(), warm, app, url, timeout, env });
    }
    Ok(deps)
}

/// A warm dependency's tenant hooks, from its own config: `create` and `delete` are required, and
/// every hook runs inside one of its services.
fn tenant_hooks(
    checkout: &crate::checkout::Checkout,
    options: &RunOptions,
) -> Result<recipe::config::TenantHooks, String> {
    let config = recipe::config::load(&checkout.dir, options.config_dir.as_deref(), &checkout.name).map_err(|e| e.0)?;
    let hooks = config.tenant;
    if hooks.create.is_none() || hooks.delete.is_none() {
        return Err("a warm dependency needs [tenant.create] and [tenant.delete] hooks in its ccci.toml".into());
    }
    let local = [("create", &hooks.create), ("delete", &hooks.delete), ("list", &hooks.list)]
        .into_iter()
        .find(|(_, h)| h.as_ref().is_some_and(|h| h.service.is_none()));
    if let Some((which, _)) = local {
        return Err(format!("tenant.{which} must name the `service` it runs in"));
    }
    Ok(hooks)
}

/// The env all dependencies give the dependent app, in declaration order.
pub fn env_for_dependent(deps: &[DependencyApp]) -> BTreeMap<String, String> {
    deps.iter().flat_map(|d| d.env.clone()).collect()
}

/// Deploy every cold dependency of the run in order, each converged and serving before the next
/// (warm ones are already up: `crate::shared`).
pub async fn deploy_all(ctx: &RunContext<'_>) -> Result<(), TierEnd> {
    for dep in ctx.dependencies.iter().filter(|d| d.warm.is_none()) {
        deploy_one(ctx, dep).await.map_err(|e| e.context(&format!("dependency {}", dep.name)))?;
    }
    Ok(())
}

async fn deploy_one(ctx: &RunContext<'_>, dep: &DependencyApp) -> Result<(), TierEnd> {
    let tier = Tier::Install;
    let role = Role::Dependency { name: dep.name.clone() };
    let converged = deploy::deploy_and_converge(ctx, &dep.app, role, tier, dep.timeout).await?;
    let served = deploy::check_serving(&ctx.deployer(), &dep.app, None, tier, dep.timeout).await?;
    ctx.events.step(
        Some(tier),
        Step::DependencyReady {
            name: dep.name.clone(),
            stack: dep.app.stack.clone(),
            seconds: converged.as_secs_f64(),
            url: served.url,
            status: served.status,
        },
    );
    Ok(())
}
