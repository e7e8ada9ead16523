//! Parsing a verified delivery into the one event the CI acts on: a comment on an issue or pull
//! request (`X-Gitea-Event: issue_comment`; on a pull request also `X-Gitea-Event-Type:
//! pull_request_comment` and `is_pull: true`). `X-Gitea-Event: pull_request_comment` is a review
//! comment with another payload, and is ignored like every other event.

use http::HeaderMap;
use serde::Deserialize;

use super::{DELIVERY_HEADER, EVENT_HEADER, EVENT_TYPE_HEADER, FORGEJO_DELIVERY_HEADER, FORGEJO_EVENT_HEADER};
use crate::RepoRef;

/// Why a delivery could not be parsed.
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    #[error("the delivery has no {EVENT_HEADER} header")]
    NoEvent,
    #[error("the issue_comment payload does not parse: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the payload's repository.full_name {0:?} is not owner/name")]
    Repository(String),
}

/// What a comment event says happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommentAction {
    Created,
    Edited,
    Deleted,
    Other(String),
}

/// A comment on an issue or pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentEvent {
    /// The delivery id (dedupe on it); `None` if the forge sent none.
    pub delivery: Option<String>,
    pub action: CommentAction,
    pub comment_id: u64,
    pub body: String,
    /// Login of the comment's author.
    pub author: String,
    /// Login of whoever caused the event (the editor, for an edit).
    pub sender: String,
    pub repo: RepoRef,
    /// Issue or pull request number.
    pub number: u64,
    /// Whether the comment is on a pull request.
    pub is_pull: bool,
}

/// A delivery, reduced to what the CI cares about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookEvent {
    Comment(CommentEvent),
    /// Any other event (pushes, review comments, pings...), by its event name.
    Ignored {
        event: String,
    },
}

#[derive(Deserialize)]
struct Payload {
    action: String,
    comment: PayloadComment,
    issue: PayloadIssue,
    repository: PayloadRepo,
    #[serde(default)]
    sender: Option<PayloadUser>,
    #[serde(default)]
    is_pull: bool,
}

#[derive(Deserialize)]
struct PayloadComment {
    id: u64,
    #[serde(default)]
    body: String,
    #[serde(default)]
    user: Option<PayloadUser>,
}

#[derive(Deserialize)]
struct PayloadIssue {
    number: u64,
    #[serde(default)]
    pull_request: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct PayloadRepo {
    full_name: String,
}

#[derive(Deserialize)]
struct PayloadUser {
    login: String,
}

fn header<'a>(headers: &'a HeaderMap, names: &[&str]) -> Option<&'a str> {
    names.iter().find_map(|name| headers.get(*name)?.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

/// Parses a delivery whose signature has already been verified.
pub fn parse_event(headers: &HeaderMap, body: &[u8]) -> Result<WebhookEvent, PayloadError> {
    let event = header(headers, &[EVENT_HEADER, FORGEJO_EVENT_HEADER]).ok_or(PayloadError::NoEvent)?;
    if event != "issue_comment" {
        return Ok(WebhookEvent::Ignored { event: event.to_string() });
    }
    let event_type = header(headers, &[EVENT_TYPE_HEADER, "X-Forgejo-Event-Type"]);
    let payload: Payload = serde_json::from_slice(body)?;
    let repo =
        payload.repository.full_name.parse().map_err(|_| PayloadError::Repository(payload.repository.full_name))?;
    let action = match payload.action.as_str() {
        "created" => CommentAction::Created,
        "edited" => CommentAction::Edited,
        "deleted" => CommentAction::Deleted,
        other => CommentAction::Other(other.to_string()),
    };
    let author = payload.comment.user.map(|u| u.login).unwrap_or_default();
    Ok(WebhookEvent::Comment(CommentEvent {
        delivery: header(headers, &[DELIVERY_HEADER, FORGEJO_DELIVERY_HEADER]).map(str::to_string),
        action,
        comment_id: payload.comment.id,
        body: payload.comment.body,
        sender: payload.sender.map(|u| u.login).unwrap_or_else(|| author.clone()),
        author,
        repo,
        number: payload.issue.number,
        is_pull: payload.is_pull
            || payload.issue.pull_request.is_some_and(|p| !p.is_null())
            || event_type == Some("pull_request_comment"),
    }))
}
