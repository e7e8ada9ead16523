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

pub mod compose;
pub mod converge;
pub mod deploy;
pub mod diagnostics;
pub mod error;
mod events;
pub mod exec;
pub mod images;
pub mod janitor;
pub mod labels;
mod objects;
pub mod process;
pub mod pull;
pub mod registry_auth;
pub mod secrets;
mod state;
pub mod teardown;
pub mod volumes;

pub use error::{Error, Fault, Leftover, PendingService, Result};
pub use pull::{PullEvent, PullFailure, PullOptions, PullPolicy, PullReport};
pub use registry_auth::RegistryAuth;

use bollard::Docker;

/// A connection to the Docker engine (cheap to clone).
#[derive(Clone, Debug)]
pub struct Swarm {
    docker: Docker,
    cli: std::path::PathBuf,
}

impl Swarm {
    /// Connect with Docker's local defaults (`DOCKER_HOST` or the unix socket) and negotiate the
    /// API version with the engine. The `docker` CLI used for stack deploy is looked up on PATH.
    pub async fn connect() -> Result<Self> {
        let docker = Docker::connect_with_local_defaults()
            .map_err(Error::docker("connecting"))?
            .negotiate_version()
            .await
            .map_err(Error::docker("negotiating the API version"))?;
        Ok(Swarm { docker, cli: "docker".into() })
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
