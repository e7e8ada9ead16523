//! The recipes' warm canonical copies as the recipes page and `/api/recipes` show them (SPEC V6,
//! W1): read from their records under the data dir (`harness::warm::canonical`), which `ccci warm
//! seed` and the engine's quick runs keep under the copy's lock; the server only reads them.

use harness::warm::canonical::{self, Canonical, Status};
use serde::Serialize;

use super::{format, redact, WebState};

/// Every canonical copy recorded under the data dir, by recipe, redacted; none when the records
/// cannot be read (the page then says there is none, as for a host that keeps none).
pub async fn load(state: &WebState) -> Vec<Canonical> {
    let data_dir = state.data_dir.clone();
    let copies = tokio::task::spawn_blocking(move || canonical::list(&data_dir)).await.unwrap_or_default();
    copies.into_iter().map(|c| Canonical { why: redact::string(&state.redactor, &c.why), ..c }).collect()
}

/// What a status means to a reader.
fn status_text(status: Status) -> &'static str {
    match status {
        Status::Idle => "idle",
        Status::Busy => "in use",
        Status::Broken => "broken",
    }
}

/// An RFC 3339 time from a record as Unix milliseconds; `None` when it is not one.
fn millis(rfc3339: &str) -> Option<i64> {
    let t = time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

/// An RFC 3339 time as the pages write times; as it is when it does not parse.
fn shown(rfc3339: &str) -> String {
    millis(rfc3339).map(format::time).unwrap_or_else(|| rfc3339.to_string())
}

/// A canonical copy in a row of the recipes page (strings ready to show).
pub struct CanonicalCell {
    pub version: String,
    pub commit_short: String,
    pub commit: String,
    /// `idle`, `busy` or `broken` (the chip's class).
    pub status: &'static str,
    /// `idle`, `in use` or `broken`.
    pub status_text: &'static str,
    pub domain: String,
    /// `<time>, <size>`, or `none`.
    pub snapshot: String,
    /// `<time> (<ref>)` of the last quick run on the copy, when one has used it.
    pub last_quick: Option<String>,
    /// Its outcome.
    pub last_quick_outcome: &'static str,
    /// The last change of the record and why.
    pub changed: String,
}

impl CanonicalCell {
    pub fn of(c: &Canonical) -> CanonicalCell {
        CanonicalCell {
            version: c.version.clone(),
            commit_short: format::short_commit(&c.commit),
            commit: c.commit.clone(),
            status: c.status.name(),
            status_text: status_text(c.status),
            domain: c.domain.clone(),
            snapshot: match &c.snapshot {
                Some(s) => format!("{}, {}", shown(&s.taken_at), format::bytes(s.bytes)),
                None => "none".into(),
            },
            last_quick: c.last_quick.as_ref().map(|q| match &q.git_ref {
                Some(r) => format!("{} ({r})", shown(&q.at)),
                None => shown(&q.at),
            }),
            last_quick_outcome: c.last_quick.as_ref().map(|q| q.outcome.name()).unwrap_or(""),
            changed: format!("{}: {}", shown(&c.changed_at), c.why),
        }
    }
}

/// A canonical copy as `/api/recipes` shows it; times are Unix milliseconds.
#[derive(Debug, Serialize)]
pub struct ApiCanonical {
    pub domain: String,
    pub version: String,
    pub commit: String,
    /// `idle`, `busy` (a run is using it) or `broken`.
    pub status: &'static str,
    pub snapshot: Option<ApiSnapshot>,
    pub changed_at: Option<i64>,
    pub why: String,
    pub last_quick: Option<ApiLastQuick>,
}

#[derive(Debug, Serialize)]
pub struct ApiSnapshot {
    pub id: String,
    pub taken_at: Option<i64>,
    pub bytes: u64,
}

#[derive(Debug, Serialize)]
pub struct ApiLastQuick {
    /// The engine's run id (the `cc-ci.run` label), not the server's run number.
    pub run_id: String,
    #[serde(rename = "ref")]
    pub git_ref: Option<String>,
    pub outcome: &'static str,
    pub at: Option<i64>,
}

impl ApiCanonical {
    pub fn of(c: &Canonical) -> ApiCanonical {
        ApiCanonical {
            domain: c.domain.clone(),
            version: c.version.clone(),
            commit: c.commit.clone(),
            status: c.status.name(),
            snapshot: c.snapshot.as_ref().map(|s| ApiSnapshot {
                id: s.id.clone(),
                taken_at: millis(&s.taken_at),
                bytes: s.bytes,
            }),
            changed_at: millis(&c.changed_at),
            why: c.why.clone(),
            last_quick: c.last_quick.as_ref().map(|q| ApiLastQuick {
                run_id: q.run_id.clone(),
                git_ref: q.git_ref.clone(),
                outcome: q.outcome.name(),
                at: millis(&q.at),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_times_become_milliseconds_and_page_times() {
        assert_eq!(millis("2026-01-02T15:04:05.5Z"), Some(1_767_366_245_500));
        assert_eq!(shown("2026-01-02T15:04:05Z"), "2026-01-02 15:04:05 UTC");
        assert_eq!(shown("yesterday"), "yesterday");
        assert_eq!(millis(""), None);
    }
}
