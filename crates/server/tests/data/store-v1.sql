-- The store's schema at version 1 (commit 430dfc0, crates/server/src/store/schema.rs), frozen:
-- what that release wrote. A database at version N is this file, then store-v2.sql ... up to
-- store-v<N>.sql, each the frozen migration of that release. Never edit; add a file for each new
-- schema version.
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
PRAGMA user_version = 1;
