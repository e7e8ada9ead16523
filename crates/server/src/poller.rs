//! The poller (SPEC V1): per enrolled repository and cycle, one request for the repo-wide comments
//! updated since a persisted high-water mark (plus pages), each handed to the intake (which
//! dedupes on comment id, so the inclusive mark never fires twice). A comment whose `updated_at`
//! is after its `created_at` was edited: it is marked seen and never fires (if it was seen before
//! the edit it was already handled then). On the first cycle for a repository every existing
//! comment is marked seen: enrolling a repository does not answer its history. Each cycle first
//! takes up the intake's unsettled claims (a crash or a refused write between seeing a `!testme`
//! and queueing its run).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use forge::Comment;

use crate::feedback::repo_ref;
use crate::health::STORE_WRITES;
use crate::intake::{IncomingComment, Intake};
use crate::store::StoreError;

/// Stands for "before any comment": a mark that makes the next cycle read everything.
const BEGINNING: &str = "1970-01-01T00:00:00Z";

/// The comment as intake sees it; `None` when it belongs to no issue or pull request.
pub fn incoming(repo: &str, comment: &Comment) -> Option<IncomingComment> {
    Some(IncomingComment {
        repo: repo.to_string(),
        comment_id: comment.id,
        number: comment.issue_number()?,
        is_pull: comment.pull_number().is_some(),
        author: comment.author().to_string(),
        body: comment.body.clone(),
    })
}

/// Why a cycle for a repository stopped short (the next cycle tries again from the same mark).
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error("{0}")]
    Forge(String),
    /// The store refused a read or write; shown on `/healthz` until a cycle gets through.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One cycle: the claims left unsettled first ([`Intake::resume`]), then every enrolled
/// repository; errors are logged and the next cycle retries.
pub async fn poll_all(intake: &Intake) {
    let mut store_failed = false;
    if let Err(e) = intake.resume().await {
        intake.events.log(format!("poll: cannot take up unsettled comments: {e}"));
        intake.health.report(STORE_WRITES, format!("taking up unsettled comments failed: {e}"));
        store_failed = true;
    }
    for repo in intake.repos.iter().map(|r| r.repo.clone()).collect::<Vec<_>>() {
        match poll_repo(intake, &repo).await {
            Ok(()) => {}
            Err(e) => {
                intake.events.log(format!("poll {repo}: {e}"));
                if let PollError::Store(e) = &e {
                    intake.health.report(STORE_WRITES, format!("polling {repo} failed: {e}"));
                    store_failed = true;
                }
            }
        }
    }
    if !store_failed {
        intake.health.clear(STORE_WRITES);
    }
}

/// One cycle for `repo`.
pub async fn poll_repo(intake: &Intake, repo: &str) -> Result<(), PollError> {
    let forge = PollError::Forge;
    let repo_ref = repo_ref(repo).ok_or_else(|| forge(format!("{repo} is not owner/name")))?;
    let mark = intake.store.poll_mark(repo)?;
    let since = match mark.as_deref() {
        Some(mark) => {
            Some(DateTime::parse_from_rfc3339(mark).map_err(|e| forge(format!("bad mark {mark}: {e}")))?.to_utc())
        }
        None => None,
    };
    let comments = intake.client.repo_comments_since(&repo_ref, since).await.map_err(|e| forge(e.to_string()))?;
    if mark.is_none() {
        let seeded = intake.store.seed_seen(repo, comments.iter().map(|c| c.id))?;
        intake.events.log(format!("poll {repo}: first cycle, {seeded} existing comment(s) marked seen"));
    } else {
        for comment in &comments {
            if comment.is_edited() {
                intake.edited(repo, comment.id)?;
            } else if let Some(incoming) = incoming(repo, comment) {
                intake.handle(incoming).await?;
            }
        }
    }
    let next = forge::high_water_mark(&comments).map(to_mark).unwrap_or_else(|| mark.unwrap_or(BEGINNING.into()));
    Ok(intake.store.set_poll_mark(repo, &next)?)
}

fn to_mark(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Polls forever, every `interval` (returns only to satisfy [`crate::supervise::Task`]).
pub async fn run(intake: Arc<Intake>, interval: Duration) -> String {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        poll_all(&intake).await;
    }
}
