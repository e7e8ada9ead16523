//! The order of a run's tiers (SPEC T1, T7): the tiers asked for, in order; a tier after a failed
//! or errored one is skipped saying which, a tier the plan skips is skipped with the plan's
//! reason, and every other tier runs with its per-recipe hooks around it (T4): before install the
//! run's cold dependencies are deployed and `pre_install` runs on the CI host; `post_install`
//! after install passed; `pre_upgrade`, `pre_backup`, `pre_restore` before their tier. Each
//! tier's end becomes a [`TierResult`] told as an event.

use std::time::Instant;

use recipe::plan::Decision;

use crate::context::RunContext;
use crate::events::Event;
use crate::outcome::TierEnd;
use crate::report::Events;
use crate::result::{Outcome, Tier, TierResult};
use crate::tiers::{self, TierOutput};

/// Carry out the asked tiers in order; returns their results (also told as events).
pub async fn run_tiers(ctx: &RunContext<'_>, decisions: &[(Tier, Decision)]) -> Vec<TierResult> {
    let mut results: Vec<TierResult> = Vec::new();
    for &tier in &ctx.options.tiers {
        let earlier_failed = results.iter().find(|r| matches!(r.outcome, Outcome::Fail | Outcome::Error));
        let planned = decisions.iter().find(|(t, _)| *t == tier).map(|(_, d)| d);
        let result = if let Some(prev) = earlier_failed {
            TierResult::skipped(tier, format!("after {} {}", prev.tier.name(), prev.outcome.name()))
        } else if let Some(Decision::Skipped { reason }) = planned {
            TierResult::skipped(tier, reason.clone())
        } else {
            ctx.events.emit(Event::TierStarted { tier });
            let started = Instant::now();
            let output = around(tier, ctx).await;
            let (outcome, reason) = match output.verdict {
                Ok(proved) => (Outcome::Pass, proved),
                Err(end) => (end.outcome, end.reason),
            };
            TierResult { cases: output.cases, ..TierResult::new(tier, outcome, reason, started.elapsed()) }
        };
        results.push(finish(ctx.events, result));
    }
    results
}

/// When the run could not be prepared: install ends with `end`, every other asked tier is
/// skipped after it.
pub fn unprepared(events: &Events, tiers: &[Tier], end: TierEnd) -> Vec<TierResult> {
    let mut results = vec![finish(events, TierResult::new(Tier::Install, end.outcome, end.reason, Default::default()))];
    let after = format!("after install {}", end.outcome.name());
    for &tier in tiers.iter().filter(|t| **t != Tier::Install) {
        results.push(finish(events, TierResult::skipped(tier, after.clone())));
    }
    results
}

/// Tell the tier's end (sinks see it redacted).
fn finish(events: &Events, result: TierResult) -> TierResult {
    events.emit(Event::TierFinished { result: result.clone() });
    result
}

/// `tier` with its per-recipe hooks (and, for install, the dependencies first).
async fn around(tier: Tier, ctx: &RunContext<'_>) -> TierOutput {
    let hooks = &ctx.config.hooks;
    let before = match tier {
        Tier::Install => {
            if let Err(end) = crate::dependencies::deploy_all(ctx).await {
                return Err(end).into();
            }
            hooks.pre_install.as_ref().map(|h| ("pre_install", h))
        }
        Tier::Upgrade => hooks.pre_upgrade.as_ref().map(|h| ("pre_upgrade", h)),
        Tier::Backup => hooks.pre_backup.as_ref().map(|h| ("pre_backup", h)),
        Tier::Restore => hooks.pre_restore.as_ref().map(|h| ("pre_restore", h)),
        Tier::Custom => None,
    };
    if let Some((name, hook)) = before {
        if let Err(end) = crate::hooks::run(ctx, ctx.install_app(), tier, name, hook, None).await {
            return Err(end).into();
        }
    }
    let mut output = tiers::run(tier, ctx).await;
    if let (Tier::Install, Some(hook), Ok(_)) = (tier, &hooks.post_install, &output.verdict) {
        if let Err(end) = crate::hooks::run(ctx, ctx.install_app(), tier, "post_install", hook, None).await {
            output.verdict = Err(end);
        }
    }
    output
}
