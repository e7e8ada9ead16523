-- The store's schema migration 4 (crates/server/src/store/schema.rs), frozen: a database at
-- version 4 is what store-v1.sql … store-v3.sql and then this file make. Never edit; add a file
-- for each new schema version.
CREATE TABLE sweeps (
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
ALTER TABLE runs ADD COLUMN sweep_id INTEGER;
PRAGMA user_version = 4;
