//! The webhook endpoint (SPEC V1): `POST /hooks/forge`. The HMAC is checked over the raw bytes
//! before anything is parsed (constant time; an empty or missing signature is refused with 401);
//! each delivery id is handled once; a created comment goes to the same intake as the poller's.
//! Edits and deletions never trigger: an edit marks the comment seen, so the poller will not act
//! on it either. Bodies over [`MAX_BODY`] are refused (413) unread; the poller still finds their
//! comment.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use forge::webhook::{parse_event, verify_signature, CommentAction, WebhookEvent};

use crate::intake::{Handled, IncomingComment, Intake};

/// The path the forge's webhook posts to.
pub const PATH: &str = "/hooks/forge";

/// Largest delivery read: a comment event carries the comment, the issue and the repository.
pub const MAX_BODY: usize = 1 << 20;

/// The endpoint's state: the intake, and the secret deliveries are signed with.
#[derive(Clone)]
pub struct WebhookState {
    pub intake: Arc<Intake>,
    /// `None`: webhooks are not configured; every delivery is refused.
    pub secret: Option<Arc<str>>,
}

/// The router with the webhook endpoint.
pub fn router(state: WebhookState) -> Router {
    Router::new().route(PATH, post(receive)).layer(DefaultBodyLimit::max(MAX_BODY)).with_state(state)
}

async fn receive(State(state): State<WebhookState>, headers: HeaderMap, body: Bytes) -> (StatusCode, String) {
    let events = &state.intake.events;
    let Some(secret) = state.secret.as_deref() else {
        return (StatusCode::NOT_FOUND, "webhooks are not configured on this server\n".into());
    };
    if let Err(e) = verify_signature(secret.as_bytes(), &body, &headers) {
        events.log(format!("webhook refused: {e}"));
        return (StatusCode::UNAUTHORIZED, format!("{e}\n"));
    }
    let event = match parse_event(&headers, &body) {
        Ok(event) => event,
        Err(e) => {
            events.log(format!("webhook: unreadable delivery: {e}"));
            return (StatusCode::BAD_REQUEST, format!("{e}\n"));
        }
    };
    let comment = match event {
        WebhookEvent::Ignored { event } => return (StatusCode::OK, format!("ignored event {event}\n")),
        WebhookEvent::Comment(comment) => comment,
    };
    if let Some(delivery) = comment.delivery.as_deref() {
        match state.intake.store.record_delivery(delivery) {
            Ok(true) => {}
            Ok(false) => return (StatusCode::OK, format!("delivery {delivery} already handled\n")),
            Err(e) => return internal(events, e),
        }
    }
    if comment.action == CommentAction::Edited {
        if let Err(e) = state.intake.edited(&comment.repo.to_string(), comment.comment_id) {
            return internal(events, e);
        }
    }
    if comment.action != CommentAction::Created {
        return (StatusCode::OK, "only new comments trigger; edits and deletions do not\n".into());
    }
    let incoming = IncomingComment {
        repo: comment.repo.to_string(),
        comment_id: comment.comment_id,
        number: comment.number,
        is_pull: comment.is_pull,
        author: comment.author,
        body: comment.body,
    };
    // In its own task: if the forge stops waiting (its delivery timeout) and drops the connection,
    // the handler is cancelled, but the comment, already marked seen, is still acted on.
    let intake = state.intake.clone();
    match tokio::spawn(async move { intake.handle(incoming).await }).await {
        Ok(Ok(Handled::Queued(id))) => (StatusCode::ACCEPTED, format!("queued run {id}\n")),
        Ok(Ok(handled)) => (StatusCode::OK, format!("{handled:?}\n")),
        Ok(Err(e)) => internal(events, e),
        Err(e) => internal(events, e),
    }
}

fn internal(events: &crate::events::Events, e: impl std::fmt::Display) -> (StatusCode, String) {
    events.log(format!("webhook: {e}"));
    (StatusCode::INTERNAL_SERVER_ERROR, "internal error; see the server log\n".into())
}
