//! Redaction of everything the dashboard answers (SPEC V7). Two layers: the data is redacted where
//! it is read (run fields, result values, log and file contents), and [`responses`] redacts every
//! buffered response body once more. Streamed answers (the live log, served files) redact as they
//! stream and are marked [`Redacted`] so the middleware lets them through.
//!
//! A secret can hide behind an escape: JSON writes `"` as `\"`, HTML and XML write `&` as `&amp;`.
//! JSON documents are therefore redacted value by value, and text line by line, each line also
//! looked at with its JSON escapes and its character entities decoded: when a secret shows up only
//! there, the line is replaced by its decoded, redacted form (losing its escapes rather than
//! leaking the secret).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use harness::redact::Redactor;
use serde_json::Value;

use super::WebState;
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

/// Text redacted line by line, escapes considered (see the module doc); bytes that are not UTF-8
/// are redacted as bytes. `markup`: a line replaced by its decoded form is escaped again for HTML
/// (so decoding can never turn text into markup).
pub fn text(r: &Redactor, bytes: &[u8], markup: bool) -> Vec<u8> {
    let Ok(s) = std::str::from_utf8(bytes) else {
        return r.redact_bytes(bytes);
    };
    let mut out = String::with_capacity(s.len());
    for piece in s.split_inclusive('\n') {
        out.push_str(&line(r, piece, markup));
    }
    out.into_bytes()
}

/// A string redacted as [`text`] does.
pub fn string(r: &Redactor, s: &str) -> String {
    s.split_inclusive('\n').map(|l| line(r, l, false)).collect()
}

/// One line redacted, as it is and with its escapes decoded.
pub fn line(r: &Redactor, line: &str, markup: bool) -> String {
    let mut out = r.redact(line);
    let mut decoded_any = false;
    for decode in [decode_entities as fn(&str) -> Option<String>, decode_json_escapes] {
        if let Some(decoded) = decode(&out) {
            let redacted = r.redact(&decoded);
            if redacted != decoded {
                out = redacted;
                decoded_any = true;
            }
        }
    }
    if markup && decoded_any {
        out = escape_markup(&out);
    }
    out
}

fn escape_markup(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The text with `&lt;`, `&#60;`, `&#x3c;` and the like decoded; `None` when it has none.
fn decode_entities(s: &str) -> Option<String> {
    if !s.contains('&') {
        return None;
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    let mut changed = false;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let entity = rest[1..].find(';').filter(|&end| end <= 10).map(|end| &rest[1..end + 1]);
        let decoded = entity.and_then(|e| match e {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => {
                let n = e.strip_prefix('#')?;
                let code = match n.strip_prefix(['x', 'X']) {
                    Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                    None => n.parse().ok()?,
                };
                char::from_u32(code)
            }
        });
        match (entity, decoded) {
            (Some(e), Some(c)) => {
                out.push(c);
                rest = &rest[e.len() + 2..];
                changed = true;
            }
            _ => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    changed.then_some(out)
}

/// The text with JSON string escapes (`\"`, `\\`, `\/`, `\n`, `\u00e9`, …) decoded; `None` when it
/// has none.
fn decode_json_escapes(s: &str) -> Option<String> {
    if !s.contains('\\') {
        return None;
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    let mut changed = false;
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let decoded = match chars.peek() {
            Some('"') => Some('"'),
            Some('\\') => Some('\\'),
            Some('/') => Some('/'),
            Some('n') => Some('\n'),
            Some('t') => Some('\t'),
            Some('r') => Some('\r'),
            Some('b') => Some('\u{8}'),
            Some('f') => Some('\u{c}'),
            Some('u') => {
                let hex: String = chars.clone().skip(1).take(4).collect();
                let c = u32::from_str_radix(&hex, 16).ok().filter(|_| hex.len() == 4).and_then(char::from_u32);
                if c.is_some() {
                    for _ in 0..4 {
                        chars.next();
                    }
                }
                c
            }
            _ => None,
        };
        match decoded {
            Some(d) => {
                chars.next();
                out.push(d);
                changed = true;
            }
            None => out.push('\\'),
        }
    }
    changed.then_some(out)
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
    fn escaped_secrets_are_found_in_text() {
        let r = Redactor::new();
        r.register("we<b>\"hook&s3cr3t");
        let input = "a we&lt;b&gt;&quot;hook&amp;s3cr3t b\nc we&#60;b&#62;&#34;hook&#38;s3cr3t\n\
                     {\"k\":\"we<b>\\\"hook&s3cr3t\"}\nplain &amp; \\n untouched\n";
        let out = String::from_utf8(text(&r, input.as_bytes(), false)).unwrap();
        assert_eq!(out, "a [redacted] b\nc [redacted]\n{\"k\":\"[redacted]\"}\nplain &amp; \\n untouched\n");
        assert_eq!(decode_entities("x &#x41;&bogus; & y"), Some("x A&bogus; & y".into()));
        let html = text(&r, b"<td>&lt;script&gt; we&lt;b&gt;&quot;hook&amp;s3cr3t</td>", true);
        assert_eq!(String::from_utf8(html).unwrap(), "&lt;td&gt;&lt;script&gt; [redacted]&lt;/td&gt;");
        assert_eq!(decode_json_escapes(r"a\u00e9\q"), Some(r"aé\q".into()));
    }

    #[test]
    fn json_escapes_do_not_hide_a_secret() {
        let r = Redactor::new();
        r.register("pa\"ss\\word");
        let out = json_text(&r, r#"{"reason":"login with pa\"ss\\word failed"}"#);
        assert_eq!(out, r#"{"reason":"login with [redacted] failed"}"#);
    }
}
