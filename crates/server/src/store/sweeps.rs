//! Sweeps (SPEC S1–S2) as the store keeps them: one row per sweep with its state and its report
//! (JSON, written by the sweep as it goes), and the schedule's anchor. A sweep is *open* while it
//! is `waiting` (for the runs in flight to end) or `running`: the queue gives no run to the
//! workers meanwhile (`next_runnable`). At most one sweep is open at a time.

use std::fmt;

use rusqlite::{params, OptionalExtension, Row, Transaction};

use super::{Store, StoreError};

/// Where a sweep is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SweepState {
    /// Open: waiting for the runs in flight to end; no new run starts.
    Waiting,
    /// Open: updating infrastructure, syncing mirrors, testing new releases.
    Running,
    /// Ended; its report says what happened to each recipe.
    Finished,
    /// Ended without finishing: its process died (found by the next one to look, its lock free).
    Interrupted,
}

impl SweepState {
    pub const ALL: [SweepState; 4] =
        [SweepState::Waiting, SweepState::Running, SweepState::Finished, SweepState::Interrupted];

    pub fn as_str(self) -> &'static str {
        match self {
            SweepState::Waiting => "waiting",
            SweepState::Running => "running",
            SweepState::Finished => "finished",
            SweepState::Interrupted => "interrupted",
        }
    }

    pub fn parse(s: &str) -> Option<SweepState> {
        SweepState::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Whether the sweep holds the queue closed.
    pub fn is_open(self) -> bool {
        matches!(self, SweepState::Waiting | SweepState::Running)
    }
}

impl fmt::Display for SweepState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A sweep as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepRecord {
    pub id: i64,
    /// `schedule` or `hand`.
    pub trigger: String,
    pub state: SweepState,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    /// The report so far (JSON), once the sweep wrote one.
    pub report: Option<String>,
}

/// The message of a sweep found open with nobody running it.
pub const INTERRUPTED_MESSAGE: &str = "the process running this sweep stopped before it ended";

const COLUMNS: &str = "id, trigger, state, started_at, finished_at, report";

impl Store {
    /// Opens a sweep in state `waiting`, closing the queue, unless one is open already (then
    /// `None`: its id is [`Store::open_sweep`]'s).
    pub fn begin_sweep(&self, trigger: &str) -> Result<Option<i64>, StoreError> {
        let now = self.now();
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| self.sqlite(e))?;
        if open_sweep(&tx).map_err(|e| self.sqlite(e))?.is_some() {
            return Ok(None);
        }
        tx.execute("INSERT INTO sweeps (trigger, state, started_at) VALUES (?1, 'waiting', ?2)", params![trigger, now])
            .map_err(|e| self.sqlite(e))?;
        let id = tx.last_insert_rowid();
        tx.commit().map_err(|e| self.sqlite(e))?;
        Ok(Some(id))
    }

    /// The open sweep's id, if one is open.
    pub fn open_sweep(&self) -> Result<Option<i64>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| self.sqlite(e))?;
        open_sweep(&tx).map_err(|e| self.sqlite(e))
    }

    /// The open sweep moves from waiting to running (or records a newer report while running).
    pub fn update_sweep(&self, id: i64, state: SweepState, report: Option<&str>) -> Result<(), StoreError> {
        let finished = (!state.is_open()).then(|| self.now());
        let n = self
            .conn()
            .execute(
                "UPDATE sweeps SET state = ?2, report = COALESCE(?3, report), finished_at = ?4 \
                 WHERE id = ?1 AND state IN ('waiting', 'running')",
                params![id, state.as_str(), report, finished],
            )
            .map_err(|e| self.sqlite(e))?;
        if n == 0 {
            return Err(StoreError::SweepNotOpen(id));
        }
        Ok(())
    }

    /// An open sweep nobody runs any more becomes `interrupted`, reopening the queue; its runs
    /// still marked running end `error`. Returns whether there was one.
    pub fn interrupt_sweep(&self, id: i64) -> Result<bool, StoreError> {
        let now = self.now();
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| self.sqlite(e))?;
        let n = tx
            .execute(
                "UPDATE sweeps SET state = 'interrupted', finished_at = ?2 WHERE id = ?1 \
                 AND state IN ('waiting', 'running')",
                params![id, now],
            )
            .map_err(|e| self.sqlite(e))?;
        tx.execute(
            "UPDATE runs SET state = 'error', outcome = 'error', finished_at = ?2, error = ?3 \
             WHERE sweep_id = ?1 AND state = 'running'",
            params![id, now, INTERRUPTED_MESSAGE],
        )
        .map_err(|e| self.sqlite(e))?;
        tx.commit().map_err(|e| self.sqlite(e))?;
        Ok(n > 0)
    }

    /// One sweep.
    pub fn get_sweep(&self, id: i64) -> Result<Option<SweepRecord>, StoreError> {
        self.conn()
            .query_row(&format!("SELECT {COLUMNS} FROM sweeps WHERE id = ?1"), [id], read_sweep)
            .optional()
            .map_err(|e| self.sqlite(e))?
            .transpose()
    }

    /// Sweeps, newest first, `limit` of them.
    pub fn list_sweeps(&self, limit: u32) -> Result<Vec<SweepRecord>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(&format!("SELECT {COLUMNS} FROM sweeps ORDER BY id DESC LIMIT ?1"))
            .map_err(|e| self.sqlite(e))?;
        let rows = stmt.query_map([limit as i64], read_sweep).map_err(|e| self.sqlite(e))?;
        rows.map(|r| r.map_err(|e| self.sqlite(e))?).collect()
    }

    /// When the latest sweep started (whatever became of it): what the schedule counts from.
    pub fn last_sweep_start(&self) -> Result<Option<i64>, StoreError> {
        self.conn()
            .query_row("SELECT MAX(started_at) FROM sweeps", [], |r| r.get::<_, Option<i64>>(0))
            .map_err(|e| self.sqlite(e))
    }

    /// When the schedule was first armed on this store (recorded as now on the first call): what
    /// the schedule counts from before any sweep ran.
    pub fn sweep_schedule_since(&self) -> Result<i64, StoreError> {
        let now = self.now();
        let conn = self.conn();
        conn.execute("INSERT OR IGNORE INTO sweep_schedule (id, since) VALUES (1, ?1)", [now])
            .map_err(|e| self.sqlite(e))?;
        conn.query_row("SELECT since FROM sweep_schedule WHERE id = 1", [], |r| r.get(0)).map_err(|e| self.sqlite(e))
    }
}

/// The open sweep's id, if any.
pub(super) fn open_sweep(tx: &Transaction) -> rusqlite::Result<Option<i64>> {
    tx.query_row("SELECT id FROM sweeps WHERE state IN ('waiting', 'running') ORDER BY id LIMIT 1", [], |r| r.get(0))
        .optional()
}

fn read_sweep(row: &Row) -> rusqlite::Result<Result<SweepRecord, StoreError>> {
    let id: i64 = row.get(0)?;
    let state: String = row.get(2)?;
    let Some(state) = SweepState::parse(&state) else {
        return Ok(Err(StoreError::Corrupt { id, column: "sweeps.state", value: state }));
    };
    Ok(Ok(SweepRecord {
        id,
        trigger: row.get(1)?,
        state,
        started_at: row.get(3)?,
        finished_at: row.get(4)?,
        report: row.get(5)?,
    }))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::sync::Arc;

    use super::*;
    use crate::store::{Mode, NewRun, RunState};

    fn store(dir: &tempfile::TempDir) -> (Store, Arc<AtomicI64>) {
        let clock = Arc::new(AtomicI64::new(1_000));
        let c = clock.clone();
        let store =
            Store::open_with_clock(&dir.path().join("s.sqlite"), Arc::new(move || c.load(Ordering::SeqCst))).unwrap();
        (store, clock)
    }

    fn queued(store: &Store) -> crate::store::RunId {
        let run = NewRun { repo: "o/r".into(), recipe: "r".into(), ..Default::default() };
        store.enqueue(&run).unwrap().id()
    }

    #[test]
    fn an_open_sweep_closes_the_queue_until_it_ends() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = store(&dir);
        let id = queued(&store);
        let sweep = store.begin_sweep("hand").unwrap().expect("a new sweep");
        assert_eq!(store.begin_sweep("schedule").unwrap(), None, "one sweep at a time");
        assert_eq!(store.claim_next(4).unwrap(), None, "no run starts while a sweep waits");
        store.update_sweep(sweep, SweepState::Running, Some("{}")).unwrap();
        assert_eq!(store.claim_next(4).unwrap(), None, "nor while it runs");
        let seed = NewRun { repo: "o/r".into(), recipe: "r".into(), mode: Mode::Seed, ..Default::default() };
        let own = store.start_sweep_run(&seed, sweep).unwrap();
        assert_eq!((own.state, own.mode), (RunState::Running, Mode::Seed));
        store.update_sweep(sweep, SweepState::Finished, Some("{\"done\":true}")).unwrap();
        assert_eq!(store.claim_next(4).unwrap().map(|r| r.id), Some(id));
        let record = store.get_sweep(sweep).unwrap().unwrap();
        assert_eq!((record.state, record.report.as_deref()), (SweepState::Finished, Some("{\"done\":true}")));
        assert!(record.finished_at.is_some());
        assert!(store.update_sweep(sweep, SweepState::Running, None).is_err(), "an ended sweep stays ended");
    }

    #[test]
    fn an_interrupted_sweep_reopens_the_queue_and_errors_its_runs() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = store(&dir);
        let id = queued(&store);
        let sweep = store.begin_sweep("schedule").unwrap().unwrap();
        let seed = NewRun { repo: "o/r".into(), recipe: "r".into(), mode: Mode::Seed, ..Default::default() };
        let own = store.start_sweep_run(&seed, sweep).unwrap();
        assert!(store.recover_after_crash_sparing(Some(sweep)).unwrap().is_empty(), "a live sweep's runs are spared");
        assert!(store.interrupt_sweep(sweep).unwrap());
        assert!(!store.interrupt_sweep(sweep).unwrap());
        let run = store.get_run(own.id).unwrap().unwrap();
        assert_eq!((run.state, run.error.as_deref()), (RunState::Error, Some(INTERRUPTED_MESSAGE)));
        assert_eq!(store.claim_next(1).unwrap().map(|r| r.id), Some(id));
    }

    #[test]
    fn the_schedule_counts_from_its_first_arming_then_from_the_last_sweep() {
        let dir = tempfile::tempdir().unwrap();
        let (store, clock) = store(&dir);
        assert_eq!(store.last_sweep_start().unwrap(), None);
        assert_eq!(store.sweep_schedule_since().unwrap(), 1_000);
        clock.store(5_000, Ordering::SeqCst);
        assert_eq!(store.sweep_schedule_since().unwrap(), 1_000, "kept across calls and restarts");
        store.begin_sweep("hand").unwrap();
        assert_eq!(store.last_sweep_start().unwrap(), Some(5_000));
    }
}
