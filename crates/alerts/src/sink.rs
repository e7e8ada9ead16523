//! Where alerts go: a generic JSON webhook (the whole record as the body), or an ntfy-style
//! topic URL (a plain-text body with a `Title` header), optionally with a bearer token (ntfy's
//! access tokens). Configured in the server's `[alerts]`; a sink's URL and token may be secrets
//! (read from a file or the environment there), so neither is ever serialised, shown by `Debug`,
//! or put into a delivery error.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::record::Alert;

/// The kind of sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SinkKind {
    /// `POST` the alert as JSON.
    Webhook,
    /// `POST` the alert's line as text, with `Title` and `Tags` headers (ntfy's protocol).
    Ntfy,
}

/// A configured sink.
#[derive(Clone, PartialEq, Eq)]
pub struct Sink {
    /// A name for delivery records and logs.
    pub name: String,
    pub kind: SinkKind,
    pub url: String,
    /// Sent as `Authorization: Bearer <token>` when set.
    pub token: Option<String>,
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let token = self.token.as_ref().map(|_| "***");
        f.debug_struct("Sink").field("name", &self.name).field("kind", &self.kind).field("token", &token).finish()
    }
}

/// How long one delivery attempt may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

impl Sink {
    /// Push `alert`; why not, otherwise (the receiver's status or the transport error).
    pub async fn push(&self, client: &reqwest::Client, alert: &Alert) -> Result<(), String> {
        let request = match self.kind {
            SinkKind::Webhook => client
                .post(&self.url)
                .header("content-type", "application/json")
                .body(serde_json::to_vec(alert).map_err(|e| e.to_string())?),
            SinkKind::Ntfy => client
                .post(&self.url)
                .header("content-type", "text/plain; charset=utf-8")
                .header("Title", format!("cc-ci: {}", alert.kind.name()))
                .header("Tags", "warning")
                .body(alert.line()),
        };
        let request = match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        // Without the URL: it may hold a secret (a webhook's token in its path).
        let answer = request.timeout(ATTEMPT_TIMEOUT).send().await.map_err(|e| root_cause(&e.without_url()))?;
        if answer.status().is_success() {
            Ok(())
        } else {
            Err(format!("{} answered {}", self.name, answer.status()))
        }
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}
