//! The install tier: create the app's secrets, deploy with Docker's stack semantics, wait for
//! convergence from the engine's events, and prove the app serves through the proxy.

use std::time::Duration;

use swarm::deploy::Deploy;

use super::TierEnd;
use crate::context::RunContext;
use crate::result::Tier;
use crate::serving;

/// Generate, register for redaction and create every secret of the app.
async fn create_secrets(ctx: &RunContext<'_>) -> Result<(), TierEnd> {
    for spec in &ctx.app.secrets {
        let value = crate::secrets::generate(&spec.generator).ok_or_else(|| {
            TierEnd::error(format!(
                "secret {} has generate=false and no value is configured for it; per-recipe secret values are not supported yet",
                spec.key
            ))
        })?;
        ctx.log.redactor().register(&value);
        ctx.swarm
            .create_secret(ctx.run_id, &ctx.app.stack, &spec.name, value.as_bytes())
            .await?;
        ctx.log.step(
            Some(Tier::Install),
            &format!(
                "created secret {} ({})",
                spec.name,
                describe(&spec.generator)
            ),
        );
    }
    Ok(())
}

fn describe(g: &recipe::secrets::Generator) -> String {
    match g {
        recipe::secrets::Generator::Password { length, charset } => {
            format!("{length} characters, {charset:?}").to_lowercase()
        }
        recipe::secrets::Generator::Passphrase { words } => format!("passphrase of {words} words"),
        recipe::secrets::Generator::Insert => "inserted".into(),
    }
}

/// Deploy the app's document, wait for convergence, check it serves. Returns what it proved.
pub async fn run(ctx: &RunContext<'_>) -> Result<String, TierEnd> {
    create_secrets(ctx).await?;
    let deploy = Deploy {
        stack: &ctx.app.stack,
        run_id: ctx.run_id,
        document: &ctx.app.doc,
        workdir: ctx.workdir,
        dnsrr: ctx.options.dnsrr,
    };
    ctx.log.step(
        Some(Tier::Install),
        &format!("deploying stack {} at {}", ctx.app.stack, ctx.app.domain),
    );
    let deployed = ctx.swarm.deploy(&deploy).await?;
    ctx.log.detail(Some(Tier::Install), &deployed.output);
    ctx.log.step(
        Some(Tier::Install),
        &format!(
            "waiting for convergence (timeout {}s)",
            ctx.timeout.as_secs()
        ),
    );
    let converged = ctx
        .swarm
        .wait_converged(&ctx.app.stack, ctx.timeout)
        .await?;
    ctx.log.step(
        Some(Tier::Install),
        &format!("converged in {:.1}s", converged.elapsed.as_secs_f64()),
    );
    let served = check_serving(ctx).await?;
    Ok(format!(
        "converged in {:.1}s; {} answered {}",
        converged.elapsed.as_secs_f64(),
        served.url,
        served.status
    ))
}

/// The serving check against the app's domain, through the proxy.
pub async fn check_serving(ctx: &RunContext<'_>) -> Result<serving::Served, TierEnd> {
    let target = serving::Target {
        domain: ctx.app.domain.clone(),
        scheme: ctx.options.scheme.clone(),
        proxy: ctx.options.proxy,
        path: "/".into(),
        expect: Vec::new(),
    };
    ctx.log
        .step(Some(Tier::Install), &format!("requesting {}", target.url()));
    let patience = ctx.timeout.min(Duration::from_secs(60));
    let served = serving::check(&target, patience).await.map_err(|e| {
        if e.is_infrastructure() {
            TierEnd::error(e.to_string())
        } else {
            TierEnd::fail(e.to_string())
        }
    })?;
    ctx.log.step(
        Some(Tier::Install),
        &format!(
            "{} answered {} after {} attempt(s)",
            served.url, served.status, served.attempts
        ),
    );
    Ok(served)
}
