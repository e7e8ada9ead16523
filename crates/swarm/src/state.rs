//! Reads a stack's services and tasks from the engine and judges them: converged, still pending
//! (and why), or failing in a way that will not fix itself. The judgement is a pure function of
//! the snapshot so it can be unit-tested.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use bollard::models::{
    NodeSpecAvailabilityEnum, NodeState, Service, ServiceUpdateStatusStateEnum, Task,
    TaskSpecRestartPolicyConditionEnum, TaskState,
};
use bollard::query_parameters::{ListNodesOptions, ListServicesOptions, ListTasksOptions};

use crate::error::{Error, PendingService, Result};
use crate::labels::filter_stack;
use crate::Swarm;

/// A stack's services and their tasks at one moment.
#[derive(Debug, Default, Clone)]
pub(crate) struct Snapshot {
    pub services: Vec<Service>,
    pub tasks: Vec<Task>,
    /// Nodes that are ready and active (eligible for global services).
    pub ready_nodes: usize,
    /// Hostnames of the swarm's nodes, by id.
    pub node_names: HashMap<String, String>,
    /// Nodes the swarm reports not ready (down, disconnected, unknown), by id.
    pub down_nodes: BTreeSet<String>,
    /// Nodes whose engine stopped answering cc-ci, by id, with how (filled in by the caller).
    pub lost_nodes: BTreeMap<String, String>,
    /// Tasks that had already ended when the wait began (filled in by the caller): history, such
    /// as the tasks an engine restart killed, not a crash loop of this wait.
    pub earlier_ended: BTreeSet<String>,
}

/// Failing task counts at which we stop waiting (a crash loop).
pub(crate) const FAILED_TASKS_LIMIT: usize = 3;

/// The judgement of a snapshot.
#[derive(Debug, Clone)]
pub(crate) enum Verdict {
    Converged,
    Pending(Vec<PendingService>),
    /// A service's tasks keep failing; `task` is the newest ended one.
    Failing {
        service: String,
        task: Box<Task>,
        failed: usize,
    },
    /// Swarm paused or rolled back an update; `task` is the task whose failure made it do so
    /// (named in swarm's message), else the service's newest ended task.
    RolledBack {
        service: String,
        state: String,
        message: String,
        task: Option<Box<Task>>,
    },
    ImageMissing {
        service: String,
        task_error: String,
    },
    /// A task of `service` that may still run is on a node that was lost (`why`).
    NodeLost {
        node: String,
        service: String,
        why: String,
    },
}

impl Swarm {
    pub(crate) async fn snapshot(&self, stack: &str) -> Result<Snapshot> {
        let services = self
            .docker
            .list_services(Some(ListServicesOptions { filters: Some(filter_stack(stack)), status: Some(true) }))
            .await
            .map_err(Error::docker(format!("listing services of {stack}")))?;
        let tasks = if services.is_empty() {
            Vec::new()
        } else {
            let ids = services.iter().filter_map(|s| s.id.clone()).collect();
            self.docker
                .list_tasks(Some(ListTasksOptions { filters: Some(HashMap::from([("service".to_string(), ids)])) }))
                .await
                .map_err(Error::docker(format!("listing tasks of {stack}")))?
        };
        let nodes = self.docker.list_nodes(None::<ListNodesOptions>).await.map_err(Error::docker("listing nodes"))?;
        let is_ready = |n: &&bollard::models::Node| n.status.as_ref().and_then(|s| s.state) == Some(NodeState::READY);
        let ready_nodes = nodes
            .iter()
            .filter(is_ready)
            .filter(|n| n.spec.as_ref().and_then(|s| s.availability) == Some(NodeSpecAvailabilityEnum::ACTIVE))
            .count();
        let down_nodes = nodes.iter().filter(|n| !is_ready(n)).filter_map(|n| n.id.clone()).collect();
        let node_names =
            nodes.iter().filter_map(|n| Some((n.id.clone()?, n.description.as_ref()?.hostname.clone()?))).collect();
        Ok(Snapshot { services, tasks, ready_nodes, node_names, down_nodes, ..Default::default() })
    }
}

/// Ids of the tasks that have ended (failed, rejected or complete).
pub(crate) fn ended_tasks(snap: &Snapshot) -> BTreeSet<String> {
    snap.tasks.iter().filter(|t| has_ended(t)).filter_map(|t| t.id.clone()).collect()
}

fn has_ended(task: &Task) -> bool {
    matches!(state_of(task), Some(TaskState::FAILED | TaskState::REJECTED | TaskState::COMPLETE))
}

/// Ids of the tasks that are running and meant to run.
pub(crate) fn running_tasks(snap: &Snapshot) -> std::collections::BTreeSet<String> {
    snap.tasks
        .iter()
        .filter(|t| t.desired_state == Some(TaskState::RUNNING) && state_of(t) == Some(TaskState::RUNNING))
        .filter_map(|t| t.id.clone())
        .collect()
}

pub(crate) fn service_name(s: &Service) -> String {
    s.spec.as_ref().and_then(|s| s.name.clone()).unwrap_or_default()
}

/// Whether a task was created from the service's current spec (rather than a previous version
/// being replaced by an update). The engine reports the service spec with defaults filled in
/// (stop grace period, restart policy...) that the task's copy lacks, so the task's container
/// spec and force-update counter must be a *subset* of the service's, not equal.
fn is_current(task: &Task, service: &Service) -> bool {
    let Some(template) = service.spec.as_ref().and_then(|s| s.task_template.as_ref()) else {
        return true;
    };
    let Some(spec) = task.spec.as_ref() else {
        return false;
    };
    let json = |v| serde_json::to_value(v).unwrap_or_default();
    spec.force_update.unwrap_or(0) == template.force_update.unwrap_or(0)
        && is_subset(&json(&spec.container_spec), &json(&template.container_spec))
}

/// Every non-null field of `part` is present in `whole` with a value that is itself a subset;
/// arrays must have the same length and pairwise subset elements.
fn is_subset(part: &serde_json::Value, whole: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match (part, whole) {
        (J::Null, _) => true,
        (J::Object(p), J::Object(w)) => {
            p.iter().all(|(k, v)| v.is_null() || w.get(k).is_some_and(|wv| is_subset(v, wv)))
        }
        (J::Array(p), J::Array(w)) => p.len() == w.len() && p.iter().zip(w).all(|(a, b)| is_subset(a, b)),
        (p, w) => p == w,
    }
}

/// The task an update stopped for: the one swarm's message names (`... of task <id>`), else the
/// newest task of `service` that ended.
fn failed_task<'a>(snap: &'a Snapshot, service: &Service, message: &str) -> Option<&'a Task> {
    let named = message.rsplit_once("task ").map(|(_, id)| id.trim().trim_end_matches('.'));
    let of_service = |t: &&Task| t.service_id == service.id;
    if let Some(id) = named.filter(|id| !id.is_empty()) {
        if let Some(t) =
            snap.tasks.iter().filter(of_service).find(|t| t.id.as_deref().is_some_and(|t| t.starts_with(id)))
        {
            return Some(t);
        }
    }
    let ended = |t: &&Task| {
        matches!(state_of(t), Some(TaskState::FAILED | TaskState::REJECTED | TaskState::SHUTDOWN | TaskState::COMPLETE))
    };
    snap.tasks.iter().filter(of_service).filter(ended).max_by_key(|t| timestamp(t))
}

/// Whether a task may still be running or about to run (it has not ended, whatever the desired
/// state: a task on a lost node keeps the last state its node reported).
pub(crate) fn may_run(task: &Task) -> bool {
    !matches!(
        state_of(task),
        None | Some(
            TaskState::COMPLETE
                | TaskState::FAILED
                | TaskState::REJECTED
                | TaskState::SHUTDOWN
                | TaskState::ORPHANED
                | TaskState::REMOVE
        )
    )
}

/// A task of the stack that may still run on a node that was lost: the engine stopped answering
/// cc-ci, or the swarm reports the node down.
fn on_lost_node(snap: &Snapshot) -> Option<Verdict> {
    snap.tasks.iter().filter(|t| may_run(t)).find_map(|t| {
        let node = t.node_id.as_deref()?;
        let why = match snap.lost_nodes.get(node) {
            Some(why) => why.clone(),
            None if snap.down_nodes.contains(node) => "the swarm reports the node down".to_string(),
            None => return None,
        };
        let service = snap.services.iter().find(|s| s.id == t.service_id).map(service_name).unwrap_or_default();
        let node = snap.node_names.get(node).cloned().unwrap_or_else(|| node.to_string());
        Some(Verdict::NodeLost { node, service, why })
    })
}

fn state_of(task: &Task) -> Option<TaskState> {
    task.status.as_ref().and_then(|s| s.state)
}

fn timestamp(task: &Task) -> String {
    task.status.as_ref().and_then(|s| s.timestamp.clone()).or_else(|| task.updated_at.clone()).unwrap_or_default()
}

/// One-line description of a task's state: `starting (message)` or `failed: error`.
pub(crate) fn describe(task: &Task) -> String {
    let status = task.status.clone().unwrap_or_default();
    let state = status.state.map_or("unknown".to_string(), |s| s.to_string());
    let message = status.message.filter(|m| !m.is_empty() && *m != state);
    match (status.err.filter(|e| !e.is_empty()), message) {
        (Some(err), _) => format!("{state}: {err}"),
        (None, Some(msg)) => format!("{state} ({msg})"),
        (None, None) => state,
    }
}

/// Judge the snapshot.
pub(crate) fn evaluate(snap: &Snapshot) -> Verdict {
    if snap.services.is_empty() {
        return Verdict::Pending(vec![PendingService {
            service: "(none)".into(),
            replicas: "0/0".into(),
            state: "no services of the stack exist".into(),
        }]);
    }
    // Before anything else: a task that stopped because its node went away is not the recipe's.
    if let Some(lost) = on_lost_node(snap) {
        return lost;
    }
    let mut pending = Vec::new();
    for service in &snap.services {
        let name = service_name(service);
        let spec = service.spec.clone().unwrap_or_default();
        if let Some(update) = &service.update_status {
            use ServiceUpdateStatusStateEnum as U;
            if let Some(state @ (U::ROLLBACK_STARTED | U::ROLLBACK_PAUSED | U::ROLLBACK_COMPLETED | U::PAUSED)) =
                update.state
            {
                let message = update.message.clone().unwrap_or_default();
                let task = failed_task(snap, service, &message).map(|t| Box::new(t.clone()));
                return Verdict::RolledBack { service: name, state: state.to_string(), message, task };
            }
        }
        let id = service.id.clone().unwrap_or_default();
        let mut tasks: Vec<&Task> = snap
            .tasks
            .iter()
            .filter(|t| t.service_id.as_deref() == Some(id.as_str()) && is_current(t, service))
            .collect();
        tasks.sort_by_key(|t| timestamp(t));

        // Fail fast.
        if let Some(t) = tasks.iter().rev().find(|t| {
            state_of(t) == Some(TaskState::REJECTED)
                && t.status.as_ref().and_then(|s| s.err.as_deref()).is_some_and(|e| e.contains("No such image"))
        }) {
            return Verdict::ImageMissing {
                service: name,
                task_error: t.status.as_ref().and_then(|s| s.err.clone()).unwrap_or_default(),
            };
        }
        let ended: Vec<&&Task> = tasks.iter().filter(|t| has_ended(t)).collect();
        let policy = spec.task_template.as_ref().and_then(|t| t.restart_policy.clone()).unwrap_or_default();
        let no_retry = match policy.condition {
            Some(TaskSpecRestartPolicyConditionEnum::NONE) => !ended.is_empty(),
            Some(TaskSpecRestartPolicyConditionEnum::ON_FAILURE) => {
                ended.iter().any(|t| state_of(t) == Some(TaskState::COMPLETE))
            }
            _ => false,
        };
        let attempts_exhausted = policy.max_attempts.filter(|m| *m > 0).is_some_and(|m| ended.len() as i64 > m);
        // A crash loop is counted in this wait's tasks only: swarm keeps a slot's last tasks, and
        // a long-lived service (the proxy after a reboot) may carry failures that are history.
        let ended_now =
            ended.iter().filter(|t| !t.id.as_ref().is_some_and(|id| snap.earlier_ended.contains(id))).count();
        if let Some(last) = ended.last() {
            if no_retry || attempts_exhausted || ended_now >= FAILED_TASKS_LIMIT {
                return Verdict::Failing { service: name, task: Box::new((**last).clone()), failed: ended.len() };
            }
        }

        // Progress.
        let running = tasks
            .iter()
            .filter(|t| t.desired_state == Some(TaskState::RUNNING) && state_of(t) == Some(TaskState::RUNNING))
            .count();
        let mode = spec.mode.clone().unwrap_or_default();
        let desired = if mode.global.is_some() {
            let daemon = service.service_status.as_ref().and_then(|s| s.desired_tasks).unwrap_or(0) as usize;
            let constrained = spec
                .task_template
                .as_ref()
                .and_then(|t| t.placement.as_ref())
                .and_then(|p| p.constraints.as_ref())
                .is_some_and(|c| !c.is_empty());
            if constrained {
                daemon
            } else {
                daemon.max(snap.ready_nodes)
            }
        } else {
            mode.replicated.and_then(|r| r.replicas).unwrap_or(1).max(0) as usize
        };
        let updating = service
            .update_status
            .as_ref()
            .and_then(|u| u.state)
            .is_some_and(|s| s == ServiceUpdateStatusStateEnum::UPDATING);
        if running < desired || updating {
            let newest = tasks.iter().rev().find(|t| t.desired_state == Some(TaskState::RUNNING)).or(tasks.last());
            let mut state = newest.map_or("no task yet".to_string(), |t| describe(t));
            if updating {
                state = format!("update in progress; {state}");
            }
            pending.push(PendingService { service: name, replicas: format!("{running}/{desired}"), state });
        }
    }
    if pending.is_empty() {
        Verdict::Converged
    } else {
        Verdict::Pending(pending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{
        ServiceSpec, ServiceSpecMode, ServiceSpecModeReplicated, TaskSpec, TaskSpecRestartPolicy, TaskStatus,
    };

    fn service(replicas: i64, restart: Option<TaskSpecRestartPolicyConditionEnum>) -> Service {
        Service {
            id: Some("s1".into()),
            spec: Some(ServiceSpec {
                name: Some("st_app".into()),
                mode: Some(ServiceSpecMode {
                    replicated: Some(ServiceSpecModeReplicated { replicas: Some(replicas) }),
                    ..Default::default()
                }),
                task_template: Some(TaskSpec {
                    restart_policy: Some(TaskSpecRestartPolicy { condition: restart, ..Default::default() }),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn task(svc: &Service, n: u32, desired: TaskState, state: TaskState) -> Task {
        Task {
            id: Some(format!("t{n}")),
            service_id: svc.id.clone(),
            spec: svc.spec.as_ref().and_then(|s| s.task_template.clone()),
            desired_state: Some(desired),
            status: Some(TaskStatus {
                state: Some(state),
                timestamp: Some(format!("2026-01-01T00:00:0{n}Z")),
                err: (state == TaskState::FAILED).then(|| "task: non-zero exit (3)".to_string()),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn snap(services: Vec<Service>, tasks: Vec<Task>) -> Snapshot {
        Snapshot { services, tasks, ready_nodes: 1, ..Default::default() }
    }

    #[test]
    fn all_replicas_running_is_converged() {
        let s = service(2, None);
        let tasks = vec![
            task(&s, 1, TaskState::RUNNING, TaskState::RUNNING),
            task(&s, 2, TaskState::RUNNING, TaskState::RUNNING),
        ];
        assert!(matches!(evaluate(&snap(vec![s], tasks)), Verdict::Converged));
    }

    #[test]
    fn a_starting_task_is_pending_with_its_state() {
        let s = service(1, None);
        let tasks = vec![task(&s, 1, TaskState::RUNNING, TaskState::STARTING)];
        match evaluate(&snap(vec![s], tasks)) {
            Verdict::Pending(p) => {
                assert_eq!(p[0].service, "st_app");
                assert_eq!(p[0].replicas, "0/1");
                assert!(p[0].state.starts_with("starting"));
            }
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn three_failed_tasks_are_a_crash_loop_but_two_are_not() {
        let s = service(1, None);
        let mut tasks = vec![
            task(&s, 1, TaskState::SHUTDOWN, TaskState::FAILED),
            task(&s, 2, TaskState::SHUTDOWN, TaskState::FAILED),
            task(&s, 3, TaskState::RUNNING, TaskState::STARTING),
        ];
        assert!(matches!(evaluate(&snap(vec![s.clone()], tasks.clone())), Verdict::Pending(_)));
        tasks.push(task(&s, 4, TaskState::SHUTDOWN, TaskState::FAILED));
        match evaluate(&snap(vec![s], tasks)) {
            Verdict::Failing { service, task, failed } => {
                assert_eq!(service, "st_app");
                assert_eq!(failed, 3);
                assert_eq!(task.id.as_deref(), Some("t4"));
            }
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn failures_that_ended_before_the_wait_are_history() {
        // An engine restart killed three tasks of a long-lived service; its new task is starting.
        let s = service(1, None);
        let mut tasks = vec![
            task(&s, 1, TaskState::SHUTDOWN, TaskState::FAILED),
            task(&s, 2, TaskState::SHUTDOWN, TaskState::FAILED),
            task(&s, 3, TaskState::SHUTDOWN, TaskState::FAILED),
            task(&s, 4, TaskState::RUNNING, TaskState::STARTING),
        ];
        let mut earlier = snap(vec![s.clone()], tasks.clone());
        earlier.earlier_ended = ended_tasks(&earlier);
        assert_eq!(earlier.earlier_ended.len(), 3);
        assert!(matches!(evaluate(&earlier), Verdict::Pending(_)));
        // It crash-loops during the wait: three failures of its own make it failing again.
        for n in 5..=7 {
            tasks.push(task(&s, n, TaskState::SHUTDOWN, TaskState::FAILED));
        }
        let mut now = snap(vec![s], tasks);
        now.earlier_ended = earlier.earlier_ended.clone();
        assert!(matches!(evaluate(&now), Verdict::Failing { failed: 6, .. }));
        now.tasks.pop();
        assert!(matches!(evaluate(&now), Verdict::Pending(_)), "two failures of its own are not a loop yet");
    }

    #[test]
    fn one_failure_without_restart_is_final() {
        let s = service(1, Some(TaskSpecRestartPolicyConditionEnum::NONE));
        let tasks = vec![task(&s, 1, TaskState::SHUTDOWN, TaskState::FAILED)];
        assert!(matches!(evaluate(&snap(vec![s], tasks)), Verdict::Failing { failed: 1, .. }));
    }

    #[test]
    fn failures_of_a_previous_spec_do_not_count() {
        let s = service(1, None);
        let mut old = service(1, None);
        old.spec.as_mut().unwrap().task_template.as_mut().unwrap().container_spec =
            Some(bollard::models::TaskSpecContainerSpec { image: Some("old:1".into()), ..Default::default() });
        let tasks = vec![
            task(&old, 1, TaskState::SHUTDOWN, TaskState::FAILED),
            task(&old, 2, TaskState::SHUTDOWN, TaskState::FAILED),
            task(&old, 3, TaskState::SHUTDOWN, TaskState::FAILED),
            task(&s, 4, TaskState::RUNNING, TaskState::RUNNING),
        ];
        assert!(matches!(evaluate(&snap(vec![s], tasks)), Verdict::Converged));
    }

    #[test]
    fn a_task_spec_without_the_engine_defaults_is_current() {
        let mut s = service(1, None);
        let mut t = task(&s, 1, TaskState::RUNNING, TaskState::RUNNING);
        let full = bollard::models::TaskSpecContainerSpec {
            image: Some("x:1".into()),
            stop_grace_period: Some(10_000_000_000),
            ..Default::default()
        };
        s.spec.as_mut().unwrap().task_template.as_mut().unwrap().container_spec = Some(full);
        t.spec.as_mut().unwrap().container_spec =
            Some(bollard::models::TaskSpecContainerSpec { image: Some("x:1".into()), ..Default::default() });
        assert!(matches!(evaluate(&snap(vec![s], vec![t])), Verdict::Converged));
    }

    #[test]
    fn a_rollback_is_reported() {
        let mut s = service(1, None);
        s.update_status = Some(bollard::models::ServiceUpdateStatus {
            state: Some(ServiceUpdateStatusStateEnum::ROLLBACK_COMPLETED),
            message: Some("rollback completed".into()),
            ..Default::default()
        });
        assert!(matches!(evaluate(&snap(vec![s], vec![])), Verdict::RolledBack { task: None, .. }));
    }

    #[test]
    fn a_task_on_a_lost_node_comes_before_its_failure() {
        let s = service(1, Some(TaskSpecRestartPolicyConditionEnum::NONE));
        let mut running = task(&s, 1, TaskState::RUNNING, TaskState::RUNNING);
        running.node_id = Some("n2".into());
        let mut ended = task(&s, 2, TaskState::SHUTDOWN, TaskState::FAILED);
        ended.node_id = Some("n2".into());
        let mut lost = snap(vec![s.clone()], vec![running.clone(), ended]);
        lost.node_names.insert("n2".into(), "worker1".into());
        assert!(matches!(evaluate(&lost), Verdict::Failing { .. }), "no node is lost yet");
        lost.lost_nodes.insert("n2".into(), "its engine does not answer".into());
        match evaluate(&lost) {
            Verdict::NodeLost { node, service, why } => {
                assert_eq!((node.as_str(), service.as_str()), ("worker1", "st_app"));
                assert!(why.contains("does not answer"), "{why}");
            }
            v => panic!("{v:?}"),
        }
        let mut down = snap(vec![s], vec![running]);
        down.down_nodes.insert("n2".into());
        assert!(matches!(evaluate(&down), Verdict::NodeLost { why, .. } if why.contains("down")));
    }

    #[test]
    fn tasks_that_ended_on_a_lost_node_do_not_matter() {
        let s = service(1, None);
        let mut old = task(&s, 1, TaskState::SHUTDOWN, TaskState::SHUTDOWN);
        old.node_id = Some("n2".into());
        let mut now = task(&s, 2, TaskState::RUNNING, TaskState::RUNNING);
        now.node_id = Some("n1".into());
        let mut snap = snap(vec![s], vec![old, now]);
        snap.lost_nodes.insert("n2".into(), "gone".into());
        assert!(matches!(evaluate(&snap), Verdict::Converged));
    }

    #[test]
    fn a_missing_image_rejection_is_recognised() {
        let s = service(1, None);
        let mut t = task(&s, 1, TaskState::SHUTDOWN, TaskState::REJECTED);
        t.status.as_mut().unwrap().err = Some("No such image: nope:1".into());
        assert!(matches!(evaluate(&snap(vec![s], vec![t])), Verdict::ImageMissing { .. }));
    }
}
