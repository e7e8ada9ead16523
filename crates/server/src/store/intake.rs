//! What intake has already seen, so that a comment fires at most once whichever path (poller or
//! webhook) brings it, and however often: seen comments, webhook delivery ids, and the poller's
//! per-repo `since` high-water mark (an RFC 3339 string, as the forge takes it).
//!
//! A comment holding a command is *claimed* rather than just seen: the row keeps an opaque claim
//! (what intake needs to act on it again) until intake *settles* it — once it answered, or in the
//! very transaction that queues its run ([`Store::enqueue_for_pr`]). A claim a crash or a refused
//! write left unsettled is listed by [`Store::unsettled_comments`] and taken up again, so a
//! `!testme` is never lost between being seen and being queued.

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

    /// Claims comment `id` of `repo` for intake, keeping `claim` until it is settled; `true` the
    /// first time, `false` if the comment was seen (or claimed) before.
    pub fn claim_comment(&self, repo: &str, id: u64, claim: &str) -> Result<bool, StoreError> {
        let now = self.now();
        let n = self
            .conn()
            .execute(
                "INSERT OR IGNORE INTO seen_comments (repo, comment_id, first_seen, claim) VALUES (?1, ?2, ?3, ?4)",
                params![repo, id as i64, now, claim],
            )
            .map_err(|e| self.sqlite(e))?;
        Ok(n == 1)
    }

    /// Intake is done with comment `id` of `repo` (it answered it, or decided to do nothing).
    pub fn settle_comment(&self, repo: &str, id: u64) -> Result<(), StoreError> {
        self.conn()
            .execute(
                "UPDATE seen_comments SET claim = NULL WHERE repo = ?1 AND comment_id = ?2",
                params![repo, id as i64],
            )
            .map_err(|e| self.sqlite(e))?;
        Ok(())
    }

    /// Claims not settled yet, oldest first: `(repo, comment id, claim)`.
    pub fn unsettled_comments(&self) -> Result<Vec<(String, u64, String)>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(
                "SELECT repo, comment_id, claim FROM seen_comments WHERE claim IS NOT NULL \
                 ORDER BY first_seen, comment_id",
            )
            .map_err(|e| self.sqlite(e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64, r.get::<_, String>(2)?)))
            .map_err(|e| self.sqlite(e))?;
        rows.map(|r| r.map_err(|e| self.sqlite(e))).collect()
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
