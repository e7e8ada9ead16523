//! The crate's error type: one line saying what failed and what to do about it.

use std::path::PathBuf;

/// Everything that can go wrong preparing infrastructure.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// An infrastructure app's recipe repository or files: a git command failed, or the recipe
    /// does not load.
    #[error("recipe: {0}")]
    Git(#[from] recipe::RecipeError),
    /// An infrastructure app's recipe cannot be deployed as configured (no such release, no
    /// `app` service...).
    #[error("recipe: {0}")]
    Recipe(String),
    /// What was asked of `ccci infra` cannot be done (an unknown app, `--to` without one, no such
    /// release); the message says what to ask instead.
    #[error("{0}")]
    Request(String),
    /// No Docker engine answers.
    #[error("cannot reach the Docker engine ({0}); is Docker installed and dockerd running? (Debian: apt-get install docker.io)")]
    NoDocker(String),
    /// This node cannot deploy stacks (a worker, a locked or broken swarm).
    #[error("swarm: {0}")]
    Swarm(String),
    /// The engine refused or failed an operation.
    #[error("{0}")]
    Engine(#[from] swarm::Error),
    /// The proxy was deployed but does not answer as it must.
    #[error("the proxy does not serve: {0}")]
    ProxyNotServing(String),
    /// An infrastructure app was deployed but does not pass its health check.
    #[error("not healthy: {0}")]
    Unhealthy(String),
    /// A snapshot of an app's volumes could not be taken or restored.
    #[error("{0}")]
    Snapshot(String),
    /// An operator-provided certificate or key is not usable; the message says why.
    #[error("{}: {message}", .path.display())]
    BadCertificate {
        /// The certificate or key file.
        path: PathBuf,
        /// What is wrong with it and how to fix it.
        message: String,
    },
    /// The runner user cannot be made fit for pull-request code.
    #[error("runner user: {0}")]
    RunnerUser(String),
    /// Generating a key or certificate failed.
    #[error("generating a certificate: {0}")]
    Generate(#[from] rcgen::Error),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
