//! The crate's typed errors, and which side is at fault for each: the recipe under test
//! ([`Fault::Recipe`], a test *failure*) or the CI and its machine ([`Fault::Infrastructure`], a
//! test *error*). Every variant's `Display` is one line naming the service and the cause.

use std::time::Duration;

/// Who is to blame for an [`Error`]; decided once, here, from the variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The recipe (its compose document, images' behaviour, healthchecks...) is at fault.
    Recipe,
    /// The CI, the Docker engine or the machine is at fault; the recipe was not really tested.
    Infrastructure,
}

/// A service that had not converged when the clock ran out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingService {
    /// Full service name (`<stack>_<service>`).
    pub service: String,
    /// Running tasks / desired tasks, e.g. `0/1`.
    pub replicas: String,
    /// State of the newest task (`starting`, `pending`...), with its message or error.
    pub state: String,
}

/// Something of a run still present after teardown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leftover {
    /// `service`, `container`, `network`, `config`, `secret` or `volume`.
    pub kind: &'static str,
    /// The object's name (or id when it has no name).
    pub name: String,
}

impl std::fmt::Display for Leftover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.kind, self.name)
    }
}

/// Everything that can go wrong talking to the swarm.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The engine answered an API call with an error, or could not be reached.
    #[error("docker engine: {context}: {source}")]
    Docker {
        /// What we were doing.
        context: String,
        /// bollard's error.
        #[source]
        source: bollard::errors::Error,
    },
    /// A local file or process operation failed (writing the compose file, spawning `docker`).
    #[error("{context}: {source}")]
    Io {
        /// What we were doing.
        context: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The compose document handed to us is not shaped like one (not a mapping, bad `ports`...).
    #[error("compose document: {0}")]
    InvalidDocument(String),
    /// `docker stack deploy` refused the document (invalid compose, unknown network...).
    #[error("docker stack deploy {stack} failed: {message}")]
    DeployRejected {
        /// Stack name.
        stack: String,
        /// The CLI's error lines joined on one line (warnings left out).
        message: String,
        /// The CLI's whole stderr.
        stderr: String,
    },
    /// `docker stack deploy` could not talk to the engine.
    #[error("docker stack deploy {stack} could not reach the engine: {message}")]
    DeployUnavailable {
        /// Stack name.
        stack: String,
        /// The CLI's stderr.
        message: String,
    },
    /// Images the services need are not present locally (checked before the clock starts).
    #[error("images missing locally: {}", .missing.iter().map(|(s, i)| format!("{s} needs {i}")).collect::<Vec<_>>().join(", "))]
    ImagesMissing {
        /// (service, image) pairs.
        missing: Vec<(String, String)>,
    },
    /// An image could not be pulled from its registry (D8), after the retries for transient
    /// failures.
    #[error("image {image}: {reason} (after {attempts} attempt{}); the registry answered: {answer}",
        if *.attempts == 1 { "" } else { "s" })]
    Pull {
        /// The image reference as the recipe names it.
        image: String,
        /// What went wrong.
        reason: crate::pull::PullFailure,
        /// The registry's answer as the engine relayed it (`manifest unknown`, `toomanyrequests`...).
        answer: String,
        /// How many attempts were made.
        attempts: u32,
    },
    /// A task was rejected by the engine because its image does not exist on the node.
    #[error("service {service}: image missing on the node: {task_error}")]
    ImageMissingAtRuntime {
        /// Full service name.
        service: String,
        /// The task's error (`No such image: ...`).
        task_error: String,
    },
    /// A service's tasks keep failing, or one failed and the restart policy will not retry.
    #[error("service {service}: task failing ({failed_tasks} failed), exit code {}, {task_error}; last log: {}",
        .exit_code.map_or("unknown".to_string(), |c| c.to_string()),
        .last_log_lines.last().map_or("(no output)", String::as_str))]
    TaskFailing {
        /// Full service name.
        service: String,
        /// Exit code of the newest failed task's container, if it ran.
        exit_code: Option<i64>,
        /// The task's error message (`task: non-zero exit (3)`...).
        task_error: String,
        /// The last lines the service printed (stdout and stderr, in order).
        last_log_lines: Vec<String>,
        /// How many failed or ended tasks of the current service spec were seen.
        failed_tasks: usize,
    },
    /// Swarm rolled back (or paused) an update of the service, because of a task that failed.
    #[error("service {service}: update {state}: {message}; exit code {}; last log: {}",
        .exit_code.map_or("unknown".to_string(), |c| c.to_string()),
        .last_log_lines.last().map_or("(no output)", String::as_str))]
    RolledBack {
        /// Full service name.
        service: String,
        /// `rollback_started`, `rollback_completed`, `rollback_paused` or `paused`.
        state: String,
        /// Swarm's update status message.
        message: String,
        /// Exit code of the failed task's container, if it ran.
        exit_code: Option<i64>,
        /// The last lines the failed task (else the service) printed.
        last_log_lines: Vec<String>,
    },
    /// The stack did not converge in time.
    #[error("not converged after {}s: {}", .after.as_secs(),
        .pending.iter().map(|p| format!("{} {} ({})", p.service, p.replicas, p.state)).collect::<Vec<_>>().join("; "))]
    Timeout {
        /// How long we waited.
        after: Duration,
        /// Services that were not converged.
        pending: Vec<PendingService>,
    },
    /// The stack's containers did not go away in time during teardown.
    #[error("teardown of {stack} timed out after {}s; still present: {}", .after.as_secs(), .remaining.join(", "))]
    TeardownTimeout {
        /// Stack name.
        stack: String,
        /// How long we waited.
        after: Duration,
        /// Containers (or other objects) still present.
        remaining: Vec<String>,
    },
    /// Objects of the run remain after teardown.
    #[error("run {run_id}: left behind after teardown: {}", .leftovers.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))]
    Residual {
        /// Run id.
        run_id: String,
        /// What is left.
        leftovers: Vec<Leftover>,
    },
    /// A network the apps must join exists but cannot serve (not a swarm overlay).
    #[error("network {name}: {message}")]
    InvalidNetwork {
        /// The network's name.
        name: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// No running task of the service to exec into or read from.
    #[error("service {service}: no running task")]
    NoRunningTask {
        /// Full service name.
        service: String,
    },
    /// A configured node host is not usable: not a node of this swarm, or the connected engine
    /// is not a manager.
    #[error("node host {host}: {problem}")]
    NodeHost {
        /// The Docker host as configured.
        host: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A node that may be given tasks (or holds one) has no engine cc-ci can reach, so its
    /// containers and volumes could not be exec'd into, backed up or cleaned up.
    #[error("node {node} ({id}) can run tasks of the swarm, but cc-ci has no engine endpoint for it{}: add its Docker host to the node hosts (CCCI_NODE_HOSTS, or node_hosts in the server's config), or drain it (docker node update --availability drain {node})",
        if .unreachable.is_empty() { String::new() } else {
            format!(" (configured hosts that did not answer: {})",
                .unreachable.iter().map(|u| format!("{}: {}", u.host, u.error)).collect::<Vec<_>>().join("; "))
        })]
    NoNodeEndpoint {
        /// The node's hostname.
        node: String,
        /// Its swarm node id.
        id: String,
        /// Configured node hosts that did not answer (one of them may be this node's).
        unreachable: Vec<crate::nodes::UnreachableHost>,
    },
    /// A node running tasks of the stack was lost mid-run: its engine stopped answering, or the
    /// swarm reports it down.
    #[error("node {node} was lost while it ran {service}: {why}")]
    NodeLost {
        /// The node's hostname.
        node: String,
        /// A service of the stack with a task on it.
        service: String,
        /// How the loss showed (`its engine at ... does not answer: ...`, `the swarm reports it down`).
        why: String,
    },
    /// Some nodes' engines did not answer, so what a run left there could not be removed or
    /// checked; the janitor removes it once they are back.
    #[error("{what}: nodes that did not answer, whose containers and volumes were not checked: {}; the janitor removes what is left there once they answer again", .nodes.join("; "))]
    NodesUnreachable {
        /// What could not be completed (`run <id>: teardown`).
        what: String,
        /// The nodes, with why.
        nodes: Vec<String>,
    },
    /// A volume exists on several nodes and no running container uses it, so which one holds the
    /// data cannot be told (a local volume does not follow a task to another node).
    #[error("volume {volume} exists on nodes {} and no running container uses it: cannot tell which holds the data (pin the service to one node with a placement constraint)", .nodes.join(", "))]
    VolumeOnManyNodes {
        /// The volume's name.
        volume: String,
        /// The nodes that have it.
        nodes: Vec<String>,
    },
    /// Something cc-ci does not support on a swarm of several nodes yet.
    #[error("{0} is not supported on a multi-node swarm yet")]
    NotOnMultiNode(String),
    /// The engine or its CLI answered something cc-ci cannot use (`docker system df` failed, no
    /// data root in `docker info`).
    #[error("docker engine: {context}: {message}")]
    EngineAnswer {
        /// What we were doing.
        context: String,
        /// What was wrong with the answer.
        message: String,
    },
}

impl Error {
    /// Whether the recipe or the infrastructure is to blame.
    pub fn fault(&self) -> Fault {
        match self {
            Error::InvalidDocument(_)
            | Error::DeployRejected { .. }
            | Error::TaskFailing { .. }
            | Error::RolledBack { .. }
            | Error::Timeout { .. }
            | Error::NoRunningTask { .. } => Fault::Recipe,
            Error::Docker { .. }
            | Error::Io { .. }
            | Error::DeployUnavailable { .. }
            | Error::ImagesMissing { .. }
            | Error::Pull { .. }
            | Error::ImageMissingAtRuntime { .. }
            | Error::InvalidNetwork { .. }
            | Error::TeardownTimeout { .. }
            | Error::Residual { .. }
            | Error::NodeHost { .. }
            | Error::NoNodeEndpoint { .. }
            | Error::NodeLost { .. }
            | Error::NodesUnreachable { .. }
            | Error::VolumeOnManyNodes { .. }
            | Error::NotOnMultiNode(_)
            | Error::EngineAnswer { .. } => Fault::Infrastructure,
        }
    }

    /// Shorthand for [`Error::fault`] `== Fault::Infrastructure`.
    pub fn is_infrastructure(&self) -> bool {
        self.fault() == Fault::Infrastructure
    }

    pub(crate) fn docker(context: impl Into<String>) -> impl FnOnce(bollard::errors::Error) -> Error {
        let context = context.into();
        move |source| Error::Docker { context, source }
    }

    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let context = context.into();
        move |source| Error::Io { context, source }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// True when bollard's error is the engine saying "404 not found" (the object is already gone).
pub(crate) fn is_not_found(e: &bollard::errors::Error) -> bool {
    matches!(e, bollard::errors::Error::DockerResponseServerError { status_code: 404, .. })
}
