//! Workers (SPEC V4): take queued runs in order while fewer than `max_tests` are running (the
//! store's `claim_next` checks and claims in one transaction), run each, record how it ended, and
//! tell the pull request.
//!
//! How a run ended is recorded for as long as the store refuses it (a full disk): the result
//! exists nowhere else, so it is tried again with backoff, never dropped, and `/healthz` shows the
//! problem meanwhile; the run keeps its slot until then and nothing else is lost or half-done. A run's task that panics ends [`Workers::run`] with an error, so the server exits
//! for its supervisor rather than go on with a run in limbo.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinSet;

use crate::events::Events;
use crate::feedback::{self, Feedback};
use crate::health::{Health, STORE_WRITES};
use crate::persist::{self, Tries};
use crate::runner::{RunEnd, RunnerConfig};
use crate::store::{Run, Store};

/// How often the queue is looked at when nothing wakes the workers.
const IDLE_CHECK: Duration = Duration::from_secs(2);

/// The queue's consumers.
#[derive(Clone)]
pub struct Workers {
    pub store: Arc<Store>,
    pub runner: Arc<RunnerConfig>,
    pub feedback: Feedback,
    pub events: Events,
    pub health: Health,
    pub max_tests: u32,
    /// Woken when a run is queued or ends.
    pub wake: Arc<Notify>,
}

impl Workers {
    /// Claims and starts runs until a run's task dies; then says how.
    pub async fn run(self) -> String {
        let mut live = JoinSet::new();
        loop {
            loop {
                match self.store.claim_next(self.max_tests) {
                    Ok(Some(run)) => {
                        self.health.clear(STORE_WRITES);
                        let workers = self.clone();
                        live.spawn(async move { workers.execute(run).await });
                    }
                    Ok(None) => break,
                    Err(e) => {
                        self.events.log(format!("workers: cannot take a run from the queue: {e}"));
                        self.health.report(STORE_WRITES, format!("taking a run from the queue failed: {e}"));
                        break;
                    }
                }
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(IDLE_CHECK) => {}
                Some(ended) = live.join_next(), if !live.is_empty() => {
                    if let Err(e) = ended {
                        return format!("a run's task died: {e}");
                    }
                }
            }
        }
    }

    /// One claimed run, start to end.
    async fn execute(&self, run: Run) {
        self.events.log(format!("run {} started: {} at {}", run.id, run.repo, run.commit.as_deref().unwrap_or("?")));
        self.feedback.started(&run).await;
        match self.runner.execute(&run).await {
            RunEnd::Result { result, json } => {
                let level = u32::try_from(result.level).unwrap_or(u32::MAX);
                let ran = feedback::mode_ran(&run, &result);
                let what = format!("recording run {}'s result", run.id);
                let recorded = persist::write(&self.health, &self.events, &what, Tries::UntilWritten, || {
                    self.store.finish_as(run.id, ran, result.outcome, level, &json)
                })
                .await;
                match recorded {
                    Ok(()) => {
                        self.events.log(format!(
                            "run {} finished: {}, level {} of {} ({}{})",
                            run.id,
                            result.outcome.name(),
                            result.level,
                            result.level_of,
                            ran.as_str(),
                            if ran == run.mode { String::new() } else { format!(", asked: {}", run.mode.as_str()) },
                        ));
                        self.feedback.finished(&run, &result).await;
                    }
                    // Not the store's refusal (that is retried): the run is in another state.
                    Err(e) => self.end_in_error(&run, format!("its result could not be recorded: {e}")).await,
                }
            }
            RunEnd::Error(message) => self.end_in_error(&run, message).await,
        }
        self.wake.notify_one();
    }

    /// Records the run as `error` (for as long as the store refuses) and tells the pull request.
    async fn end_in_error(&self, run: &Run, message: String) {
        let what = format!("recording run {}'s end", run.id);
        let recorded = persist::write(&self.health, &self.events, &what, Tries::UntilWritten, || {
            self.store.fail(run.id, &message)
        })
        .await;
        if let Err(e) = recorded {
            self.events.log(format!("run {}: cannot record its end: {e}", run.id));
        }
        self.events.log(format!("run {} error: {message}", run.id));
        self.feedback.errored(run, &message).await;
    }
}
