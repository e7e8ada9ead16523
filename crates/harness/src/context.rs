//! What every tier of a run may use. The [`RunContext`] holds the run's immutable facts — options,
//! per-recipe config, the apps and dependencies prepared before the first tier, the marker in
//! use, the sandbox, the engine and the event emitter — as plain fields, and behind one lock only what a run
//! really accumulates as it goes ([`Accumulated`]: secrets created, the marker's value and file,
//! the backup archive).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use recipe::config::RecipeConfig;

use crate::app::{App, BaseApp, DependencyApp};
use crate::engine::Engine;
use crate::marker::Marker;
use crate::report::Events;
use crate::result::Tier;

/// What kind of run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RunMode {
    /// Everything deployed fresh for the run and torn down after it.
    #[default]
    Cold,
    /// On the recipe's warm canonical copy (SPEC W3); cold when it has none.
    Quick,
    /// A cold run of a release tag that, green, re-seeds the canonical copy (SPEC W4).
    Seed,
}

/// How a run is asked for (the `ccci test` options, or the server's).
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// A recipe directory or git URL.
    pub source: String,
    /// The ref under test; `None` tests the directory's working tree as it is.
    pub git_ref: Option<String>,
    /// The tiers asked for, in order.
    pub tiers: Vec<Tier>,
    pub mode: RunMode,
    /// Where result.json, the log and artifacts go; `None` for `<data>/runs/<run id>`.
    pub out: Option<PathBuf>,
    pub data_dir: PathBuf,
    /// Base domain of app instances: `<recipe[:4]>-<6 hex>.<base domain>`.
    pub base_domain: String,
    /// Where the proxy listens, when the app's domain does not resolve to it.
    pub proxy: Option<SocketAddr>,
    /// `http` or `https` for the serving check.
    pub scheme: String,
    /// A CA bundle (PEM) the serving check and recipe tests trust besides the system's, e.g. the
    /// local CA of a test machine's wildcard certificate.
    pub ca_bundle: Option<PathBuf>,
    /// How images are pulled before each deploy (D8).
    pub pull: swarm::PullOptions,
    /// D7: deploy services with `endpoint_mode: dnsrr` (machines without IPVS).
    pub dnsrr: bool,
    /// Leave a failed run deployed for this long (T9).
    pub keep_on_failure: Option<Duration>,
    /// The pull request the run is for, if any.
    pub pr: Option<u64>,
    /// The CI's config tree (`recipes/<name>/ccci.toml` and `recipes/<name>/tests/`), if any (T4).
    pub config_dir: Option<PathBuf>,
    pub limits: Limits,
    /// Docker hosts of the swarm's nodes besides the one at `DOCKER_HOST` (a multi-node swarm:
    /// containers and volumes are reached on their own node's engine).
    pub node_hosts: Vec<String>,
    /// How pull-request code (recipe tests, host hooks) is held (SPEC V9).
    pub sandbox: crate::sandbox::SandboxPolicy,
}

/// How long the parts of a run may take that no recipe label sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A recipe test suite, a host hook or the screenshot script.
    pub command: Duration,
    /// Teardown with its residual check.
    pub teardown: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { command: Duration::from_secs(600), teardown: Duration::from_secs(120) }
    }
}

/// The run's directories.
#[derive(Debug, Clone)]
pub struct RunDirs {
    /// The private work directory (checkouts, rendered documents, the secrets file).
    pub work: PathBuf,
    /// Where kept files go (inside the output directory).
    pub artifacts: PathBuf,
}

impl RunDirs {
    /// The recipe's `tests/` as snapshotted at checkout.
    pub fn tests_snapshot(&self) -> PathBuf {
        self.work.join("tests")
    }

    /// Where recipe tests put files to keep: `<out>/artifacts/custom`.
    pub fn test_artifacts(&self) -> PathBuf {
        self.artifacts.join("custom")
    }
}

/// What a run learns as it goes and hands on to later tiers.
#[derive(Debug, Default)]
pub struct Accumulated {
    /// Docker secret names created so far (each is created once per run).
    pub secrets_created: Vec<String>,
    /// The data marker's value written last (T3).
    pub marker_value: Option<String>,
    /// The file a default file marker lives in, once chosen inside the running app.
    pub marker_file: Option<String>,
    /// The backup tier's archive, restored by the restore tier.
    pub backup: Option<PathBuf>,
}

/// The run as its tiers see it.
pub struct RunContext<'a> {
    pub run_id: &'a str,
    pub engine: &'a dyn Engine,
    pub options: &'a RunOptions,
    pub events: &'a Events,
    /// The recipe's name.
    pub recipe: &'a str,
    /// Per-recipe config (T4), both files merged.
    pub config: &'a RecipeConfig,
    /// The recipe at the ref under test.
    pub app: &'a App,
    /// The release to upgrade from, when the upgrade tier runs.
    pub base: Option<&'a BaseApp>,
    /// Cold dependencies (T6), deployed before install.
    pub dependencies: &'a [DependencyApp],
    /// The data marker in use (T3).
    pub marker: &'a Marker,
    /// How long to wait for the app's convergence.
    pub timeout: Duration,
    pub dirs: &'a RunDirs,
    /// Where host commands run (SPEC V9).
    pub sandbox: &'a crate::sandbox::Sandbox,
    /// Build with `Default::default()`; read and change through [`RunContext::state`].
    pub(crate) state: Mutex<Accumulated>,
}

impl RunContext<'_> {
    /// The app the install tier deploys: the base release when an upgrade follows, else the target.
    pub fn install_app(&self) -> &App {
        self.base.map_or(self.app, |b| &b.app)
    }

    /// What the run has accumulated (never held across an `.await`).
    pub fn state(&self) -> MutexGuard<'_, Accumulated> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keep `path` (inside the artifacts directory) as an artifact of the run.
    pub fn keep_artifact(&self, path: &Path, kind: &str) {
        if let Some(artifact) = crate::artifacts::describe(&self.dirs.artifacts, path, kind) {
            self.events.emit(crate::events::Event::ArtifactKept { artifact });
        }
    }
}
