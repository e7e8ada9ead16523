//! Redaction of everything the dashboard answers (SPEC V7). Two layers: the data is redacted where
//! it is read (run fields, result values, log and file contents), and [`responses`] redacts every
//! buffered response body once more. Streamed answers (the live log, served files) redact as they
//! stream and are marked [`Redacted`] so the middleware lets them through.
//!
//! JSON documents are redacted value by value (so escapes inside strings cannot hide a secret),
//! text line by line with its escapes considered ([`crate::redact`]).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use harness::redact::Redactor;
use serde_json::Value;

use super::WebState;
pub use crate::redact::{string, text};
use crate::store::Run;

/// Largest response body the middleware buffers to redact (pages and API answers are far smaller).
const MAX_BUFFERED: usize = 64 << 20;

/// Longest piece a [`LineBuffer`] holds while waiting for a newline (a longer line is cut, and a
/// secret across the cut would not be recognised).
const MAX_PENDING: usize = 1 << 20;

/// Marks a response whose body was redacted as it was produced (or is deliberately raw, like an
/// image or archive), so [`responses`] does not buffer it.
#[derive(Debug, Clone, Copy)]
pub struct Redacted;

enum Type {
    Json,
    Html,
    Text,
}

/// Middleware: redacts the body of every response not marked [`Redacted`].
pub async fn responses(State(state): State<WebState>, req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    if res.extensions().get::<Redacted>().is_some() {
        return res;
    }
    let ctype = match res.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) {
        Some(t) if t.starts_with("application/json") => Type::Json,
        Some(t) if t.starts_with("text/html") || t.starts_with("image/svg+xml") => Type::Html,
        _ => Type::Text,
    };
    let (mut parts, body) = res.into_parts();
    match axum::body::to_bytes(body, MAX_BUFFERED).await {
        Ok(bytes) => {
            parts.headers.remove(header::CONTENT_LENGTH);
            let body = match (ctype, std::str::from_utf8(&bytes)) {
                (Type::Json, Ok(text)) => json_text(&state.redactor, text).into_bytes(),
                (Type::Html, _) => text(&state.redactor, &bytes, true),
                _ => text(&state.redactor, &bytes, false),
            };
            Response::from_parts(parts, Body::from(body))
        }
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "response too large to redact").into_response(),
    }
}

/// The run with every text field redacted (the stored `result.json` included, value by value).
pub fn run(r: &Redactor, mut run: Run) -> Run {
    let field = |s: &mut String| *s = string(r, s);
    field(&mut run.repo);
    field(&mut run.recipe);
    run.commit.as_mut().map(field);
    run.git_ref.as_mut().map(field);
    run.error.as_mut().map(field);
    run.result_json = run.result_json.map(|j| json_text(r, &j));
    run
}

/// Every string of a JSON value (keys included) redacted.
pub fn value(r: &Redactor, v: &mut Value) {
    match v {
        Value::String(s) => *s = string(r, s),
        Value::Array(items) => items.iter_mut().for_each(|i| value(r, i)),
        Value::Object(map) => {
            let entries = std::mem::take(map);
            for (k, mut v) in entries {
                value(r, &mut v);
                map.insert(string(r, &k), v);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// A JSON document redacted value by value (so escapes inside strings cannot hide a secret);
/// text that is not JSON is redacted as text.
pub fn json_text(r: &Redactor, text: &str) -> String {
    match serde_json::from_str::<Value>(text) {
        Ok(mut v) => {
            value(r, &mut v);
            v.to_string()
        }
        Err(_) => string(r, text),
    }
}

/// Cuts a byte stream into pieces that end at a newline (or are too long to wait for one), so
/// each piece can be redacted on its own without splitting a one-line secret.
#[derive(Debug, Default)]
pub struct LineBuffer {
    pending: Vec<u8>,
}

impl LineBuffer {
    /// Adds bytes; returns the complete lines now available (newlines included), if any.
    pub fn push(&mut self, bytes: &[u8]) -> Option<Vec<u8>> {
        self.pending.extend_from_slice(bytes);
        match self.pending.iter().rposition(|&b| b == b'\n') {
            Some(end) => {
                let rest = self.pending.split_off(end + 1);
                Some(std::mem::replace(&mut self.pending, rest))
            }
            None if self.pending.len() > MAX_PENDING => Some(std::mem::take(&mut self.pending)),
            None => None,
        }
    }

    /// How many bytes wait for their newline.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// What is left (a last line without a newline), if anything.
    pub fn finish(&mut self) -> Option<Vec<u8>> {
        (!self.pending.is_empty()).then(|| std::mem::take(&mut self.pending))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_buffer_yields_whole_lines() {
        let mut b = LineBuffer::default();
        assert_eq!(b.push(b"one\ntw"), Some(b"one\n".to_vec()));
        assert_eq!(b.push(b"o"), None);
        assert_eq!(b.push(b"\nthree\nfo"), Some(b"two\nthree\n".to_vec()));
        assert_eq!(b.finish(), Some(b"fo".to_vec()));
        assert_eq!(b.finish(), None);
    }

    #[test]
    fn json_escapes_do_not_hide_a_secret() {
        let r = Redactor::new();
        r.register("pa\"ss\\word");
        let out = json_text(&r, r#"{"reason":"login with pa\"ss\\word failed"}"#);
        assert_eq!(out, r#"{"reason":"login with [redacted] failed"}"#);
    }
}
