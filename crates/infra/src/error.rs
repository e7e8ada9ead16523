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
    /// A git command failed while building the proxy recipe's repository.
    #[error("proxy recipe repository: {0}")]
    Git(#[from] recipe::RecipeError),
    /// An operator-provided certificate or key is not usable; the message says why.
    #[error("{}: {message}", .path.display())]
    BadCertificate {
        /// The certificate or key file.
        path: PathBuf,
        /// What is wrong with it and how to fix it.
        message: String,
    },
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
