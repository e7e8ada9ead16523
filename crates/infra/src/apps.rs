//! The infrastructure apps of a server (SPEC I1): the proxy, always, and the warm dependencies
//! the configuration lists (`[[infra.apps]]`), each a recipe with annotated release tags. A warm
//! dependency is the app runs share (`harness::shared`): the same instance
//! (`shared-<recipe>.<base domain>`), secrets and lock, so updating it here updates what runs use.
//! Its name is its recipe's, derived from its source as runs derive it, so the configuration
//! names it by the same git URL the dependents' `[[dependencies]]` do.

use std::collections::BTreeMap;

use crate::init::InitOptions;
use crate::proxy_source::RecipeSource;
use crate::PROXY_APP;

/// Everything infrastructure updates need: the host's set-up (`ccci server init`'s options, whose
/// proxy settings are the proxy app's) and the warm dependencies to keep up to date.
#[derive(Debug, Clone)]
pub struct Setup {
    pub init: InitOptions,
    pub shared: Vec<SharedSpec>,
}

/// A warm dependency kept up to date by cc-ci.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedSpec {
    /// Its recipe: a git URL (or a local repository's path), as the dependents name it.
    pub source: String,
    /// Env set over its app env, as the dependents' `set` gives it.
    pub set: BTreeMap<String, String>,
}

impl SharedSpec {
    /// Its name: the recipe's, from the source (the last path segment without `.git`).
    pub fn name(&self) -> String {
        harness::checkout::recipe_name(&self.source)
    }

    pub fn recipe_source(&self) -> RecipeSource {
        RecipeSource::Git(self.source.clone())
    }
}

/// One infrastructure app of a [`Setup`].
#[derive(Debug, Clone, Copy)]
pub enum App<'a> {
    Proxy,
    Shared(&'a SharedSpec),
}

impl App<'_> {
    /// The app's name: `proxy`, or the warm dependency's recipe name.
    pub fn name(&self) -> String {
        match self {
            App::Proxy => PROXY_APP.to_string(),
            App::Shared(spec) => spec.name(),
        }
    }

    /// What kind of app, for people.
    pub fn kind(&self) -> &'static str {
        match self {
            App::Proxy => "proxy",
            App::Shared(_) => "warm dependency",
        }
    }

    /// Whether it keeps data an update may migrate (its volumes are snapshotted first).
    pub fn stateful(&self) -> bool {
        matches!(self, App::Shared(_))
    }
}

impl Setup {
    /// Every app: the proxy first, then the warm dependencies as configured.
    pub fn apps(&self) -> Vec<App<'_>> {
        std::iter::once(App::Proxy).chain(self.shared.iter().map(App::Shared)).collect()
    }

    /// The app named `name`, or an error listing the names there are.
    pub fn app(&self, name: &str) -> Result<App<'_>, String> {
        let apps = self.apps();
        let names: Vec<String> = apps.iter().map(App::name).collect();
        apps.into_iter().find(|a| a.name() == name).ok_or_else(|| {
            format!(
                "no infrastructure app {name:?}; the apps are {} (warm dependencies: [[infra.apps]])",
                names.join(", ")
            )
        })
    }

    /// The stack of `app`.
    pub fn stack(&self, app: App<'_>) -> String {
        match app {
            App::Proxy => {
                recipe::app_env::stack_name(&self.init.proxy.domain.trim_end_matches('.').to_ascii_lowercase())
            }
            App::Shared(spec) => harness::shared::instance(&spec.name(), &self.init.base_domain).stack_name,
        }
    }

    /// Where `app`'s recipe comes from and its recipe name.
    pub fn source(&self, app: App<'_>) -> (String, RecipeSource) {
        match app {
            App::Proxy => (crate::proxy_recipe::NAME.to_string(), self.init.proxy.source.clone()),
            App::Shared(spec) => (spec.name(), spec.recipe_source()),
        }
    }

    /// The release `app` is pinned to by the configuration (`[infra.proxy] version`), if any.
    pub fn pinned(&self, app: App<'_>) -> Option<&str> {
        match app {
            App::Proxy => self.init.proxy.version.as_deref(),
            App::Shared(_) => None,
        }
    }

    /// `<data dir>/infra`: the recipes' repositories and checkouts, and the apps' records.
    pub fn infra_dir(&self) -> std::path::PathBuf {
        self.init.data_dir.join("infra")
    }
}

/// The release `<stack>_app` runs, from its `coop-cloud.<stack>.version` label; `None` when the
/// app is not deployed (or carries no version).
pub async fn running_version(swarm: &swarm::Swarm, stack: &str) -> swarm::Result<Option<String>> {
    let labels = swarm.service_labels_if_present(stack, "app").await?;
    Ok(labels.and_then(|l| l.get(&format!("coop-cloud.{stack}.version")).cloned()))
}
