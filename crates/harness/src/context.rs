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
}

/// The run as its tiers see it.
pub struct RunContext<'a> {
    pub run_id: &'a str,
    pub swarm: &'a Swarm,
    pub app: &'a App,
    pub log: &'a RunLog,
    pub options: &'a RunOptions,
    /// The run's private work directory.
    pub workdir: &'a Path,
    /// How long to wait for convergence.
    pub timeout: Duration,
}
