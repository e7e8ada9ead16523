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
        let configured = ctx.state.lock().unwrap_or_else(|e| e.into_inner()).config.secret_value(&spec.key);
        let value = match configured {
            Some(v) => v.map_err(|e| TierEnd::error(e.0))?,
            None => crate::secrets::generate(&spec.generator).ok_or_else(|| {
                TierEnd::fail(format!(
                    "secret {} has generate=false and the per-recipe config gives no value for it ([secrets.{}] with env or file)",
                    spec.key, spec.key
                ))
            })?,
        };
        ctx.log.redactor().register(&value);
        let key = if app.stack == ctx.app.stack { spec.key.clone() } else { format!("{}/{}", app.stack, spec.key) };
        crate::recipe_tests::record_secret(ctx.workdir, &[&key, &spec.name], &value)
            .map_err(|e| TierEnd::error(format!("cannot record the run's secret values: {e}")))?;
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
    converge(ctx, app, tier).await
}

/// Wait until `app` has converged (see [`App::stability_window`]), logging the wait.
pub async fn converge(ctx: &RunContext<'_>, app: &App, tier: Tier) -> Result<Converged, TierEnd> {
    let window = app.stability_window();
    ctx.log.step(
        Some(tier),
        &format!(
            "waiting for convergence (timeout {}s, stability window {}s)",
            ctx.timeout.as_secs(),
            window.as_secs()
        ),
    );
    let converged = ctx.swarm.wait_converged_with(&app.stack, ctx.timeout, window).await?;
    ctx.log.step(Some(tier), &format!("converged in {:.1}s", converged.elapsed.as_secs_f64()));
    Ok(converged)
}

/// The serving check against the app's domain, through the proxy.
pub async fn check_serving(ctx: &RunContext<'_>, tier: Tier) -> Result<serving::Served, TierEnd> {
    let ready = ctx.state.lock().unwrap_or_else(|e| e.into_inner()).config.ready.clone();
    if let Some(port) = ready.as_ref().and_then(|r| r.tcp) {
        return check_tcp(ctx, tier, port).await;
    }
    let target = serving::Target {
        domain: ctx.app.domain.clone(),
        scheme: ctx.options.scheme.clone(),
        proxy: ctx.options.proxy,
        path: ready.as_ref().and_then(|r| r.path.clone()).unwrap_or_else(|| "/".into()),
        expect: ready.as_ref().and_then(|r| r.status).into_iter().collect(),
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

/// The `ready.tcp` probe (per-recipe config): the port accepts connections inside `app`'s task
/// (probed with `nc -z`, which the app image must have), retried until the patience runs out.
async fn check_tcp(ctx: &RunContext<'_>, tier: Tier, port: u16) -> Result<serving::Served, TierEnd> {
    let started = std::time::Instant::now();
    let patience = ctx.timeout.min(Duration::from_secs(60));
    let probe = format!("nc -z -w 3 127.0.0.1 {port}");
    ctx.log.step(Some(tier), &format!("probing TCP port {port} in app"));
    let mut attempts = 0;
    loop {
        attempts += 1;
        let out = ctx.swarm.exec(&ctx.app.stack, "app", &["sh", "-c", &probe]).await?;
        if out.exit_code == 0 {
            let url = format!("tcp://127.0.0.1:{port} in app");
            ctx.log.step(Some(tier), &format!("{url} accepted after {attempts} attempt(s)"));
            return Ok(serving::Served { url, status: 0, attempts, elapsed: started.elapsed() });
        }
        if started.elapsed() > patience {
            return Err(TierEnd::fail(format!(
                "TCP port {port} of app refused connections for {:.0}s ({attempts} attempts)",
                patience.as_secs_f64()
            )));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
