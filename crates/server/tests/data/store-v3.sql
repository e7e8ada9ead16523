-- The store's schema migration 3 (commit 67258e7, crates/server/src/store/schema.rs), frozen: a
-- database at version 3 is what store-v1.sql, store-v2.sql and then this file make. Never edit;
-- add a file for each new schema version.
ALTER TABLE seen_comments ADD COLUMN claim TEXT;
CREATE INDEX seen_comments_unsettled ON seen_comments (repo) WHERE claim IS NOT NULL;
PRAGMA user_version = 3;
