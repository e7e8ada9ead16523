//! The end of a run's deployment: teardown with the residual check (SPEC D5), or, for a failed run
//! with keep-on-failure (T9), leaving it deployed with a TTL the janitor honours.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use swarm::teardown::TeardownMode;

use crate::context::RunContext;
use crate::events::Event;

/// Remove the run's stack and everything labelled with the run, then prove nothing is left. The
/// run's data is discarded, so no container needs its stop grace period.
pub async fn teardown(ctx: &RunContext<'_>) {
    teardown_as(ctx, TeardownMode::Throwaway).await
}

/// [`teardown`] in `mode` (graceful where data still matters: a canonical copy's containers).
/// A failure is told as [`Event::TeardownFailed`]. A canonical copy's own volumes and secrets
/// are never removed (they carry no run or stack label).
pub async fn teardown_as(ctx: &RunContext<'_>, mode: TeardownMode) {
    let stack = &ctx.app.stack;
    ctx.events.emit(Event::TeardownStarted { stack: stack.clone() });
    let done = async {
        let torn = ctx.engine.teardown(stack, ctx.run_id, ctx.options.limits.teardown, mode).await?;
        ctx.engine.residual_check(ctx.run_id, Some(stack)).await?;
        Ok::<_, swarm::Error>(torn)
    };
    match done.await {
        Ok(torn) => {
            ctx.events.emit(Event::TornDown { objects: torn.removed.len(), seconds: torn.elapsed.as_secs_f64() })
        }
        Err(e) => ctx.events.emit(Event::TeardownFailed { error: e.to_string() }),
    }
}

/// Leave the run deployed for `ttl`, telling how to reach it.
pub async fn keep(ctx: &RunContext<'_>, ttl: Duration) {
    let until =
        SystemTime::now().checked_add(ttl).and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_secs());
    if let Err(e) = ctx.engine.keep_until(ctx.run_id, until).await {
        ctx.events.note(None, format!("cannot mark the run kept: {e}"));
    }
    ctx.events.emit(Event::Kept {
        domain: ctx.app.domain.clone(),
        url: format!("{}://{}", ctx.options.scheme, ctx.app.domain),
        stack: ctx.app.stack.clone(),
        ttl_seconds: ttl.as_secs(),
    });
}
