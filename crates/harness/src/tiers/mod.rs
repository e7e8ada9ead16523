//! The tiers a run carries one deployment through, and how a tier's end is classed.

pub mod backup;
pub mod custom;
pub mod install;
pub mod restore;
pub mod steps;
pub mod upgrade;

use std::time::Instant;

use crate::context::RunContext;
use crate::result::{Outcome, Tier, TierResult};

/// Whether this version of cc-ci can carry out `tier`.
pub fn is_available(tier: Tier) -> bool {
    matches!(tier, Tier::Install | Tier::Custom | Tier::Upgrade | Tier::Backup | Tier::Restore)
}

/// Carry out `tier`; returns what it proved.
pub async fn run(tier: Tier, ctx: &RunContext<'_>) -> Result<String, TierEnd> {
    match tier {
        Tier::Install => install::run(ctx).await,
        Tier::Custom => custom::run(ctx).await,
        Tier::Upgrade => upgrade::run(ctx).await,
        Tier::Backup => backup::run(ctx).await,
        Tier::Restore => restore::run(ctx).await,
    }
}

/// How a tier ended when it did not pass: whose fault, and the one-line reason.
#[derive(Debug, Clone)]
pub struct TierEnd {
    pub outcome: Outcome,
    pub reason: String,
}

impl TierEnd {
    pub fn fail(reason: impl Into<String>) -> Self {
        Self { outcome: Outcome::Fail, reason: reason.into() }
    }
    pub fn error(reason: impl Into<String>) -> Self {
        Self { outcome: Outcome::Error, reason: reason.into() }
    }
}

impl From<swarm::Error> for TierEnd {
    fn from(e: swarm::Error) -> Self {
        if e.is_infrastructure() {
            TierEnd::error(e.to_string())
        } else {
            TierEnd::fail(e.to_string())
        }
    }
}

/// The result of `tier` from what its body returned and when it started.
pub fn finish(tier: Tier, started: Instant, body: Result<String, TierEnd>) -> TierResult {
    match body {
        Ok(proved) => TierResult::new(tier, Outcome::Pass, proved, started.elapsed()),
        Err(end) => TierResult::new(tier, end.outcome, end.reason, started.elapsed()),
    }
}
