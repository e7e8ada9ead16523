//! The install tier: deploy the app (the base release when an upgrade follows, else the ref under
//! test) with its secrets, wait for convergence from the engine's events, and prove it serves
//! through the proxy.

use crate::context::RunContext;
use crate::deploy::{check_serving, deploy_and_converge};
use crate::events::Role;
use crate::outcome::TierEnd;
use crate::result::Tier;

/// Deploy, converge, serve. Returns what it proved.
pub async fn run(ctx: &RunContext<'_>) -> Result<String, TierEnd> {
    let role = ctx.base.map_or(Role::Target, |b| Role::Base { version: b.version.clone() });
    let app = ctx.install_app();
    let converged = deploy_and_converge(ctx, app, role, Tier::Install, ctx.timeout).await?;
    let served = check_serving(&ctx.deployer(), app, ctx.config.ready.as_ref(), Tier::Install, ctx.timeout).await?;
    let what = ctx.base.map_or_else(String::new, |b| format!("{} ", b.version));
    Ok(format!("{what}converged in {:.1}s; {} answered {}", converged.as_secs_f64(), served.url, served.status))
}
