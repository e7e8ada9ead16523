//! `ccci serve`: wires the server together and starts it. On start it recovers from a crash (runs
//! that were live become `error` before any new run starts; their Docker objects are reaped and
//! their PRs told in the background), then serves the dashboard and the webhook endpoint, polls
//! the forge, runs the queue, measures the disk, sweeps on schedule and delivers alerts to their
//! sinks. None of those
//! tasks ends on its own: when one does (a panic, say), [`Started::wait`] returns which and why, and
//! `ccci serve` exits non-zero so its supervisor starts a whole server again rather than keep one
//! running half-alive.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use harness::redact::Redactor;
use tokio::sync::Notify;

use crate::alerting::Alerting;
use crate::config::Config;
use crate::disk::floor::Floor;
use crate::disk::usage::{self, UsageCache};
use crate::events::Events;
use crate::feedback::Feedback;
use crate::health::Health;
use crate::infra_setup::InfraApps;
use crate::intake::Intake;
use crate::runner::{reap, RunnerConfig};
use crate::store::{Run, Store, StoreError};
use crate::supervise::{self, Task, TaskEnded};
use crate::sweep::Sweeper;
use crate::web::{self, StreamSlots, WebState};
use crate::worker::Workers;
use crate::{http, paths, poller, webhook};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("data dir {path}: {source}")]
    DataDir { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("forge client: {0}")]
    Forge(#[from] forge::Error),
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
}

/// A started server.
pub struct Started {
    /// Where the HTTP side listens (the configured address, with the real port if it was 0).
    pub addr: SocketAddr,
    pub events: Events,
    /// What `/healthz` reports.
    pub health: Health,
    tasks: Vec<Task>,
}

impl Started {
    /// Serves until one of the server's tasks ends (none does on its own); says which and why.
    pub async fn wait(self) -> TaskEnded {
        let ended = supervise::first_to_end(self.tasks).await;
        self.events.log(format!("{ended}; stopping the server"));
        ended
    }
}

/// The server's parts, wired but not started: what [`start`] runs, and what tests and benchmarks
/// drive directly (the intake without a poller, the router without a listener).
pub struct Parts {
    pub events: Events,
    pub health: Health,
    pub store: Arc<Store>,
    pub feedback: Feedback,
    pub intake: Arc<Intake>,
    pub workers: Workers,
    /// The sweep, run by [`start`] on its schedule.
    pub sweeper: Sweeper,
    /// The disk floor, and the latest disk use figures the dashboard shows.
    pub floor: Arc<Floor>,
    pub disk_usage: UsageCache,
    /// The dashboard and the webhook endpoint.
    pub app: axum::Router,
    /// Raises alerts and delivers them to the configured sinks (run by [`start`]).
    pub alerts: alerts::Deliverer,
}

/// Wires the server described by `config` (opens the store and the forge client, nothing runs
/// yet); `exe` is the `ccci` executable runs are started with unless the configuration names
/// another `engine`.
pub fn assemble(config: &Config, exe: PathBuf) -> Result<Parts, ServeError> {
    let data_dir = config.data_dir.clone();
    std::fs::create_dir_all(&data_dir).map_err(|source| ServeError::DataDir { path: data_dir.clone(), source })?;
    let redactor = Redactor::new();
    redactor.register(config.forge.token.expose());
    if let Some(secret) = &config.webhook_secret {
        redactor.register(secret.expose());
    }
    for secret in config.alerts.secrets() {
        redactor.register(secret);
    }
    let events = Events::open(&data_dir, redactor.clone());
    let store = Arc::new(Store::open(&paths::store_file(&data_dir))?);
    let forge_config = forge::Config::new(&config.forge.base_url, config.forge.token.value.clone())?;
    let client = Arc::new(forge::Client::new(forge_config)?);
    let feedback = Feedback::new(client.clone(), store.clone(), &config.public_url, events.clone(), redactor.clone());
    let wake = Arc::new(Notify::new());
    let health = Health::default();
    let alerting = Alerting::new(&data_dir, config.alerts.sinks(), events.clone());
    let alerts = alerting.deliverer().clone();
    let intake = Arc::new(Intake {
        store: store.clone(),
        client: client.clone(),
        feedback: feedback.clone(),
        events: events.clone(),
        health: health.clone(),
        bot_login: config.forge.bot_login.clone(),
        auth: config.auth.clone(),
        repos: config.repos.clone(),
        wake: wake.clone(),
        in_flight: Default::default(),
    });
    let runner = Arc::new(RunnerConfig::new(config, exe));
    let floor = Arc::new(Floor::new(&config.disk, &data_dir, alerting.clone(), events.clone(), health.clone()));
    let workers = Workers {
        store: store.clone(),
        runner: runner.clone(),
        feedback: feedback.clone(),
        events: events.clone(),
        health: health.clone(),
        max_tests: config.max_tests,
        wake,
        floor: floor.clone(),
    };
    // The sweep's infrastructure step: the proxy and `[[infra.apps]]`, updated health-gated.
    let infra_apps = InfraApps { machine: config.machine(), alerts: alerts.clone(), events: events.clone() };
    let sweeper =
        Sweeper::new(config, runner, store.clone(), client, events.clone(), health.clone(), alerting, floor.clone())
            .with_infra(Arc::new(infra_apps));
    let disk_usage = UsageCache::default();
    let limits = config.http;
    let web_state = WebState {
        store: store.clone(),
        data_dir,
        public_url: config.public_url.clone(),
        redactor,
        health: health.clone(),
        streams: StreamSlots::new(limits.max_log_streams, limits.max_log_streams_per_run),
        disk: disk_usage.clone(),
    };
    let secret = config.webhook_secret.as_ref().map(|s| Arc::from(s.expose()));
    let app = web::router(web_state).merge(webhook::router(webhook::WebhookState { intake: intake.clone(), secret }));
    Ok(Parts { events, health, store, feedback, intake, workers, sweeper, floor, disk_usage, app, alerts })
}

/// Starts the server described by `config` (see [`assemble`]): marks the runs an earlier life left
/// live `error`, listens, runs the poller, the workers and the HTTP side, and reports the crashed
/// runs in the background.
pub async fn start(config: &Config, exe: PathBuf) -> Result<Started, ServeError> {
    let Parts { events, health, store, feedback, intake, workers, sweeper, floor, disk_usage, app, alerts } =
        assemble(config, exe)?;
    // Before any worker can claim a run; telling their PRs and reaping waits for no one. The runs
    // of a sweep another process is still running (`ccci sweep`) are live, not crashed.
    let live_sweep = crate::sweep::gate::live_sweep(&store, &config.data_dir, &events)?;
    let crashed = store.recover_after_crash_sparing(live_sweep)?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServeError::Listen { addr: config.listen, source })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Listen { addr: config.listen, source })?;
    events.log(format!("listening on http://{addr}; {} repo(s) enrolled", config.repos.len()));

    let mut tasks = vec![
        Task::spawn("the poller", poller::run(intake, config.poll_interval)),
        Task::spawn("the workers", workers.run()),
        Task::spawn("the HTTP listener", http::serve(listener, app, config.http, events.clone())),
        Task::spawn("the disk figures", usage::keep_measuring(floor, config.data_dir.clone(), disk_usage)),
        Task::spawn("the alert deliverer", async move {
            alerts.run().await;
            "it returned".to_string()
        }),
    ];
    if config.sweep.enabled {
        let (every, at) = config.sweep.schedule.describe();
        let at = at.map(|at| format!(" at {at} UTC")).unwrap_or_default();
        events.log(format!("sweep schedule: every {every}{at}; a missed sweep runs once at start"));
        tasks.push(Task::spawn("the sweep schedule", sweeper.run_on_schedule(config.sweep.schedule)));
    }
    if !crashed.is_empty() {
        let (nodes, data) = (config.node_hosts.clone(), config.data_dir.clone());
        tokio::spawn(report_crashed(crashed, feedback, events.clone(), nodes, data));
    }
    Ok(Started { addr, events, health, tasks })
}

/// Runs left live by an earlier life of the server (already marked `error`): their Docker objects
/// reaped, their PRs told. In the background, so a slow forge or engine does not keep the server
/// from listening; the janitor spares live runs, so new runs may start meanwhile.
async fn report_crashed(
    crashed: Vec<Run>,
    feedback: Feedback,
    events: Events,
    node_hosts: Vec<String>,
    data_dir: PathBuf,
) {
    let reaped = reap(&node_hosts, &data_dir).await;
    for run in crashed {
        let message = format!("{}; {reaped}", run.error.as_deref().unwrap_or("the server stopped during the run"));
        events.log(format!("run {} was live when the server stopped: marked error; {reaped}", run.id));
        feedback.errored(&run, &message).await;
    }
}
