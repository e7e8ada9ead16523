//! What every tier of a run may use: the swarm, the app, the log, the run's options.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use swarm::Swarm;

use crate::app::App;
use crate::log::RunLog;
use crate::result::Tier;

/// How a run is asked for (the `ccci test` options, or the server's).
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// A recipe directory or git URL.
    pub source: String,
    /// The ref under test; `None` tests the directory's working tree as it is.
    pub git_ref: Option<String>,
    /// The tiers asked for, in order.
    pub tiers: Vec<Tier>,
    /// Where result.json, the log and artifacts go; `None` for `<data>/runs/<run id>`.
    pub out: Option<PathBuf>,
    pub data_dir: PathBuf,
    /// Base domain of app instances: `<recipe[:4]>-<6 hex>.<base domain>`.
    pub base_domain: String,
    /// Where the proxy listens, when the app's domain does not resolve to it.
    pub proxy: Option<SocketAddr>,
    /// `http` or `https` for the serving check.
    pub scheme: String,
    /// D7: deploy services with `endpoint_mode: dnsrr` (machines without IPVS).
    pub dnsrr: bool,
    /// Leave a failed run deployed for this long (T9).
    pub keep_on_failure: Option<Duration>,
    /// The pull request the run is for, if any.
    pub pr: Option<u64>,
    /// The CI's config tree (`recipes/<name>/ccci.toml` and `recipes/<name>/tests/`), if any (T4).
    pub config_dir: Option<PathBuf>,
}

/// The release the upgrade tier starts from: install deploys it, upgrade replaces it in place.
#[derive(Debug, Clone)]
pub struct BaseApp {
    /// The release tag.
    pub version: String,
    /// The base release rendered for the same instance (same domain and stack) as the target.
    pub app: App,
}

/// What tiers learn and hand on to later tiers of the same run.
#[derive(Debug, Default)]
pub struct RunState {
    /// Files kept as artifacts so far.
    pub artifacts: Vec<crate::result::Artifact>,
    /// Docker secret names created so far (each is created once per run).
    pub secrets_created: Vec<String>,
    /// The recipe's per-recipe config (T4), both files merged.
    pub config: recipe::config::RecipeConfig,
    /// Cold dependencies of the run (T6), deployed before install.
    pub dependencies: Vec<crate::dependencies::Dependency>,
    /// Cases of the running tier (recipe tests), moved into its result when it ends.
    pub cases: Vec<crate::result::Case>,
    /// T3 data markers: the hooks in use (per-recipe config may preset them; else the default
    /// file marker, resolved by the first tier that writes one) and the value written last.
    pub marker_hooks: Option<crate::markers::MarkerHooks>,
    pub marker: Option<String>,
    /// The backup tier's archive, restored by the restore tier.
    pub backup: Option<PathBuf>,
}

/// The run as its tiers see it.
pub struct RunContext<'a> {
    pub run_id: &'a str,
    pub swarm: &'a Swarm,
    /// The recipe at the ref under test.
    pub app: &'a App,
    /// The release to upgrade from, when the upgrade tier runs.
    pub base: Option<&'a BaseApp>,
    pub log: &'a RunLog,
    pub options: &'a RunOptions,
    /// The run's private work directory.
    pub workdir: &'a Path,
    /// How long to wait for convergence.
    pub timeout: Duration,
    /// Where artifacts go.
    pub artifacts_dir: PathBuf,
    pub state: std::sync::Mutex<RunState>,
}

impl RunContext<'_> {
    /// The app the install tier deploys: the base release when an upgrade follows, else the target.
    pub fn install_app(&self) -> &App {
        self.base.map_or(self.app, |b| &b.app)
    }

    /// Keep `path` (inside the artifacts directory) as an artifact of the run.
    pub fn keep_artifact(&self, path: &Path, kind: &str) {
        if let Some(a) = crate::artifacts::describe(&self.artifacts_dir, path, kind) {
            self.state.lock().unwrap_or_else(|e| e.into_inner()).artifacts.push(a);
        }
    }
}
