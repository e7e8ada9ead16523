//! The install tier: deploy the app (the base release when an upgrade follows, else the ref under
//! test) with its secrets, wait for convergence from the engine's events, and prove it serves
//! through the proxy.

use super::steps::{check_serving, deploy_and_converge};
use super::TierEnd;
use crate::context::RunContext;
use crate::result::Tier;

/// Deploy, converge, serve. Returns what it proved.
pub async fn run(ctx: &RunContext<'_>) -> Result<String, TierEnd> {
    let app = ctx.install_app();
    if let Some(base) = ctx.base {
        ctx.log.step(Some(Tier::Install), &format!("installing the base release {} (upgrade follows)", base.version));
    }
    let converged = deploy_and_converge(ctx, app, Tier::Install).await?;
    let served = check_serving(ctx, Tier::Install).await?;
    let what = ctx.base.map_or_else(String::new, |b| format!("{} ", b.version));
    Ok(format!("{what}converged in {:.1}s; {} answered {}", converged.elapsed.as_secs_f64(), served.url, served.status))
}
