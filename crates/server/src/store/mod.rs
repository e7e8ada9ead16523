//! The server's persistent state in one SQLite file (WAL), with exactly one writer: a [`Store`]
//! owns the connection behind a mutex, and every change goes through its methods, each one a short
//! transaction. Nothing else opens the database for writing.
//!
//! - [`runs`]: the run queue — enqueue (a trigger comment fires at most once, ever; a PR's newest
//!   `!testme` supersedes its queued run of the same mode in the same transaction), claim the
//!   next runnable run under `max_tests`, start, finish, recover after a crash, list, get.
//! - [`intake`]: what intake has already seen — comments, webhook deliveries — and the poller's
//!   per-repo `since` marks.
//! - [`sweeps`]: the scheduled sweeps with their reports; an open sweep closes the queue.
//!
//! Timestamps are Unix milliseconds from the store's clock (the system clock, or a test clock).

pub mod dashboard;
mod intake;
mod runs;
mod schema;
mod sweeps;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::Connection;

pub use runs::{Enqueued, Mode, NewRun, Run, RunFilter, RunId, RunState};
pub use sweeps::{SweepRecord, SweepState, INTERRUPTED_MESSAGE};

/// Where the store's time comes from: Unix milliseconds.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(|| SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0))
}

/// Store failures. SQLite errors carry the database path so the operator knows which file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store {path}: {source}")]
    Sqlite { path: PathBuf, source: rusqlite::Error },
    #[error("store {path}: {message}")]
    Schema { path: PathBuf, message: String },
    #[error("store: run {0} does not exist")]
    NoSuchRun(i64),
    #[error("store: run {id} is {state}, not {expected}")]
    WrongState { id: i64, state: RunState, expected: &'static str },
    #[error("store: sweep {0} is not open (another process ended it)")]
    SweepNotOpen(i64),
    #[error("store: run {id} has unreadable column {column}: {value:?}")]
    Corrupt { id: i64, column: &'static str, value: String },
}

/// The one writer of the server's database.
pub struct Store {
    path: PathBuf,
    conn: Mutex<Connection>,
    clock: Clock,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating if needed) the database at `path`, in WAL mode, migrated to this build's schema.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Store::open_with_clock(path, system_clock())
    }

    /// [`Store::open`] with the given clock (tests simulate time with it).
    pub fn open_with_clock(path: &Path, clock: Clock) -> Result<Store, StoreError> {
        let sqlite = |source| StoreError::Sqlite { path: path.into(), source };
        let mut conn = Connection::open(path).map_err(sqlite)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(sqlite)?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(sqlite)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(sqlite)?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(sqlite)?;
        schema::migrate(&mut conn)
            .map_err(sqlite)?
            .map_err(|message| StoreError::Schema { path: path.into(), message })?;
        Ok(Store { path: path.into(), conn: Mutex::new(conn), clock })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Now, by the store's clock (Unix milliseconds).
    pub fn now(&self) -> i64 {
        (self.clock)()
    }

    /// The connection; a poisoned lock is taken over (each method is one transaction, so a panic
    /// in another thread cannot have left a half-written change behind).
    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn sqlite(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite { path: self.path.clone(), source }
    }
}
