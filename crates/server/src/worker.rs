//! Workers (SPEC V4): take queued runs in order while fewer than `max_tests` are running (the
//! store's `claim_next` checks and claims in one transaction), run each, record how it ended, and
//! tell the pull request.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::events::Events;
use crate::feedback::Feedback;
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
    pub max_tests: u32,
    /// Woken when a run is queued or ends.
    pub wake: Arc<Notify>,
}

impl Workers {
    /// Claims and starts runs forever.
    pub async fn run(self) {
        loop {
            loop {
                match self.store.claim_next(self.max_tests) {
                    Ok(Some(run)) => {
                        let workers = self.clone();
                        tokio::spawn(async move { workers.execute(run).await });
                    }
                    Ok(None) => break,
                    Err(e) => {
                        self.events.log(format!("workers: cannot read the queue: {e}"));
                        break;
                    }
                }
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(IDLE_CHECK) => {}
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
                if let Err(e) = self.store.finish(run.id, result.outcome, level, &json) {
                    self.events.log(format!("run {}: cannot record its result: {e}", run.id));
                }
                self.events.log(format!(
                    "run {} finished: {}, level {} of {}",
                    run.id,
                    result.outcome.name(),
                    result.level,
                    result.level_of
                ));
                self.feedback.finished(&run, &result).await;
            }
            RunEnd::Error(message) => {
                if let Err(e) = self.store.fail(run.id, &message) {
                    self.events.log(format!("run {}: cannot record its end: {e}", run.id));
                }
                self.events.log(format!("run {} error: {message}", run.id));
                self.feedback.errored(&run, &message).await;
            }
        }
        self.wake.notify_one();
    }
}
