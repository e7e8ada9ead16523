//! Run a command inside a running task of a service (`docker exec`), collecting its exit code,
//! stdout and stderr. Used by checks, backup hooks and recipe tests. The exec goes to the engine
//! of the node the task runs on ([`crate::nodes`]).

use std::collections::HashMap;

use bollard::container::LogOutput;
use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::{ExecConfig, TaskState};
use bollard::query_parameters::ListTasksOptions;
use futures_util::StreamExt;

use crate::error::{Error, Result};
use crate::nodes::NodeEngine;
use crate::Swarm;

/// The outcome of an exec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    /// The command's exit code.
    pub exit_code: i64,
    /// What it wrote to stdout.
    pub stdout: Vec<u8>,
    /// What it wrote to stderr.
    pub stderr: Vec<u8>,
}

/// The container of a running task, and the engine of the node it runs on.
#[derive(Debug, Clone)]
pub struct TaskContainer {
    /// The container's id.
    pub id: String,
    /// Its node's engine.
    pub node: NodeEngine,
}

impl Swarm {
    /// The container of a running task of `<stack>_<service>` ([`Error::NoRunningTask`] if there
    /// is none) with its node's engine ([`Error::NoNodeEndpoint`] if cc-ci has none for it).
    pub async fn running_container(&self, stack: &str, service: &str) -> Result<TaskContainer> {
        let full = format!("{stack}_{service}");
        let tasks = self
            .docker
            .list_tasks(Some(ListTasksOptions {
                filters: Some(HashMap::from([
                    ("service".to_string(), vec![full.clone()]),
                    ("desired-state".to_string(), vec!["running".to_string()]),
                ])),
            }))
            .await
            .map_err(Error::docker(format!("listing tasks of {full}")))?;
        let (node, id) = tasks
            .into_iter()
            .filter(|t| t.status.as_ref().and_then(|s| s.state) == Some(TaskState::RUNNING))
            .filter_map(|t| Some((t.node_id.unwrap_or_default(), t.status?.container_status?.container_id?)))
            .find(|(_, id)| !id.is_empty())
            .ok_or(Error::NoRunningTask { service: full })?;
        Ok(TaskContainer { id, node: self.engine_of(&node).await?.clone() })
    }

    /// Run `cmd` in a running task of `<stack>_<service>` and wait for it to finish.
    pub async fn exec(&self, stack: &str, service: &str, cmd: &[&str]) -> Result<ExecOutput> {
        let container = self.running_container(stack, service).await?;
        exec_on(&container.node.docker, &container.id, cmd).await
    }

    /// Run `cmd` in container `container` of the connected engine and wait for it to finish.
    pub async fn exec_in(&self, container: &str, cmd: &[&str]) -> Result<ExecOutput> {
        exec_on(&self.docker, container, cmd).await
    }
}

/// The most bytes of each output stream an exec keeps; the rest is read and dropped. Output is
/// held in memory, and pull-request code may exec anything into its app (`ccci run-exec`).
pub const MAX_EXEC_OUTPUT: usize = 64 << 20;

/// Append what of `bytes` fits under [`MAX_EXEC_OUTPUT`].
fn keep(into: &mut Vec<u8>, bytes: &[u8]) {
    let room = MAX_EXEC_OUTPUT.saturating_sub(into.len());
    into.extend_from_slice(&bytes[..bytes.len().min(room)]);
}

/// Run `cmd` in container `container` of engine `docker` and wait for it to finish.
async fn exec_on(docker: &bollard::Docker, container: &str, cmd: &[&str]) -> Result<ExecOutput> {
    let ctx = || format!("exec {cmd:?} in {container}");
    let created = docker
        .create_exec(
            container,
            ExecConfig {
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
                ..Default::default()
            },
        )
        .await
        .map_err(Error::docker(ctx()))?;
    let mut out = ExecOutput { exit_code: -1, stdout: Vec::new(), stderr: Vec::new() };
    let started = docker.start_exec(&created.id, None::<StartExecOptions>).await.map_err(Error::docker(ctx()))?;
    if let StartExecResults::Attached { mut output, .. } = started {
        while let Some(chunk) = output.next().await {
            match chunk.map_err(Error::docker(ctx()))? {
                LogOutput::StdErr { message } => keep(&mut out.stderr, &message),
                LogOutput::StdOut { message } | LogOutput::Console { message } => keep(&mut out.stdout, &message),
                LogOutput::StdIn { .. } => {}
            }
        }
    }
    let inspected = docker.inspect_exec(&created.id).await.map_err(Error::docker(ctx()))?;
    out.exit_code = inspected.exit_code.unwrap_or(-1);
    Ok(out)
}

impl Swarm {
    /// The labels of service `<stack>_<service>` as its current spec has them (compose
    /// `deploy.labels`), e.g. to read the version label after an upgrade.
    pub async fn service_labels(&self, stack: &str, service: &str) -> Result<HashMap<String, String>> {
        let full = format!("{stack}_{service}");
        let inspected = self
            .docker
            .inspect_service(&full, None::<bollard::query_parameters::InspectServiceOptions>)
            .await
            .map_err(Error::docker(format!("inspecting service {full}")))?;
        Ok(inspected.spec.and_then(|s| s.labels).unwrap_or_default())
    }

    /// [`Swarm::service_labels`], or `None` when the service does not exist.
    pub async fn service_labels_if_present(
        &self,
        stack: &str,
        service: &str,
    ) -> Result<Option<HashMap<String, String>>> {
        match self.service_labels(stack, service).await {
            Ok(labels) => Ok(Some(labels)),
            Err(Error::Docker { source, .. }) if crate::error::is_not_found(&source) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_kept_up_to_the_cap() {
        let mut out = Vec::new();
        keep(&mut out, b"abc");
        keep(&mut out, &vec![b'x'; MAX_EXEC_OUTPUT]);
        keep(&mut out, b"more");
        assert_eq!(out.len(), MAX_EXEC_OUTPUT);
        assert_eq!(&out[..4], b"abcx");
    }
}
