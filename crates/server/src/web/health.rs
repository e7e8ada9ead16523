//! `GET /healthz`: 200 `ok` when the store answers a query on its runs and no part of the server
//! reports a problem ([`crate::health`]); 503 with the reasons otherwise.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;

use super::{db, WebState};

/// `GET /healthz`.
pub async fn healthz(State(state): State<WebState>) -> impl IntoResponse {
    let mut problems = state.health.problems();
    if let Err(e) = db(&state, |s| s.ping()).await {
        problems.insert(0, format!("store: {}", e.message()));
    }
    if problems.is_empty() {
        (StatusCode::OK, "ok\n".to_owned())
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, format!("unhealthy: {}\n", problems.join("; ")))
    }
}
