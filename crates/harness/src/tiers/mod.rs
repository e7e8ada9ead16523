//! The tiers a run carries one deployment through (SPEC T1). Each takes the run's context and
//! returns what it proved, or how it ended otherwise, with the test cases it ran ([`TierOutput`]);
//! the order, the skips and the hooks around them are the run's business (`crate::run`).

pub mod backup;
pub mod custom;
pub mod install;
pub mod restore;
pub mod upgrade;

use crate::context::RunContext;
use crate::outcome::TierEnd;
use crate::result::{Case, Tier};

/// How a tier ended and the cases it ran.
#[derive(Debug, Clone, PartialEq)]
pub struct TierOutput {
    /// What it proved, or how it ended when it did not pass.
    pub verdict: Result<String, TierEnd>,
    pub cases: Vec<Case>,
}

impl From<Result<String, TierEnd>> for TierOutput {
    fn from(verdict: Result<String, TierEnd>) -> Self {
        TierOutput { verdict, cases: Vec::new() }
    }
}

/// Carry out `tier`.
pub async fn run(tier: Tier, ctx: &RunContext<'_>) -> TierOutput {
    match tier {
        Tier::Install => install::run(ctx).await.into(),
        Tier::Upgrade => upgrade::run(ctx).await.into(),
        Tier::Backup => backup::run(ctx).await.into(),
        Tier::Restore => restore::run(ctx).await.into(),
        Tier::Custom => custom::run(ctx).await,
    }
}
