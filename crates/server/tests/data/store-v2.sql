-- The store's schema migration 2 (commit 98554bf, crates/server/src/store/schema.rs), frozen: a
-- database at version 2 is what store-v1.sql and then this file make. Never edit; add a file for
-- each new schema version.
CREATE INDEX runs_state_id ON runs (state, id);
PRAGMA user_version = 2;
