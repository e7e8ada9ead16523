//! Cold dependencies (SPEC T6): another recipe a recipe needs (e.g. an identity provider), declared
//! in its per-recipe config, rendered for the run on its own instance (own domain and stack) and
//! deployed before install through the same install path as the app (`crate::deploy`), labelled
//! with the same run id, so teardown, the residual check, keep-on-failure and the janitor treat it
//! as part of the run. Its coordinates (`{domain}`, `{url}`, `{stack}`, `{name}`) reach the
//! dependent's env, hooks and tests through the config's `env` templates.

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
        let instance = app::instance_for(&identity, &options.base_domain);
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
        deps.push(DependencyApp { name, app, url, timeout, env });
    }
    Ok(deps)
}

/// The env all dependencies give the dependent app, in declaration order.
pub fn env_for_dependent(deps: &[DependencyApp]) -> BTreeMap<String, String> {
    deps.iter().flat_map(|d| d.env.clone()).collect()
}

/// Deploy every dependency of the run in order, each converged and serving before the next.
pub async fn deploy_all(ctx: &RunContext<'_>) -> Result<(), TierEnd> {
    for dep in ctx.dependencies {
        deploy_one(ctx, dep).await.map_err(|e| e.context(&format!("dependency {}", dep.name)))?;
    }
    Ok(())
}

async fn deploy_one(ctx: &RunContext<'_>, dep: &DependencyApp) -> Result<(), TierEnd> {
    let tier = Tier::Install;
    let role = Role::Dependency { name: dep.name.clone() };
    let converged = deploy::deploy_and_converge(ctx, &dep.app, role, tier, dep.timeout).await?;
    let served = deploy::check_serving(ctx, &dep.app, None, tier, dep.timeout).await?;
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
