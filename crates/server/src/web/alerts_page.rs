//! Alerts on the dashboard (SPEC I3, V6): `/alerts` lists every alert newest first — kind, what
//! it is about, both versions, the message, the release notes, and its delivery to each sink —
//! and `/api/alerts` answers the same records as JSON. Read from the alert records under the
//! data dir (`alerts::AlertStore`), which whoever raised them wrote.

use askama::Template;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use super::error::{ApiError, WebError};
use super::WebState;

/// Every alert of the data dir, newest first (read off the async threads).
pub async fn list(state: &WebState) -> Result<Vec<alerts::Alert>, WebError> {
    let store = alerts::AlertStore::new(&state.data_dir);
    tokio::task::spawn_blocking(move || store.list()).await.map_err(WebError::internal)
}

/// One alert as the page shows it.
pub struct AlertRow {
    pub id: String,
    pub kind: &'static str,
    pub at: String,
    pub subject: String,
    pub versions: String,
    pub message: String,
    pub notes: Option<String>,
    /// `sink: state (attempts; last error)` per sink.
    pub deliveries: Vec<String>,
}

impl AlertRow {
    fn of(a: &alerts::Alert) -> AlertRow {
        let versions = match (&a.about.from_version, &a.about.to_version) {
            (Some(from), Some(to)) => format!("{from} → {to}"),
            (None, Some(to)) => to.clone(),
            (Some(from), None) => from.clone(),
            (None, None) => String::new(),
        };
        let deliveries = a
            .deliveries
            .iter()
            .map(|d| {
                let state = match d.state {
                    alerts::DeliveryState::Pending => "pending",
                    alerts::DeliveryState::Delivered => "delivered",
                    alerts::DeliveryState::Failed => "failed",
                };
                let error = d.last_error.as_deref().map(|e| format!("; last error: {e}")).unwrap_or_default();
                format!("{}: {state} ({} attempt{}{error})", d.sink, d.attempts, if d.attempts == 1 { "" } else { "s" })
            })
            .collect();
        AlertRow {
            id: a.id.clone(),
            kind: a.kind.name(),
            at: a.at.clone(),
            subject: a.about.app.clone().or_else(|| a.about.recipe.clone()).unwrap_or_else(|| "cc-ci".into()),
            versions,
            message: a.about.message.clone(),
            notes: a.about.release_notes.clone(),
            deliveries,
        }
    }
}

#[derive(Template)]
#[template(path = "alerts.html")]
struct AlertsPage {
    rows: Vec<AlertRow>,
}

/// `GET /alerts`.
pub async fn page(State(state): State<WebState>) -> Result<Response, WebError> {
    let rows = list(&state).await?.iter().map(AlertRow::of).collect();
    Ok(Html(AlertsPage { rows }.render().map_err(WebError::internal)?).into_response())
}

#[derive(Debug, Serialize)]
pub struct AlertsAnswer {
    pub alerts: Vec<alerts::Alert>,
}

/// `GET /api/alerts`.
pub async fn api(State(state): State<WebState>) -> Result<Json<AlertsAnswer>, ApiError> {
    Ok(Json(AlertsAnswer { alerts: list(&state).await? }))
}
