//! The store's schema and its migrations, in code: each migration is one SQL batch, applied in
//! order inside a transaction, and `PRAGMA user_version` records how many have been applied.
//! Append new migrations at the end; never edit one that has shipped.

use rusqlite::Connection;

/// The migrations, oldest first. The database's `user_version` is the number applied.
const MIGRATIONS: &[&str] = &[
    // 1: runs, intake dedupe, poll marks.
    "
    CREATE TABLE runs (
        id                 INTEGER PRIMARY KEY AUTOINCREMENT,
        repo               TEXT    NOT NULL,
        recipe             TEXT    NOT NULL,
        pr                 INTEGER,
        git_commit         TEXT,
        git_ref            TEXT,
        mode               TEXT    NOT NULL,
        tiers              TEXT,
        state              TEXT    NOT NULL,
        outcome            TEXT,
        level              INTEGER,
        queued_at          INTEGER NOT NULL,
        started_at         INTEGER,
        finished_at        INTEGER,
        comment_id         INTEGER,
        trigger_comment_id INTEGER,
        error              TEXT,
        result_json        TEXT
    );
    CREATE UNIQUE INDEX runs_trigger ON runs (repo, trigger_comment_id) WHERE trigger_comment_id IS NOT NULL;
    CREATE INDEX runs_state ON runs (state, queued_at, id);
    CREATE INDEX runs_recipe ON runs (recipe, id);
    CREATE INDEX runs_pr ON runs (repo, pr, state);
    CREATE TABLE seen_comments (
        repo       TEXT    NOT NULL,
        comment_id INTEGER NOT NULL,
        first_seen INTEGER NOT NULL,
        PRIMARY KEY (repo, comment_id)
    ) WITHOUT ROWID;
    CREATE TABLE webhook_deliveries (
        delivery_id TEXT    PRIMARY KEY,
        received_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE poll_marks (
        repo  TEXT PRIMARY KEY,
        since TEXT NOT NULL
    ) WITHOUT ROWID;
    ",
    // 2: the runs list filtered by state, newest first, reads 50 rows instead of sorting every
    // run of that state (docs/benchmarks.md, Server).
    "CREATE INDEX runs_state_id ON runs (state, id);",
    // 3: a command comment is claimed (with what intake needs to act on it again) until it is
    // settled: answered, or its run queued in the same transaction. A claim left by a crash or a
    // failed write is taken up again instead of being lost.
    "ALTER TABLE seen_comments ADD COLUMN claim TEXT;
     CREATE INDEX seen_comments_unsettled ON seen_comments (repo) WHERE claim IS NOT NULL;",
    // 4: sweeps (SPEC S1-S2) and their report; a sweep that has not ended closes the queue to
    // every other run (the gate in `claim_next`). The schedule's anchor is kept across restarts so
    // a missed sweep is caught up; runs started by a sweep name it.
    "CREATE TABLE sweeps (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        trigger     TEXT    NOT NULL,
        state       TEXT    NOT NULL,
        started_at  INTEGER NOT NULL,
        finished_at INTEGER,
        report      TEXT
    );
    CREATE INDEX sweeps_open ON sweeps (state) WHERE state IN ('waiting', 'running');
    CREATE TABLE sweep_schedule (
        id    INTEGER PRIMARY KEY CHECK (id = 1),
        since INTEGER NOT NULL
    );
    ALTER TABLE runs ADD COLUMN sweep_id INTEGER;",
];

/// The schema version this build writes.
pub const VERSION: usize = MIGRATIONS.len();

/// Brings the database up to [`VERSION`]; refuses a database written by a newer build.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<Result<(), String>> {
    let current: usize = conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize;
    if current > VERSION {
        return Ok(Err(format!(
            "the database has schema version {current}, newer than this build's {VERSION}; run a newer cc-ci"
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(Ok(()))
}
