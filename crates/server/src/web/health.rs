//! `GET /healthz`: 200 `ok` when the store answers a query on its runs, 503 with the reason otherwise.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;

use super::{db, WebState};

/// `GET /healthz`.
pub async fn healthz(State(state): State<WebState>) -> impl IntoResponse {
    match db(&state, |s| s.ping()).await {
        Ok(()) => (StatusCode::OK, "ok\n".to_owned()),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("unhealthy: {}\n", e.message())),
    }
}
