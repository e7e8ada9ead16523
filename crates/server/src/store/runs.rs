//! The run queue (SPEC V4). A run is `queued` when enqueued, `running` once a worker claims it,
//! and ends `finished` (with an outcome and level), `superseded` (a newer `!testme` of the same mode
//! on the same PR replaced it while it was still queued) or `error` (the CI could not finish it, e.g. the server
//! restarted while it was live). A trigger comment enqueues at most one run, ever.

use std::fmt;

use harness::result::{Outcome, Tier};
use rusqlite::{params, params_from_iter, OptionalExtension, Row, ToSql, Transaction};

use super::{Store, StoreError};

/// A run's number in the store (also the number in dashboard links).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RunId(pub i64);

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where a run is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunState {
    Queued,
    Running,
    Finished,
    Superseded,
    Error,
}

impl RunState {
    pub const ALL: [RunState; 5] =
        [RunState::Queued, RunState::Running, RunState::Finished, RunState::Superseded, RunState::Error];

    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Queued => "queued",
            RunState::Running => "running",
            RunState::Finished => "finished",
            RunState::Superseded => "superseded",
            RunState::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Option<RunState> {
        RunState::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

impl fmt::Display for RunState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Cold (fresh deploy), quick (on the warm canonical copy), or seed (a cold run of a release tag
/// that becomes the canonical copy when green; the sweep's runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Mode {
    #[default]
    Cold,
    Quick,
    Seed,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Cold => "cold",
            Mode::Quick => "quick",
            Mode::Seed => "seed",
        }
    }

    pub fn parse(s: &str) -> Option<Mode> {
        [Mode::Cold, Mode::Quick, Mode::Seed].into_iter().find(|m| m.as_str() == s)
    }
}

/// What intake asks to run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewRun {
    /// `owner/name` on the forge.
    pub repo: String,
    pub recipe: String,
    /// The pull request, when triggered from one.
    pub pr: Option<u64>,
    /// The commit under test, when known at enqueue time.
    pub commit: Option<String>,
    /// The ref under test (branch, tag).
    pub git_ref: Option<String>,
    pub mode: Mode,
    /// Only these tiers; `None` means every tier the recipe supports.
    pub tiers: Option<Vec<Tier>>,
    /// The comment that asked for the run; a comment enqueues at most one run, ever.
    pub trigger_comment_id: Option<u64>,
}

/// A run as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub id: RunId,
    pub repo: String,
    pub recipe: String,
    pub pr: Option<u64>,
    pub commit: Option<String>,
    pub git_ref: Option<String>,
    pub mode: Mode,
    pub tiers: Option<Vec<Tier>>,
    pub state: RunState,
    /// Set when `finished`.
    pub outcome: Option<Outcome>,
    pub level: Option<u32>,
    pub queued_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    /// The CI's own status comment on the PR ("queued…", edited into the results table).
    pub comment_id: Option<u64>,
    pub trigger_comment_id: Option<u64>,
    /// Why the run ended `error` or `superseded`.
    pub error: Option<String>,
    /// The run's `result.json`, when it finished.
    pub result_json: Option<String>,
}

/// What [`Store::enqueue`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    /// A new queued run.
    New(RunId),
    /// The trigger comment had already enqueued this run; nothing was added.
    Duplicate(RunId),
}

impl Enqueued {
    pub fn id(self) -> RunId {
        match self {
            Enqueued::New(id) | Enqueued::Duplicate(id) => id,
        }
    }

    pub fn is_new(self) -> bool {
        matches!(self, Enqueued::New(_))
    }
}

/// Which runs [`Store::list_runs`] returns; `None` fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunFilter {
    pub recipe: Option<String>,
    pub repo: Option<String>,
    pub state: Option<RunState>,
    pub pr: Option<u64>,
}

pub(super) const COLUMNS: &str = "id, repo, recipe, pr, git_commit, git_ref, mode, tiers, state, outcome, level, \
                                  queued_at, started_at, finished_at, comment_id, trigger_comment_id, error, result_json";

/// The message recorded on runs that were live when the server stopped.
pub const CRASH_MESSAGE: &str = "the server stopped while this run was live; its resources were reaped";

impl Store {
    /// Queues a run. When `trigger_comment_id` already enqueued a run of the same repo (now or in
    /// any earlier life of the server), nothing is added and that run's id is returned.
    pub fn enqueue(&self, run: &NewRun) -> Result<Enqueued, StoreError> {
        self.enqueue_superseding(run, false).map(|(enqueued, _)| enqueued)
    }

    /// [`Store::enqueue`] for a `!testme` on a pull request: a new run supersedes every run of the
    /// same PR and mode still queued, in the same transaction, so however many triggers race, one
    /// run of the PR per mode is left queued (a quick never replaces a cold run, whose commit
    /// status gates the merge, nor a cold one a quick: each status context keeps a run that will
    /// settle it); the trigger comment's claim is settled in it too. Returns the superseded runs
    /// (their comments are to be updated).
    pub fn enqueue_for_pr(&self, run: &NewRun) -> Result<(Enqueued, Vec<Run>), StoreError> {
        self.enqueue_superseding(run, true)
    }

    fn enqueue_superseding(&self, run: &NewRun, supersede: bool) -> Result<(Enqueued, Vec<Run>), StoreError> {
        let now = self.now();
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| self.sqlite(e))?;
        let tiers = run.tiers.as_ref().map(|t| t.iter().map(|t| t.name()).collect::<Vec<_>>().join(","));
        let inserted = tx
            .execute(
                "INSERT INTO runs (repo, recipe, pr, git_commit, git_ref, mode, tiers, state, queued_at, \
                 trigger_comment_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'queued', ?8, ?9)
                 ON CONFLICT DO NOTHING",
                params![
                    run.repo,
                    run.recipe,
                    run.pr.map(|p| p as i64),
                    run.commit,
                    run.git_ref,
                    run.mode.as_str(),
                    tiers,
                    now,
                    run.trigger_comment_id.map(|c| c as i64),
                ],
            )
            .map_err(|e| self.sqlite(e))?;
        if supersede {
            if let Some(comment) = run.trigger_comment_id {
                tx.execute(
                    "UPDATE seen_comments SET claim = NULL WHERE repo = ?1 AND comment_id = ?2",
                    params![run.repo, comment as i64],
                )
                .map_err(|e| self.sqlite(e))?;
            }
        }
        if inserted != 1 {
            let id = tx
                .query_row(
                    "SELECT id FROM runs WHERE repo = ?1 AND trigger_comment_id = ?2",
                    params![run.repo, run.trigger_comment_id.map(|c| c as i64)],
                    |r| r.get(0),
                )
                .map_err(|e| self.sqlite(e))?;
            tx.commit().map_err(|e| self.sqlite(e))?;
            return Ok((Enqueued::Duplicate(RunId(id)), Vec::new()));
        }
        let id = RunId(tx.last_insert_rowid());
        let superseded = match run.pr.filter(|_| supersede) {
            Some(pr) => returning(
                &tx,
                "UPDATE runs SET state = 'superseded', finished_at = ?4, error = ?5 \
                 WHERE repo = ?1 AND pr = ?2 AND id != ?3 AND state = 'queued' AND mode = ?6",
                params![run.repo, pr as i64, id.0, now, format!("superseded by run {id}"), run.mode.as_str()],
            )
            .map_err(|e| self.sqlite(e))??,
            None => Vec::new(),
        };
        tx.commit().map_err(|e| self.sqlite(e))?;
        Ok((Enqueued::New(id), superseded))
    }

    /// The oldest queued run, when fewer than `max_tests` runs are running; does not claim it
    /// (workers use [`Store::claim_next`], which checks and starts in one step).
    pub fn next_runnable(&self, max_tests: u32) -> Result<Option<Run>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| self.sqlite(e))?;
        next_runnable(&tx, max_tests).map_err(|e| self.sqlite(e))?.map(|r| r.map(|(_, run)| run)).transpose()
    }

    /// Atomically takes the oldest queued run and marks it running, when fewer than `max_tests`
    /// runs are running; `None` otherwise.
    pub fn claim_next(&self, max_tests: u32) -> Result<Option<Run>, StoreError> {
        let now = self.now();
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| self.sqlite(e))?;
        let Some(found) = next_runnable(&tx, max_tests).map_err(|e| self.sqlite(e))? else {
            return Ok(None);
        };
        let (id, _) = found?;
        tx.execute("UPDATE runs SET state = 'running', started_at = ?2 WHERE id = ?1", params![id, now])
            .map_err(|e| self.sqlite(e))?;
        let run = get(&tx, id).map_err(|e| self.sqlite(e))?.ok_or(StoreError::NoSuchRun(id))??;
        tx.commit().map_err(|e| self.sqlite(e))?;
        Ok(Some(run))
    }

    /// Marks a queued run running. Refused (`WrongState`) when it is no longer queued (e.g. it was
    /// superseded meanwhile). Does not check `max_tests`: that is [`Store::claim_next`]'s job.
    pub fn start(&self, id: RunId) -> Result<(), StoreError> {
        let now = self.now();
        self.transition(id, RunState::Queued, "queued", |tx| {
            tx.execute("UPDATE runs SET state = 'running', started_at = ?2 WHERE id = ?1", params![id.0, now])
        })
    }

    /// Records a running run's end: its outcome, level and `result.json`.
    pub fn finish(&self, id: RunId, outcome: Outcome, level: u32, result_json: &str) -> Result<(), StoreError> {
        self.finish_with_mode(id, None, outcome, level, result_json)
    }

    /// [`Store::finish`] of a run that ran in mode `ran`, which from now on is its mode: a quick
    /// run that found no canonical copy ran cold, and counts as the cold run it was (recipes
    /// page, badge, metrics).
    pub fn finish_as(
        &self,
        id: RunId,
        ran: Mode,
        outcome: Outcome,
        level: u32,
        result_json: &str,
    ) -> Result<(), StoreError> {
        self.finish_with_mode(id, Some(ran), outcome, level, result_json)
    }

    fn finish_with_mode(
        &self,
        id: RunId,
        ran: Option<Mode>,
        outcome: Outcome,
        level: u32,
        result_json: &str,
    ) -> Result<(), StoreError> {
        let now = self.now();
        self.transition(id, RunState::Running, "running", |tx| {
            tx.execute(
                "UPDATE runs SET state = 'finished', outcome = ?2, level = ?3, result_json = ?4, finished_at = ?5, \
                 mode = COALESCE(?6, mode) WHERE id = ?1",
                params![id.0, outcome.name(), level, result_json, now, ran.map(Mode::as_str)],
            )
        })
    }

    /// Ends a queued or running run as `error` (the CI could not run or finish it), saying why.
    pub fn fail(&self, id: RunId, message: &str) -> Result<(), StoreError> {
        let now = self.now();
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| self.sqlite(e))?;
        let state = state_of(&tx, id).map_err(|e| self.sqlite(e))?.ok_or(StoreError::NoSuchRun(id.0))??;
        if !matches!(state, RunState::Queued | RunState::Running) {
            return Err(StoreError::WrongState { id: id.0, state, expected: "queued or running" });
        }
        tx.execute(
            "UPDATE runs SET state = 'error', outcome = 'error', error = ?2, finished_at = ?3 WHERE id = ?1",
            params![id.0, message, now],
        )
        .map_err(|e| self.sqlite(e))?;
        tx.commit().map_err(|e| self.sqlite(e))
    }

    /// Records the CI's own status comment for the run (to be edited with the results).
    pub fn set_comment_id(&self, id: RunId, comment_id: u64) -> Result<(), StoreError> {
        let n = self
            .conn()
            .execute("UPDATE runs SET comment_id = ?2 WHERE id = ?1", params![id.0, comment_id as i64])
            .map_err(|e| self.sqlite(e))?;
        if n == 0 {
            return Err(StoreError::NoSuchRun(id.0));
        }
        Ok(())
    }

    /// After a restart: runs left `running` become `error` and are returned (the caller reaps their
    /// Docker objects and posts their status); queued runs stay queued and run in order.
    pub fn recover_after_crash(&self) -> Result<Vec<Run>, StoreError> {
        self.recover_after_crash_sparing(None)
    }

    /// [`Store::recover_after_crash`], leaving alone the runs of `live_sweep`: a sweep another
    /// process is still running (its lock is held), whose runs are live.
    pub fn recover_after_crash_sparing(&self, live_sweep: Option<i64>) -> Result<Vec<Run>, StoreError> {
        let now = self.now();
        self.update_returning(
            "UPDATE runs SET state = 'error', outcome = 'error', finished_at = ?1, error = ?2 \
             WHERE state = 'running' AND (sweep_id IS NULL OR sweep_id IS NOT ?3)",
            params![now, CRASH_MESSAGE, live_sweep],
        )
    }

    /// A run of sweep `sweep`, running from now on: the sweep runs it itself (the queue is closed
    /// to everything else while a sweep is open), so it is never queued.
    pub fn start_sweep_run(&self, run: &NewRun, sweep: i64) -> Result<Run, StoreError> {
        let now = self.now();
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| self.sqlite(e))?;
        tx.execute(
            "INSERT INTO runs (repo, recipe, git_commit, git_ref, mode, state, queued_at, started_at, sweep_id) \
             VALUES (?1, ?2, ?3, ?4, ?5, 'running', ?6, ?6, ?7)",
            params![run.repo, run.recipe, run.commit, run.git_ref, run.mode.as_str(), now, sweep],
        )
        .map_err(|e| self.sqlite(e))?;
        let id = tx.last_insert_rowid();
        let started = get(&tx, id).map_err(|e| self.sqlite(e))?.ok_or(StoreError::NoSuchRun(id))??;
        tx.commit().map_err(|e| self.sqlite(e))?;
        Ok(started)
    }

    /// How many runs are running now.
    pub fn count_running(&self) -> Result<u64, StoreError> {
        self.conn()
            .query_row("SELECT COUNT(*) FROM runs WHERE state = 'running'", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(|e| self.sqlite(e))
    }

    /// The latest seed run of `recipe` at tag `git_ref` on `commit` that ended, if any.
    pub fn latest_seed(&self, recipe: &str, git_ref: &str, commit: &str) -> Result<Option<Run>, StoreError> {
        self.conn()
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM runs WHERE recipe = ?1 AND mode = 'seed' AND git_ref = ?2 \
                     AND git_commit = ?3 AND state IN ('finished', 'error') ORDER BY id DESC LIMIT 1"
                ),
                params![recipe, git_ref, commit],
                read_run,
            )
            .optional()
            .map_err(|e| self.sqlite(e))?
            .transpose()
    }

    /// One run.
    pub fn get_run(&self, id: RunId) -> Result<Option<Run>, StoreError> {
        let conn = self.conn();
        get(&conn, id.0).map_err(|e| self.sqlite(e))?.transpose()
    }

    /// Runs matching `filter`, newest first, `limit` of them after skipping `offset`.
    pub fn list_runs(&self, filter: &RunFilter, limit: u32, offset: u32) -> Result<Vec<Run>, StoreError> {
        let (clause, mut args) = filter_clause(filter);
        args.push(Box::new(limit as i64));
        args.push(Box::new(offset as i64));
        let n = args.len();
        let sql = format!("SELECT {COLUMNS} FROM runs {clause} ORDER BY id DESC LIMIT ?{} OFFSET ?{n}", n - 1);
        let conn = self.conn();
        let mut stmt = conn.prepare(&sql).map_err(|e| self.sqlite(e))?;
        let rows = stmt.query_map(params_from_iter(args.iter()), read_run).map_err(|e| self.sqlite(e))?;
        rows.map(|r| r.map_err(|e| self.sqlite(e))?).collect()
    }

    /// How many runs match `filter` (for paging).
    pub fn count_runs(&self, filter: &RunFilter) -> Result<u64, StoreError> {
        let (clause, args) = filter_clause(filter);
        let sql = format!("SELECT COUNT(*) FROM runs {clause}");
        self.conn()
            .query_row(&sql, params_from_iter(args.iter()), |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(|e| self.sqlite(e))
    }

    /// A queued run's place in the queue (1 = next to start); `None` when it is not queued.
    pub fn queue_position(&self, id: RunId) -> Result<Option<u64>, StoreError> {
        self.conn()
            .query_row(
                "SELECT (SELECT COUNT(*) FROM runs o WHERE o.state = 'queued' \
                   AND (o.queued_at < r.queued_at OR (o.queued_at = r.queued_at AND o.id <= r.id))) \
                 FROM runs r WHERE r.id = ?1 AND r.state = 'queued'",
                [id.0],
                |r| r.get::<_, i64>(0),
            )
            .optional()
            .map(|p| p.map(|p| p as u64))
            .map_err(|e| self.sqlite(e))
    }

    /// Checks `id` is in `from`, applies `update`, commits.
    fn transition(
        &self,
        id: RunId,
        from: RunState,
        expected: &'static str,
        update: impl FnOnce(&Transaction) -> rusqlite::Result<usize>,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| self.sqlite(e))?;
        let state = state_of(&tx, id).map_err(|e| self.sqlite(e))?.ok_or(StoreError::NoSuchRun(id.0))??;
        if state != from {
            return Err(StoreError::WrongState { id: id.0, state, expected });
        }
        update(&tx).map_err(|e| self.sqlite(e))?;
        tx.commit().map_err(|e| self.sqlite(e))
    }

    /// Runs an `UPDATE … ` and returns the rows it changed, as they are afterwards.
    fn update_returning(&self, update: &str, args: impl rusqlite::Params) -> Result<Vec<Run>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| self.sqlite(e))?;
        let runs = returning(&tx, update, args).map_err(|e| self.sqlite(e))??;
        tx.commit().map_err(|e| self.sqlite(e))?;
        Ok(runs)
    }
}

/// Runs an `UPDATE … ` inside `tx` and returns the rows it changed, as they are afterwards, by id.
fn returning(tx: &Transaction, update: &str, args: impl rusqlite::Params) -> rusqlite::Result<Read<Vec<Run>>> {
    let mut stmt = tx.prepare(&format!("{update} RETURNING {COLUMNS}"))?;
    let rows = stmt.query_map(args, read_run)?;
    let mut runs = Vec::new();
    for row in rows {
        match row? {
            Ok(run) => runs.push(run),
            Err(e) => return Ok(Err(e)),
        }
    }
    runs.sort_by_key(|r| r.id);
    Ok(Ok(runs))
}

pub(super) type Read<T> = Result<T, StoreError>;

/// The oldest queued run, unless `max_tests` runs are running or a sweep is open (it waits for
/// the runs in flight and keeps the queue closed until it ends, SPEC S2).
fn next_runnable(tx: &Transaction, max_tests: u32) -> rusqlite::Result<Option<Read<(i64, Run)>>> {
    let running: i64 = tx.query_row("SELECT COUNT(*) FROM runs WHERE state = 'running'", [], |r| r.get(0))?;
    if running >= max_tests as i64 || super::sweeps::open_sweep(tx)?.is_some() {
        return Ok(None);
    }
    tx.query_row(
        &format!("SELECT {COLUMNS} FROM runs WHERE state = 'queued' ORDER BY queued_at, id LIMIT 1"),
        [],
        read_run,
    )
    .optional()
    .map(|r| r.map(|run| run.map(|run| (run.id.0, run))))
}

fn get(conn: &rusqlite::Connection, id: i64) -> rusqlite::Result<Option<Read<Run>>> {
    conn.query_row(&format!("SELECT {COLUMNS} FROM runs WHERE id = ?1"), [id], read_run).optional()
}

fn state_of(conn: &rusqlite::Connection, id: RunId) -> rusqlite::Result<Option<Read<RunState>>> {
    conn.query_row("SELECT state FROM runs WHERE id = ?1", [id.0], |r| r.get::<_, String>(0))
        .optional()
        .map(|s| s.map(|s| RunState::parse(&s).ok_or(StoreError::Corrupt { id: id.0, column: "state", value: s })))
}

fn filter_clause(filter: &RunFilter) -> (String, Vec<Box<dyn ToSql>>) {
    let mut conds = Vec::new();
    let mut args: Vec<Box<dyn ToSql>> = Vec::new();
    let mut add = |cond: &str, arg: Box<dyn ToSql>| {
        args.push(arg);
        conds.push(format!("{cond} = ?{}", args.len()));
    };
    if let Some(recipe) = &filter.recipe {
        add("recipe", Box::new(recipe.clone()));
    }
    if let Some(repo) = &filter.repo {
        add("repo", Box::new(repo.clone()));
    }
    if let Some(state) = filter.state {
        add("state", Box::new(state.as_str()));
    }
    if let Some(pr) = filter.pr {
        add("pr", Box::new(pr as i64));
    }
    let clause = if conds.is_empty() { String::new() } else { format!("WHERE {}", conds.join(" AND ")) };
    (clause, args)
}

/// Reads one row (in [`COLUMNS`] order); an unreadable enum value is reported, not guessed.
pub(super) fn read_run(row: &Row) -> rusqlite::Result<Read<Run>> {
    let id: i64 = row.get(0)?;
    let corrupt = |column: &'static str, value: String| StoreError::Corrupt { id, column, value };
    let mode: String = row.get(6)?;
    let tiers: Option<String> = row.get(7)?;
    let state: String = row.get(8)?;
    let outcome: Option<String> = row.get(9)?;
    let u64_of = |v: Option<i64>| v.map(|v| v as u64);
    let run = (|| {
        let mode = Mode::parse(&mode).ok_or_else(|| corrupt("mode", mode.clone()))?;
        let state = RunState::parse(&state).ok_or_else(|| corrupt("state", state.clone()))?;
        let tiers = match tiers {
            None => None,
            Some(t) if t.is_empty() => Some(Vec::new()),
            Some(t) => Some(
                t.split(',')
                    .map(|name| Tier::parse(name).ok_or_else(|| corrupt("tiers", t.clone())))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        let outcome = match outcome {
            None => None,
            Some(o) => Some(parse_outcome(&o).ok_or_else(|| corrupt("outcome", o.clone()))?),
        };
        Ok((mode, state, tiers, outcome))
    })();
    let (mode, state, tiers, outcome) = match run {
        Ok(v) => v,
        Err(e) => return Ok(Err(e)),
    };
    Ok(Ok(Run {
        id: RunId(id),
        repo: row.get(1)?,
        recipe: row.get(2)?,
        pr: u64_of(row.get(3)?),
        commit: row.get(4)?,
        git_ref: row.get(5)?,
        mode,
        tiers,
        state,
        outcome,
        level: row.get(10)?,
        queued_at: row.get(11)?,
        started_at: row.get(12)?,
        finished_at: row.get(13)?,
        comment_id: u64_of(row.get(14)?),
        trigger_comment_id: u64_of(row.get(15)?),
        error: row.get(16)?,
        result_json: row.get(17)?,
    }))
}

pub(super) fn parse_outcome(s: &str) -> Option<Outcome> {
    [Outcome::Pass, Outcome::Fail, Outcome::Error, Outcome::Skipped].into_iter().find(|o| o.name() == s)
}
