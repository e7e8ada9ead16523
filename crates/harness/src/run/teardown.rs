//! The end of a run's deployment: teardown with the residual check (SPEC D5), or, for a failed run
//! with keep-on-failure (T9), leaving it deployed with a TTL the janitor honours.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::context::RunContext;
use crate::events::Event;

/// Remove the run's stack and everything labelled with the run, then prove nothing is left.
/// A failure is told as [`Event::TeardownFailed`].
pub async fn teardown(ctx: &RunContext<'_>) {
    let stack = &ctx.app.stack;
    ctx.events.emit(Event::TeardownStarted { stack: stack.clone() });
    let done = async {
        // The run's data is discarded: no container needs its stop grace period.
        let mode = swarm::teardown::TeardownMode::Throwaway;
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
