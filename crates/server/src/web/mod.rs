//! The dashboard, JSON API, badges, metrics and health endpoint (SPEC V6), as one axum [`router`].
//!
//! Pages work without JavaScript; a live run's page follows its log through server-sent events
//! when the browser can. Every answer passes through the server's [`Redactor`] (see `redact`).
//!
//! - `pages`: the HTML pages (runs list, run, recipes, 404), templates in `templates/`.
//! - `alerts_page`: the alerts page and `/api/alerts`.
//! - `api`: the same as JSON under `/api/`.
//! - `logs`: a run's log for its page, and followed live as server-sent events (`streams` caps
//!   how many are open).
//! - `artifacts`: the files of a run directory, listed and served (never outside it).
//! - `badge`: the SVG badge of a recipe; `warm`: the recipes' canonical copies, read from their
//!   records.
//! - `sweeps`: the sweeps and their reports, and the disk figures (pages and JSON).
//! - `metrics`: `/metrics` in the Prometheus text format; `health`: `/healthz`.
//! - `model`, `query`, `format`, `error`: what those share.

mod alerts_page;
mod api;
mod artifacts;
mod badge;
mod error;
mod format;
mod health;
mod logs;
mod metrics;
mod model;
mod pages;
mod query;
mod redact;
pub mod streams;
mod sweeps;
mod warm;

use std::path::PathBuf;
use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use harness::redact::Redactor;

pub use artifacts::MAX_JSON;
pub use error::WebError;
pub use format::time as format_time;
pub use streams::StreamSlots;

use crate::config::HttpLimits;
use crate::disk::usage::UsageCache;
use crate::health::Health;
use crate::store::{Store, StoreError};

/// What the dashboard reads from and answers with.
#[derive(Clone)]
pub struct WebState {
    pub store: Arc<Store>,
    /// Holds the store and one directory per run (see [`crate::paths`]).
    pub data_dir: PathBuf,
    /// Where the dashboard is reachable from outside, e.g. `https://ci.example.org` (absolute links
    /// in the API and the badge snippets).
    pub public_url: String,
    /// The server's own secrets (forge token, webhook secret) and any other value to mask.
    pub redactor: Redactor,
    /// What `/healthz` reports.
    pub health: Health,
    /// The live-log streams open.
    pub streams: Arc<StreamSlots>,
    /// The latest disk use figures.
    pub disk: UsageCache,
}

impl WebState {
    /// The dashboard of `store` and the run directories under `data_dir`, with the default
    /// stream caps and nothing wrong yet.
    pub fn new(store: Arc<Store>, data_dir: PathBuf, public_url: &str, redactor: Redactor) -> WebState {
        let limits = HttpLimits::default();
        WebState {
            store,
            data_dir,
            public_url: public_url.to_string(),
            redactor,
            health: Health::default(),
            streams: StreamSlots::new(limits.max_log_streams, limits.max_log_streams_per_run),
            disk: UsageCache::default(),
        }
    }

    /// `public_url` without a trailing slash, followed by `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.public_url.trim_end_matches('/'))
    }
}

/// Every dashboard route, with redaction of every answer.
pub fn router(state: WebState) -> Router {
    Router::new()
        .route("/", get(pages::runs))
        .route("/runs/{id}", get(pages::run))
        .route("/runs/{id}/log/stream", get(logs::stream))
        .route("/runs/{id}/artifacts/{*path}", get(artifacts::serve))
        .route("/recipes", get(pages::recipes))
        .route("/sweeps", get(sweeps::list))
        .route("/sweeps/{id}", get(sweeps::one))
        .route("/alerts", get(alerts_page::page))
        .route("/api/alerts", get(alerts_page::api))
        .route("/badge/{file}", get(badge::badge))
        .route("/api/runs", get(api::runs))
        .route("/api/runs/{id}", get(api::run))
        .route("/api/recipes", get(api::recipes))
        .route("/api/sweeps", get(sweeps::api_list))
        .route("/api/sweeps/{id}", get(sweeps::api_one))
        .route("/api/disk", get(sweeps::api_disk))
        .route("/metrics", get(metrics::metrics))
        .route("/healthz", get(health::healthz))
        .fallback(pages::not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), redact::responses))
        .with_state(state)
}

/// Runs a store query off the async threads (the store is synchronous SQLite behind a mutex).
async fn db<T, F>(state: &WebState, query: F) -> Result<T, WebError>
where
    T: Send + 'static,
    F: FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
{
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || query(&store)).await.map_err(WebError::internal)?.map_err(WebError::internal)
}
