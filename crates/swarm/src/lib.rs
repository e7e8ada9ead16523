//! Talks to the Docker engine: stack deploy/rm, convergence from events, secrets, volumes, exec,
//! diagnostics and the janitor, all keyed by the `cc-ci.run` label. Knows nothing about forges,
//! tiers or storage.
//!
//! Queries, events and object management go through bollard (API version negotiated, so a 20.10
//! engine speaking API 1.41 works); the deploy itself goes through `docker stack deploy` so that
//! Docker's own compose→service conversion is used.
//!
//! A run, in order:
//! 1. [`Swarm::janitor`] with the live runs (reaps dead runs' objects);
//! 2. [`Swarm::pull_images`] before the clock starts (pull policy, retries, credentials;
//!    [`Error::Pull`] and [`Error::ImagesMissing`] are infrastructure errors);
//! 3. [`Swarm::create_secret`] for each secret;
//! 4. [`Swarm::deploy`] (labels everything with the run, dnsrr if asked, escapes `$`);
//! 5. [`Swarm::wait_converged`]; on failure, [`Swarm::tasks`] and [`Swarm::stack_logs`] for the
//!    artifacts; [`Swarm::exec`] and the volume helpers for checks and backups;
//! 6. [`Swarm::teardown`] (ends with the residual check; [`Swarm::teardown_as`] with
//!    [`teardown::TeardownMode::Throwaway`] kills containers instead of waiting out their stop
//!    grace period), or [`Swarm::keep_until`] to keep a failed run around for a while.
//!
//! Every [`Error`] says whether the recipe or the infrastructure is at fault ([`Error::fault`]).

pub mod canonical;
pub mod compose;
pub mod converge;
pub mod deploy;
pub mod diagnostics;
pub mod disk;
pub mod error;
mod events;
pub mod exec;
pub mod images;
pub mod janitor;
pub mod labels;
pub mod node;
pub mod nodes;
mod objects;
pub mod process;
pub mod pull;
pub mod registry_auth;
pub mod secrets;
mod state;
pub mod teardown;
mod undeploy;
pub mod volumes;

pub use error::{Error, Fault, Leftover, PendingService, Result};
pub use pull::{PullEvent, PullFailure, PullOptions, PullPolicy, PullReport};
pub use registry_auth::RegistryAuth;

use bollard::Docker;

/// A connection to the Docker engine (cheap to clone): a swarm manager, and on a multi-node
/// swarm the engines of its other nodes too ([`nodes`]).
#[derive(Clone, Debug)]
pub struct Swarm {
    docker: Docker,
    cli: std::path::PathBuf,
    nodes: std::sync::Arc<nodes::NodeSet>,
}

impl Swarm {
    /// Connect to the engine at `DOCKER_HOST` (`unix://`, `tcp://`), else the default socket, and
    /// negotiate the API version with it; `docker stack deploy` gets the same `DOCKER_HOST`. The
    /// `docker` CLI is looked up on PATH. [`Swarm::with_node_hosts`] adds the other nodes'
    /// engines of a multi-node swarm.
    pub async fn connect() -> Result<Self> {
        let host = std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty());
        let host = host.as_deref().unwrap_or(nodes::DEFAULT_HOST);
        let docker = nodes::connect_host(host).await?;
        let me = nodes::identify(docker.clone(), host).await?;
        let nodes = std::sync::Arc::new(nodes::NodeSet { engines: vec![me], unreachable: Vec::new() });
        Ok(Swarm { docker, cli: "docker".into(), nodes })
    }

    /// [`Swarm::connect`], then [`Swarm::with_node_hosts`].
    pub async fn connect_with_nodes<S: AsRef<str>>(hosts: &[S]) -> Result<Self> {
        Self::connect().await?.with_node_hosts(hosts).await
    }

    /// Use this `docker` CLI binary for `docker stack deploy` instead of the one on PATH.
    pub fn with_cli(mut self, cli: impl Into<std::path::PathBuf>) -> Self {
        self.cli = cli.into();
        self
    }

    /// The underlying bollard client, for callers that need something this crate lacks.
    pub fn docker(&self) -> &Docker {
        &self.docker
    }
}
