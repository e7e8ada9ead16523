//! D4: wait until a stack has converged — every service has its desired tasks running (and
//! healthy: swarm reports a task `running` only after its first passing healthcheck, a task with
//! a failing one stays `starting`) — driven by the engine's event stream.
//!
//! Each event about the stack triggers a re-evaluation of services and tasks. Task state is
//! reported by the swarm agent after the container event that caused it — a task turns `running`
//! only once its healthcheck passed, which the agent reports seconds after the container's
//! `health_status` event — and task state changes have no events of their own, so an event also
//! schedules a short series of follow-up evaluations (100 ms, 300 ms, 1 s, 2 s after it), and a
//! safety-net evaluation runs every second while nothing happens (two API calls). The timeout is
//! the only other clock.
//!
//! Like `docker service create` ("waiting 5 seconds to verify that tasks are stable"), a stack
//! counts as converged only once the same set of tasks has been running for a stability window
//! ([`STABLE`] by default): a task that starts and crashes a moment later is not a convergence.
//!
//! A crash loop counts the tasks that end during the wait: tasks that had already ended at its
//! first look are history (a long-lived service after an engine restart carries the tasks the
//! restart killed, exit code 255, while its new task starts).

use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::events::{concerns_stack, Signal};
use crate::state::{ended_tasks, evaluate, running_tasks, Verdict};
use crate::Swarm;

/// Follow-up evaluations after an event (delays from the previous evaluation).
const FOLLOW_UPS: [Duration; 4] =
    [Duration::from_millis(100), Duration::from_millis(200), Duration::from_millis(700), Duration::from_millis(1000)];
/// Safety-net evaluation interval when no event arrives: the agent's task states have no events,
/// and a 5 s interval cost an upgrade of a healthchecked app 5 s on average (measured: 9.8 s).
const SAFETY_NET: Duration = Duration::from_secs(1);
/// Default stability window: the same tasks must stay running this long.
pub const STABLE: Duration = Duration::from_secs(5);
/// How many log lines a [`Error::TaskFailing`] carries.
pub const FAILING_LOG_LINES: usize = 20;

/// A converged stack.
#[derive(Debug, Clone)]
pub struct Converged {
    /// Time from the call to convergence.
    pub elapsed: Duration,
    /// How many evaluations were made (a measure of event traffic).
    pub evaluations: usize,
}

impl Swarm {
    /// Wait until every service of `stack` has converged, or fail fast: [`Error::TaskFailing`]
    /// (crash loop or a final failure), [`Error::RolledBack`], [`Error::ImageMissingAtRuntime`],
    /// or [`Error::Timeout`] naming the services still pending.
    pub async fn wait_converged(&self, stack: &str, timeout: Duration) -> Result<Converged> {
        self.wait_converged_with(stack, timeout, STABLE).await
    }

    /// [`Swarm::wait_converged`] with an explicit stability window (zero: the first converged
    /// look counts).
    pub async fn wait_converged_with(&self, stack: &str, timeout: Duration, stable: Duration) -> Result<Converged> {
        let start = Instant::now();
        let deadline = tokio::time::Instant::from_std(start + timeout);
        // Subscribe before the first look, so nothing between the two is missed.
        let mut events = self.object_events();
        let mut evaluations = 0;
        let mut follow_up = 0usize;
        let mut last_pending = Vec::new();
        // Node engines whose event stream broke and that no longer answer, with how.
        let mut lost = std::collections::BTreeMap::new();
        // Since when the current set of running tasks has been converged.
        let mut stable_since: Option<(tokio::time::Instant, std::collections::BTreeSet<String>)> = None;
        // Tasks that had ended before the first look; set at the first look.
        let mut earlier_ended = None;
        loop {
            let mut snap = self.snapshot(stack).await?;
            snap.lost_nodes = lost.clone();
            snap.earlier_ended = earlier_ended.get_or_insert_with(|| ended_tasks(&snap)).clone();
            evaluations += 1;
            let mut wake_for_stability = None;
            match evaluate(&snap) {
                Verdict::Converged => {
                    let running = running_tasks(&snap);
                    let now = tokio::time::Instant::now();
                    let since = match &stable_since {
                        Some((since, tasks)) if *tasks == running => *since,
                        _ => {
                            stable_since = Some((now, running));
                            now
                        }
                    };
                    if now >= since + stable {
                        return Ok(Converged { elapsed: start.elapsed(), evaluations });
                    }
                    wake_for_stability = Some(since + stable);
                }
                Verdict::Pending(p) => {
                    stable_since = None;
                    last_pending = p;
                }
                Verdict::Failing { service, task, failed } => {
                    return Err(self.task_failing(service, &task, failed).await);
                }
                Verdict::RolledBack { service, state, message, task } => {
                    let (exit_code, last_log_lines) = match task {
                        Some(task) => self.ended_task(&service, &task).await,
                        None => (None, self.service_logs(&service, FAILING_LOG_LINES).await.unwrap_or_default()),
                    };
                    return Err(Error::RolledBack { service, state, message, exit_code, last_log_lines });
                }
                Verdict::ImageMissing { service, task_error } => {
                    return Err(Error::ImageMissingAtRuntime { service, task_error })
                }
                Verdict::NodeLost { node, service, why } => return Err(Error::NodeLost { node, service, why }),
            }
            let wait = FOLLOW_UPS.get(follow_up).copied().unwrap_or(SAFETY_NET);
            let mut next = tokio::time::Instant::now() + wait;
            if let Some(at) = wake_for_stability {
                next = next.min(at);
            }
            follow_up += 1;
            // Wait for a relevant event, the next scheduled look, or the deadline.
            loop {
                tokio::select! {
                    signal = events.next() => match signal {
                        Some(Signal::Event(ev)) if concerns_stack(&ev, stack) => { follow_up = 0; break; }
                        Some(Signal::Event(_)) => continue,
                        Some(Signal::Broken(index)) => {
                            // An engine restarted, stopped or timed out: subscribe again, or
                            // remember its node as lost; then look.
                            if let Err(why) = self.recover_events(&mut events, index).await {
                                let engine = &self.node_engines()[index];
                                lost.insert(engine.id.clone(), format!("its engine at {} does not answer: {why}", engine.host));
                            }
                            follow_up = 0;
                            break;
                        }
                        None => { tokio::time::sleep_until(next.min(deadline)).await; break; }
                    },
                    _ = tokio::time::sleep_until(next.min(deadline)) => break,
                }
            }
            if tokio::time::Instant::now() >= deadline {
                // One last look, so a convergence right at the deadline is not reported as a timeout.
                let mut snap = self.snapshot(stack).await?;
                snap.lost_nodes = lost;
                snap.earlier_ended = earlier_ended.unwrap_or_default();
                match evaluate(&snap) {
                    Verdict::Converged => {
                        return Ok(Converged { elapsed: start.elapsed(), evaluations: evaluations + 1 })
                    }
                    Verdict::NodeLost { node, service, why } => return Err(Error::NodeLost { node, service, why }),
                    Verdict::Pending(p) => last_pending = p,
                    _ => {}
                }
                return Err(Error::Timeout { after: timeout, pending: last_pending });
            }
        }
    }

    async fn task_failing(&self, service: String, task: &bollard::models::Task, failed: usize) -> Error {
        let status = task.status.clone().unwrap_or_default();
        let (exit_code, last_log_lines) = self.ended_task(&service, task).await;
        Error::TaskFailing {
            service,
            exit_code,
            task_error: status.err.filter(|e| !e.is_empty()).or(status.message).unwrap_or_else(|| "task ended".into()),
            last_log_lines,
            failed_tasks: failed,
        }
    }

    /// An ended task's exit code and the last lines its container (else its service) printed.
    async fn ended_task(&self, service: &str, task: &bollard::models::Task) -> (Option<i64>, Vec<String>) {
        let container = task.status.clone().unwrap_or_default().container_status.unwrap_or_default();
        let mut last_log_lines = Vec::new();
        if let Some(id) = container.container_id.as_deref().filter(|id| !id.is_empty()) {
            if let Ok(engine) = self.engine_of(task.node_id.as_deref().unwrap_or_default()).await {
                last_log_lines = crate::diagnostics::container_logs_on(&engine.docker, id, FAILING_LOG_LINES)
                    .await
                    .unwrap_or_default();
            }
        }
        if last_log_lines.is_empty() {
            last_log_lines = self.service_logs(service, FAILING_LOG_LINES).await.unwrap_or_default();
        }
        (container.exit_code, last_log_lines)
    }
}
