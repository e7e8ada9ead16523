//! Errors that stop a run before or around its tiers, each already classed: bad input from the
//! user (exit 2, nothing deployed) or an infrastructure error.

/// Why a run could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The recipe source, ref or options are unusable; nothing was deployed.
    #[error("{0}")]
    Input(String),
    /// The machine, Docker engine or CI failed.
    #[error("{0}")]
    Infra(String),
}
