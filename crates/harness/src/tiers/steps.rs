//! Steps several tiers share: creating an app's secrets (each name once per run), deploying an
//! app's document and waiting for convergence, and the serving check through the proxy.

use std::time::Duration;

use recipe::secrets::Generator;
use swarm::converge::Converged;
use swarm::deploy::Deploy;

use super::TierEnd;
use crate::app::App;
use crate::context::RunContext;
use crate::result::Tier;
use crate::serving;

/// Generate, register for redaction and create every secret of `app` not created yet in this run
/// (an upgrade that bumps a secret's version creates only the new one).
pub async fn ensure_secrets(ctx: &RunContext<'_>, app: &App, tier: Tier) -> Result<(), TierEnd> {
    for spec in &app.secrets {
        if ctx.state.lock().unwrap_or_else(|e| e.into_inner()).secrets_created.contains(&spec.name) {
            continue;
        }
        let value = crate::secrets::generate(&spec.generator).ok_or_else(|| {
            TierEnd::error(format!(
                "secret {} has generate=false and no value is configured for it; per-recipe secret values are not supported yet",
                spec.key
            ))
        })?;
        ctx.log.redactor().register(&value);
        ctx.swarm.create_secret(ctx.run_id, &app.stack, &spec.name, value.as_bytes()).await?;
        ctx.state.lock().unwrap_or_else(|e| e.into_inner()).secrets_created.push(spec.name.clone());
        ctx.log.step(Some(tier), &format!("created secret {} ({})", spec.name, describe(&spec.generator)));
    }
    Ok(())
}

fn describe(g: &Generator) -> String {
    match g {
        Generator::Password { length, charset } => format!("{length} characters, {charset:?}").to_lowercase(),
        Generator::Passphrase { words } => format!("passphrase of {words} words"),
        Generator::Insert => "inserted".into(),
    }
}

/// Deploy (or update in place) `app` and wait until it has converged.
pub async fn deploy_and_converge(ctx: &RunContext<'_>, app: &App, tier: Tier) -> Result<Converged, TierEnd> {
    ensure_secrets(ctx, app, tier).await?;
    let deploy = Deploy {
        stack: &app.stack,
        run_id: ctx.run_id,
        document: &app.doc,
        workdir: ctx.workdir,
        dnsrr: ctx.options.dnsrr,
    };
    ctx.log.step(Some(tier), &format!("deploying stack {} at {}", app.stack, app.domain));
    let deployed = ctx.swarm.deploy(&deploy).await?;
    ctx.log.detail(Some(tier), &deployed.output);
    ctx.log.step(Some(tier), &format!("waiting for convergence (timeout {}s)", ctx.timeout.as_secs()));
    let converged = ctx.swarm.wait_converged(&app.stack, ctx.timeout).await?;
    ctx.log.step(Some(tier), &format!("converged in {:.1}s", converged.elapsed.as_secs_f64()));
    Ok(converged)
}

/// The serving check against the app's domain, through the proxy.
pub async fn check_serving(ctx: &RunContext<'_>, tier: Tier) -> Result<serving::Served, TierEnd> {
    let target = serving::Target {
        domain: ctx.app.domain.clone(),
        scheme: ctx.options.scheme.clone(),
        proxy: ctx.options.proxy,
        path: "/".into(),
        expect: Vec::new(),
    };
    ctx.log.step(Some(tier), &format!("requesting {}", target.url()));
    let patience = ctx.timeout.min(Duration::from_secs(60));
    let served = serving::check(&target, patience).await.map_err(|e| {
        if e.is_infrastructure() {
            TierEnd::error(e.to_string())
        } else {
            TierEnd::fail(e.to_string())
        }
    })?;
    ctx.log
        .step(Some(tier), &format!("{} answered {} after {} attempt(s)", served.url, served.status, served.attempts));
    Ok(served)
}
