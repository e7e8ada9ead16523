//! What intake has already seen, so that a comment fires at most once whichever path (poller or
//! webhook) brings it, and however often: seen comments, webhook delivery ids, and the poller's
//! per-repo `since` high-water mark (an RFC 3339 string, as the forge takes it).

use rusqlite::{params, OptionalExtension};

use super::{Store, StoreError};

impl Store {
    /// Records that comment `id` of `repo` has been seen; `true` the first time, `false` ever after.
    pub fn mark_comment_seen(&self, repo: &str, id: u64) -> Result<bool, StoreError> {
        let now = self.now();
        let n = self
            .conn()
            .execute(
                "INSERT OR IGNORE INTO seen_comments (repo, comment_id, first_seen) VALUES (?1, ?2, ?3)",
                params![repo, id as i64, now],
            )
            .map_err(|e| self.sqlite(e))?;
        Ok(n == 1)
    }

    /// Forgets that comment `id` of `repo` was seen, so the poller looks at it again: for a comment
    /// whose run could not be queued (the store refused the write).
    pub fn forget_comment(&self, repo: &str, id: u64) -> Result<(), StoreError> {
        self.conn()
            .execute("DELETE FROM seen_comments WHERE repo = ?1 AND comment_id = ?2", params![repo, id as i64])
            .map_err(|e| self.sqlite(e))?;
        Ok(())
    }

    /// Marks existing comments as seen without firing them (first start on a repo); returns how
    /// many were new. One transaction, however many ids.
    pub fn seed_seen(&self, repo: &str, ids: impl IntoIterator<Item = u64>) -> Result<usize, StoreError> {
        let now = self.now();
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| self.sqlite(e))?;
        let mut added = 0;
        {
            let mut stmt = tx
                .prepare("INSERT OR IGNORE INTO seen_comments (repo, comment_id, first_seen) VALUES (?1, ?2, ?3)")
                .map_err(|e| self.sqlite(e))?;
            for id in ids {
                added += stmt.execute(params![repo, id as i64, now]).map_err(|e| self.sqlite(e))?;
            }
        }
        tx.commit().map_err(|e| self.sqlite(e))?;
        Ok(added)
    }

    /// Whether any comment of `repo` has been recorded (the poller seeds a repo it has never seen).
    pub fn has_seen_any(&self, repo: &str) -> Result<bool, StoreError> {
        self.conn()
            .query_row("SELECT EXISTS (SELECT 1 FROM seen_comments WHERE repo = ?1)", [repo], |r| r.get(0))
            .map_err(|e| self.sqlite(e))
    }

    /// Records a webhook delivery id; `true` the first time, `false` for a redelivery.
    pub fn record_delivery(&self, delivery_id: &str) -> Result<bool, StoreError> {
        let now = self.now();
        let n = self
            .conn()
            .execute(
                "INSERT OR IGNORE INTO webhook_deliveries (delivery_id, received_at) VALUES (?1, ?2)",
                params![delivery_id, now],
            )
            .map_err(|e| self.sqlite(e))?;
        Ok(n == 1)
    }

    /// The poller's `since` mark for `repo`, if it has polled it before.
    pub fn poll_mark(&self, repo: &str) -> Result<Option<String>, StoreError> {
        self.conn()
            .query_row("SELECT since FROM poll_marks WHERE repo = ?1", [repo], |r| r.get(0))
            .optional()
            .map_err(|e| self.sqlite(e))
    }

    /// Persists the poller's `since` mark for `repo`.
    pub fn set_poll_mark(&self, repo: &str, since: &str) -> Result<(), StoreError> {
        self.conn()
            .execute(
                "INSERT INTO poll_marks (repo, since) VALUES (?1, ?2)
                 ON CONFLICT (repo) DO UPDATE SET since = excluded.since",
                params![repo, since],
            )
            .map_err(|e| self.sqlite(e))?;
        Ok(())
    }
}
