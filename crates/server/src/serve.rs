//! `ccci serve`: wires the server together and starts it. On start it recovers from a crash (runs
//! that were live become `error`, their Docker objects are reaped, their PRs told), then serves
//! the dashboard and the webhook endpoint, polls the forge, and runs the queue.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use harness::redact::Redactor;
use tokio::sync::Notify;

use crate::config::Config;
use crate::events::Events;
use crate::feedback::Feedback;
use crate::intake::Intake;
use crate::runner::{reap, RunnerConfig};
use crate::store::{Store, StoreError};
use crate::web::{self, WebState};
use crate::worker::Workers;
use crate::{paths, poller, webhook};

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
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Started {
    /// Serves until one of the server's tasks ends (none does on its own).
    pub async fn wait(mut self) {
        if let Some(task) = self.tasks.pop() {
            let _ = task.await;
        }
    }
}

/// Starts the server described by `config`; `exe` is the `ccci` executable runs are started with.
pub async fn start(config: &Config, exe: PathBuf) -> Result<Started, ServeError> {
    let data_dir = config.data_dir.clone();
    std::fs::create_dir_all(&data_dir).map_err(|source| ServeError::DataDir { path: data_dir.clone(), source })?;
    let redactor = Redactor::new();
    redactor.register(config.forge.token.expose());
    if let Some(secret) = &config.webhook_secret {
        redactor.register(secret.expose());
    }
    let events = Events::open(&data_dir, redactor.clone());
    let store = Arc::new(Store::open(&paths::store_file(&data_dir))?);
    let forge_config = forge::Config::new(&config.forge.base_url, config.forge.token.value.clone())?;
    let client = Arc::new(forge::Client::new(forge_config)?);
    let feedback = Feedback::new(client.clone(), store.clone(), &config.public_url, events.clone());
    let wake = Arc::new(Notify::new());

    recover(&store, &feedback, &events, &config.node_hosts).await?;

    let intake = Arc::new(Intake {
        store: store.clone(),
        client,
        feedback: feedback.clone(),
        events: events.clone(),
        bot_login: config.forge.bot_login.clone(),
        auth: config.auth.clone(),
        repos: config.repos.clone(),
        wake: wake.clone(),
    });
    let runner = Arc::new(RunnerConfig {
        exe,
        data_dir: data_dir.clone(),
        forge_url: config.forge.base_url.clone(),
        base_domain: config.base_domain.clone(),
        proxy: config.proxy,
        dnsrr: config.dnsrr,
        recipes_config_dir: config.recipes_config_dir.clone(),
        node_hosts: config.node_hosts.clone(),
        timeout: config.run_timeout,
    });
    let workers =
        Workers { store: store.clone(), runner, feedback, events: events.clone(), max_tests: config.max_tests, wake };
    let web_state = WebState { store, data_dir, public_url: config.public_url.clone(), redactor: redactor.clone() };
    let secret = config.webhook_secret.as_ref().map(|s| Arc::from(s.expose()));
    let app = web::router(web_state).merge(webhook::router(webhook::WebhookState { intake: intake.clone(), secret }));
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServeError::Listen { addr: config.listen, source })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Listen { addr: config.listen, source })?;
    events.log(format!("listening on http://{addr}; {} repo(s) enrolled", config.repos.len()));

    let tasks = vec![
        tokio::spawn(poller::run(intake, config.poll_interval)),
        tokio::spawn(workers.run()),
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        }),
    ];
    Ok(Started { addr, events, tasks })
}

/// Runs left live by an earlier life of the server: marked `error`, reaped, their PRs told.
async fn recover(store: &Store, feedback: &Feedback, events: &Events, node_hosts: &[String]) -> Result<(), ServeError> {
    let crashed = store.recover_after_crash()?;
    if crashed.is_empty() {
        return Ok(());
    }
    let reaped = reap(node_hosts).await;
    for run in crashed {
        let message = format!("{}; {reaped}", run.error.as_deref().unwrap_or("the server stopped during the run"));
        events.log(format!("run {} was live when the server stopped: marked error; {reaped}", run.id));
        feedback.errored(&run, &message).await;
    }
    Ok(())
}
