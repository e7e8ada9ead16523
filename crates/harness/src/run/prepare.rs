//! Everything a run needs before its first tier, decided from the checkout alone: load and plan
//! the recipe under its per-recipe config, render the cold dependencies, the app at the ref under
//! test and, when an upgrade follows, the base release for the same instance, and the data marker.
//! Every failure here is the recipe's (it cannot be deployed as it is), except a checkout of the
//! base release the machine cannot make.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use recipe::config::RecipeConfig;
use recipe::instance::Instance;
use recipe::plan::{self, Decision, Overrides};
use recipe::recipe::Recipe;

use crate::app::{self, App, BaseApp, DependencyApp};
use crate::checkout::{self, Checkout};
use crate::context::RunOptions;
use crate::dependencies;
use crate::marker::Marker;
use crate::outcome::TierEnd;
use crate::result::Tier;

/// What a run needs before its first tier.
#[derive(Debug)]
pub struct Prepared {
    /// The recipe at the ref under test, and the env it was rendered with (to render it again
    /// for another instance: a canonical copy).
    pub recipe: Recipe,
    pub env: BTreeMap<String, String>,
    pub config: RecipeConfig,
    pub app: App,
    pub base: Option<BaseApp>,
    pub dependencies: Vec<DependencyApp>,
    pub marker: Marker,
    /// The app's convergence timeout.
    pub timeout: Duration,
    /// The plan's decision per tier.
    pub decisions: Vec<(Tier, Decision)>,
}

/// The recipe loaded and planned, and its dependencies rendered: what can be known before any
/// warm dependency gives the run its tenant.
#[derive(Debug)]
pub struct Loaded {
    pub recipe: Recipe,
    pub config: RecipeConfig,
    pub plan: plan::Plan,
    pub dependencies: Vec<DependencyApp>,
}

/// Load and plan `checkout` for `instance` and render its dependencies; `workdir` holds their
/// checkouts. `base` names the release to upgrade from instead of the plan's (a quick run
/// upgrades from its canonical copy's version).
pub fn load(
    checkout: &Checkout,
    options: &RunOptions,
    instance: &Instance,
    run_id: &str,
    workdir: &Path,
    base: Option<&str>,
) -> Result<Loaded, TierEnd> {
    let mut recipe = Recipe::load(&checkout.dir).map_err(|e| TierEnd::fail(e.to_string()))?;
    // The private checkout's directory is `recipe/`; the recipe's name is the source's.
    recipe.name = checkout.name.clone();
    let origin = checkout::origin(&options.source, &checkout.dir);
    let config = recipe::config::load_from(&checkout.dir, &origin, options.config_dir.as_deref(), &checkout.name)
        .map_err(|e| TierEnd::fail(e.0))?;
    let mut overrides: Overrides = config.overrides();
    if let Some(version) = base {
        overrides.upgrade_base = Some(version.to_string());
    }
    let plan = plan::plan(&recipe, options.git_ref.as_deref(), &overrides).map_err(|e| TierEnd::fail(e.to_string()))?;
    let dependencies = dependencies::prepare(&config, options, run_id, &instance.domain, workdir)?;
    Ok(Loaded { recipe, config, plan, dependencies })
}

/// Render the app (and the base release, when an upgrade follows) for `instance`, with the env
/// its dependencies give it (tenants included, once they exist).
pub fn render(
    loaded: Loaded,
    checkout: &Checkout,
    options: &RunOptions,
    instance: &Instance,
    workdir: &Path,
) -> Result<Prepared, TierEnd> {
    let Loaded { recipe, config, plan, dependencies } = loaded;
    let mut env = dependencies::env_for_dependent(&dependencies);
    env.extend(config.env.clone());
    let decisions: Vec<(Tier, Decision)> = plan.tiers.iter().map(|t| (t.tier, t.decision.clone())).collect();
    let upgrade_runs = options.tiers.contains(&Tier::Upgrade)
        && decisions.iter().any(|(t, d)| *t == Tier::Upgrade && matches!(d, Decision::Runs { .. }));
    let mut target_env = env.clone();
    if upgrade_runs && plan.upgrade_base.is_some() {
        target_env.extend(config.upgrade_env.clone());
    }
    let chaos = (!plan.versions.ref_is_release || checkout.dirty).then(|| checkout.chaos_version());
    let app = app::prepare_with(&recipe, instance, chaos.as_deref(), &target_env).map_err(|e| TierEnd::fail(e.0))?;
    let base = match (upgrade_runs, &plan.upgrade_base) {
        (true, Some(version)) => Some(prepare_base(checkout, version, instance, &workdir.join("base"), &env)?),
        _ => None,
    };
    let marker = Marker::resolve(&config.marker, base.as_ref().map_or(&app, |b| &b.app));
    let timeout = Duration::from_secs(plan.timeout.seconds);
    Ok(Prepared { recipe, env: target_env, config, app, base, dependencies, marker, timeout, decisions })
}

/// Check out the base release beside the target and render it for the same instance.
fn prepare_base(
    checkout: &Checkout,
    version: &str,
    instance: &Instance,
    base_dir: &Path,
    env: &BTreeMap<String, String>,
) -> Result<BaseApp, TierEnd> {
    let source = checkout.dir.to_string_lossy();
    recipe::git::clone_at(&source, base_dir, Some(version))
        .map_err(|e| TierEnd::error(format!("cannot check out the base release {version}: {e}")))?;
    let recipe = Recipe::load(base_dir).map_err(|e| TierEnd::fail(format!("base release {version}: {e}")))?;
    let app = app::prepare_with(&recipe, instance, None, env)
        .map_err(|e| TierEnd::fail(format!("base release {version}: {}", e.0)))?;
    Ok(BaseApp { version: version.to_string(), app })
}
