//! Diagnostics for failure artifacts: a `docker service ps`-like task list per service, and the
//! last lines each service (or container) printed.

use bollard::container::LogOutput;
use bollard::query_parameters::LogsOptions;
use futures_util::{Stream, StreamExt};

use crate::error::{Error, Result};
use crate::state::service_name;
use crate::Swarm;

/// One task of a service, as `docker service ps --no-trunc` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskInfo {
    /// Full service name.
    pub service: String,
    /// Task id.
    pub id: String,
    /// Replica slot (0 for global services).
    pub slot: i64,
    /// Node id the task was assigned to.
    pub node: String,
    /// That node's hostname (empty when the swarm does not know it).
    pub node_name: String,
    /// Desired state (`running`, `shutdown`...).
    pub desired_state: String,
    /// Current state.
    pub state: String,
    /// Swarm's status message.
    pub message: String,
    /// The task's error, if any.
    pub error: String,
    /// Container exit code, if it exited.
    pub exit_code: Option<i64>,
    /// Container id, if one was created.
    pub container_id: String,
    /// When the task was created (RFC 3339).
    pub created_at: String,
    /// When its status last changed (RFC 3339).
    pub status_at: String,
}

impl Swarm {
    /// Every task (history included) of every service of the stack, by service then newest first.
    pub async fn tasks(&self, stack: &str) -> Result<Vec<TaskInfo>> {
        let snap = self.snapshot(stack).await?;
        let mut out: Vec<TaskInfo> = snap
            .tasks
            .iter()
            .map(|t| {
                let service = snap.services.iter().find(|s| s.id == t.service_id).map(service_name).unwrap_or_default();
                let status = t.status.clone().unwrap_or_default();
                let cs = status.container_status.clone().unwrap_or_default();
                TaskInfo {
                    service,
                    id: t.id.clone().unwrap_or_default(),
                    slot: t.slot.unwrap_or(0),
                    node: t.node_id.clone().unwrap_or_default(),
                    node_name: t.node_id.as_ref().and_then(|n| snap.node_names.get(n)).cloned().unwrap_or_default(),
                    desired_state: t.desired_state.map(|s| s.to_string()).unwrap_or_default(),
                    state: status.state.map(|s| s.to_string()).unwrap_or_default(),
                    message: status.message.unwrap_or_default(),
                    error: status.err.unwrap_or_default(),
                    exit_code: cs.exit_code,
                    container_id: cs.container_id.unwrap_or_default(),
                    created_at: t.created_at.clone().unwrap_or_default(),
                    status_at: status.timestamp.unwrap_or_default(),
                }
            })
            .collect();
        out.sort_by(|a, b| a.service.cmp(&b.service).then(b.status_at.cmp(&a.status_at)));
        Ok(out)
    }

    /// The last `tail` lines a service printed (stdout and stderr, all its tasks).
    pub async fn service_logs(&self, service: &str, tail: usize) -> Result<Vec<String>> {
        let stream = self.docker.service_logs(
            service,
            Some(LogsOptions { stdout: true, stderr: true, tail: tail.to_string(), ..Default::default() }),
        );
        collect_lines(stream, tail).await.map_err(Error::docker(format!("reading logs of {service}")))
    }

    /// The last `tail` lines a container of the connected engine printed (stdout and stderr).
    pub async fn container_logs(&self, container: &str, tail: usize) -> Result<Vec<String>> {
        container_logs_on(&self.docker, container, tail).await
    }

    /// The last `tail` log lines of every service of the stack, by service name.
    pub async fn stack_logs(&self, stack: &str, tail: usize) -> Result<Vec<(String, Vec<String>)>> {
        let snap = self.snapshot(stack).await?;
        let mut out = Vec::new();
        for service in &snap.services {
            let name = service_name(service);
            let lines = self.service_logs(&name, tail).await?;
            out.push((name, lines));
        }
        out.sort();
        Ok(out)
    }
}

/// The last `tail` lines container `container` of engine `docker` printed (stdout and stderr).
pub(crate) async fn container_logs_on(docker: &bollard::Docker, container: &str, tail: usize) -> Result<Vec<String>> {
    let stream = docker.logs(
        container,
        Some(LogsOptions { stdout: true, stderr: true, tail: tail.to_string(), ..Default::default() }),
    );
    collect_lines(stream, tail).await.map_err(Error::docker(format!("reading logs of container {container}")))
}

/// Gather a log stream into its last `tail` lines (lossy UTF-8, no trailing newline).
async fn collect_lines(
    stream: impl Stream<Item = std::result::Result<LogOutput, bollard::errors::Error>>,
    tail: usize,
) -> std::result::Result<Vec<String>, bollard::errors::Error> {
    let mut stream = std::pin::pin!(stream);
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        bytes.extend_from_slice(&chunk?.into_bytes());
    }
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    let skip = lines.len().saturating_sub(tail);
    Ok(lines.into_iter().skip(skip).collect())
}
