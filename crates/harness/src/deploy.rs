//! The install path, shared by everything that puts an app on the swarm (the install and upgrade
//! tiers, cold dependencies): create the app's secrets (each name once per run, registered for
//! redaction and recorded for `ccci run-secret`), deploy its document, wait for convergence, and
//! prove it serves through the proxy (HTTP(S), or the `ready.tcp` probe).

use std::time::{Duration, Instant};

use recipe::config::Ready;
use recipe::secrets::Generator;
use swarm::deploy::Deploy;

use crate::app::App;
use crate::context::{RunContext, RunOptions};
use crate::engine::Engine;
use crate::events::{Role, Step};
use crate::outcome::TierEnd;
use crate::report::Events;
use crate::result::Tier;
use crate::serving::{self, Served};

/// What putting an app on the swarm needs of a run: its engine, its events, its options and
/// id, and its work directory. A run's context gives one ([`RunContext::deployer`]); the warm
/// dependencies a run shares are deployed with one before the run's own app is even rendered.
pub struct Deployer<'a> {
    pub engine: &'a dyn Engine,
    pub events: &'a Events,
    pub options: &'a RunOptions,
    pub run_id: &'a str,
    pub work: &'a std::path::Path,
}

impl RunContext<'_> {
    /// The deploying side of the run.
    pub fn deployer(&self) -> Deployer<'_> {
        Deployer {
            engine: self.engine,
            events: self.events,
            options: self.options,
            run_id: self.run_id,
            work: &self.dirs.work,
        }
    }
}

/// Longest the serving check keeps asking.
const SERVING_PATIENCE: Duration = Duration::from_secs(60);

/// Generate, register for redaction, record and create every secret of `app` not created yet
/// in this run (an upgrade that bumps a secret's version creates only the new one).
pub async fn ensure_secrets(ctx: &RunContext<'_>, app: &App, tier: Tier) -> Result<(), TierEnd> {
    for spec in &app.secrets {
        if ctx.state().secrets_created.contains(&spec.name) {
            continue;
        }
        let value = match ctx.config.secret_value(&spec.key) {
            Some(v) => v.map_err(|e| TierEnd::error(e.0))?,
            None => crate::secrets::generate(&spec.generator).ok_or_else(|| {
                TierEnd::fail(format!(
                    "secret {} has generate=false and the per-recipe config gives no value for it ([secrets.{}] with env or file)",
                    spec.key, spec.key
                ))
            })?,
        };
        ctx.events.redactor().register(&value);
        let key = if app.stack == ctx.app.stack { spec.key.clone() } else { format!("{}/{}", app.stack, spec.key) };
        crate::secrets_file::record_secret(&ctx.dirs.work, &[&key, &spec.name], &value)
            .map_err(|e| TierEnd::error(format!("cannot record the run's secret values: {e}")))?;
        ctx.engine.create_secret(ctx.run_id, &app.stack, &spec.name, value.as_bytes()).await?;
        ctx.state().secrets_created.push(spec.name.clone());
        ctx.events.step(Some(tier), Step::SecretCreated { name: spec.name.clone(), how: describe(&spec.generator) });
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

/// Pull `app`'s images, create its secrets, deploy it (or update it in place) and wait until it
/// has converged within `timeout` (the clock starts after the pulls); returns how long
/// convergence took.
pub async fn deploy_and_converge(
    ctx: &RunContext<'_>,
    app: &App,
    role: Role,
    tier: Tier,
    timeout: Duration,
) -> Result<Duration, TierEnd> {
    let deployer = ctx.deployer();
    crate::pull::pull_images(&deployer, app, tier).await?;
    ensure_secrets(ctx, app, tier).await?;
    let deploy = Deploy {
        stack: &app.stack,
        run_id: ctx.run_id,
        document: &app.doc,
        workdir: &ctx.dirs.work,
        dnsrr: ctx.options.dnsrr,
    };
    ctx.events.step(Some(tier), Step::Deploying { stack: app.stack.clone(), domain: app.domain.clone(), role });
    let output = ctx.engine.deploy(&deploy).await?;
    ctx.events.output(Some(tier), &output);
    converge(&deployer, app, tier, timeout).await
}

/// Wait until `app` has converged (see [`App::stability_window`]) within `timeout`.
pub async fn converge(ctx: &Deployer<'_>, app: &App, tier: Tier, timeout: Duration) -> Result<Duration, TierEnd> {
    let window = app.stability_window();
    ctx.events.step(
        Some(tier),
        Step::WaitingForConvergence {
            stack: app.stack.clone(),
            timeout_seconds: timeout.as_secs(),
            window_seconds: window.as_secs(),
        },
    );
    let elapsed = ctx.engine.wait_converged(&app.stack, timeout, window).await?;
    ctx.events.step(Some(tier), Step::Converged { stack: app.stack.clone(), seconds: elapsed.as_secs_f64() });
    Ok(elapsed)
}

/// The serving check of `app` through the proxy: the `ready` probe of the per-recipe config
/// when given (an HTTP path and status, or a TCP port of `app`), else `GET /` answering 2xx/3xx.
pub async fn check_serving(
    ctx: &Deployer<'_>,
    app: &App,
    ready: Option<&Ready>,
    tier: Tier,
    timeout: Duration,
) -> Result<Served, TierEnd> {
    let patience = timeout.min(SERVING_PATIENCE);
    if let Some(port) = ready.and_then(|r| r.tcp) {
        return check_tcp(ctx, app, tier, port, patience).await;
    }
    let mut target = serving::Target::root(&app.domain, &ctx.options.scheme, ctx.options.proxy);
    target.ca_bundle = ctx.options.ca_bundle.clone();
    target.path = ready.and_then(|r| r.path.clone()).unwrap_or_else(|| "/".into());
    target.expect = ready.and_then(|r| r.status).into_iter().collect();
    ctx.events.step(Some(tier), Step::Requesting { url: target.url() });
    let served = serving::check(&target, patience).await?;
    ctx.events
        .step(Some(tier), Step::Served { url: served.url.clone(), status: served.status, attempts: served.attempts });
    Ok(served)
}

/// The `ready.tcp` probe: the port accepts connections inside `app`'s task (probed with
/// `nc -z`, which the app image must have), retried each second until `patience` runs out.
async fn check_tcp(
    ctx: &Deployer<'_>,
    app: &App,
    tier: Tier,
    port: u16,
    patience: Duration,
) -> Result<Served, TierEnd> {
    let started = Instant::now();
    let probe = format!("nc -z -w 3 127.0.0.1 {port}");
    ctx.events.step(Some(tier), Step::ProbingTcp { port });
    let mut attempts = 0;
    loop {
        attempts += 1;
        let out = ctx.engine.exec(&app.stack, "app", &["sh", "-c", &probe]).await?;
        if out.exit_code == 0 {
            ctx.events.step(Some(tier), Step::TcpAccepted { port, attempts });
            let url = format!("tcp://127.0.0.1:{port} in app");
            return Ok(Served { url, status: 0, attempts, elapsed: started.elapsed() });
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
