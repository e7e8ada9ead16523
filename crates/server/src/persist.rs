//! Store writes that must not be lost: tried again with backoff while the store refuses them (a
//! full disk, an I/O error), the problem shown on `/healthz` meanwhile and cleared once a write
//! lands. Only SQLite's own failures are retried; a write the store refuses for a reason of its
//! own (a run in another state) is final at once.

use std::time::Duration;

use crate::events::Events;
use crate::health::{Health, STORE_WRITES};
use crate::store::StoreError;

/// First wait between tries; doubled each time up to [`MAX_WAIT`].
const FIRST_WAIT: Duration = Duration::from_millis(100);
const MAX_WAIT: Duration = Duration::from_secs(10);

/// How long to keep trying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tries {
    /// At most this many tries in all.
    AtMost(u32),
    /// Until the write lands (what it records exists nowhere else).
    UntilWritten,
}

/// Runs `write` until it succeeds or `tries` are used up; `what` names it in the log and on
/// `/healthz` ("recording run 7's result").
pub async fn write<T>(
    health: &Health,
    events: &Events,
    what: &str,
    tries: Tries,
    mut write: impl FnMut() -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let mut wait = FIRST_WAIT;
    let mut tried = 0u32;
    loop {
        tried += 1;
        match write() {
            Ok(value) => {
                if tried > 1 {
                    health.clear(STORE_WRITES);
                    events.log(format!("{what}: written after {tried} tries"));
                }
                return Ok(value);
            }
            Err(e @ StoreError::Sqlite { .. }) => {
                health.report(STORE_WRITES, format!("{what} failed: {e}"));
                if matches!(tries, Tries::AtMost(n) if tried >= n) {
                    events.log(format!("{what}: failed {tried} times, giving up: {e}"));
                    return Err(e);
                }
                if tried == 1 {
                    events.log(format!("{what}: {e}; trying again"));
                }
            }
            Err(e) => return Err(e),
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(MAX_WAIT);
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use harness::redact::Redactor;

    use super::*;

    fn full() -> StoreError {
        StoreError::Sqlite {
            path: PathBuf::from("ccci.sqlite"),
            source: rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(13),
                Some("database or disk is full".into()),
            ),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_write_is_tried_again_and_shown_until_it_lands() {
        let dir = tempfile::tempdir().unwrap();
        let (health, events) = (Health::default(), Events::open(dir.path(), Redactor::new()));
        let mut left = 3;
        let seen = health.clone();
        let written = write(&health, &events, "recording run 7's result", Tries::UntilWritten, || {
            if left == 0 {
                assert!(seen.problems()[0].contains("recording run 7's result failed"), "{:?}", seen.problems());
                return Ok(7);
            }
            left -= 1;
            Err(full())
        })
        .await;
        assert_eq!(written.unwrap(), 7);
        assert!(health.problems().is_empty(), "cleared once written");
        assert!(std::fs::read_to_string(events.path()).unwrap().contains("written after 4 tries"));
    }

    #[tokio::test(start_paused = true)]
    async fn bounded_tries_give_up_and_logic_errors_are_final() {
        let dir = tempfile::tempdir().unwrap();
        let (health, events) = (Health::default(), Events::open(dir.path(), Redactor::new()));
        let mut calls = 0;
        let r: Result<(), _> = write(&health, &events, "queueing", Tries::AtMost(3), || {
            calls += 1;
            Err(full())
        })
        .await;
        assert!(r.is_err());
        assert_eq!(calls, 3);
        assert_eq!(health.problems().len(), 1, "the problem stays shown");
        let mut calls = 0;
        let r: Result<(), _> = write(&health, &events, "finishing", Tries::UntilWritten, || {
            calls += 1;
            Err(StoreError::NoSuchRun(9))
        })
        .await;
        assert!(matches!(r, Err(StoreError::NoSuchRun(9))));
        assert_eq!(calls, 1);
    }
}
