//! Where alerts go: a generic JSON webhook (the whole record as the body), or an ntfy-style
//! topic URL (a plain-text body with a `Title` header). Configured in the server's `[alerts]`.

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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sink {
    /// A name for delivery records and logs.
    pub name: String,
    pub kind: SinkKind,
    pub url: String,
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
        let answer = request.timeout(ATTEMPT_TIMEOUT).send().await.map_err(|e| root_cause(&e))?;
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
