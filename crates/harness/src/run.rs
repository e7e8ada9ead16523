//! The run driver: claim liveness, reap dead runs, check out, plan, carry the app through the
//! asked tiers, collect diagnostics on failure, tear down with a residual check, and write
//! result.json, JUnit and the log. A run that cannot start returns [`RunError`]; once it has
//! started, every outcome is recorded in the result.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use recipe::naming::RunIdentity;
use recipe::plan::{self, Decision, Overrides};
use recipe::recipe::Recipe;
use swarm::Swarm;

use crate::app::{self, App};
use crate::checkout::{self, Checkout};
use crate::context::{BaseApp, RunContext, RunOptions};
use crate::error::RunError;
use crate::log::RunLog;
use crate::progress::Reporter;
use crate::redact::Redactor;
use crate::result::{self, Instance, Outcome, RunResult, Tier, TierResult};
use crate::tiers::{self, TierEnd};
use crate::workspace::Workspace;
use crate::{artifacts, diagnostics, janitor, liveness, run_id};

/// What a finished run leaves for its caller.
#[derive(Debug)]
pub struct RunReport {
    pub result: RunResult,
    pub out_dir: PathBuf,
    /// Set when the app was left deployed (keep-on-failure): how to reach it.
    pub kept: Option<String>,
}

/// How long teardown may take.
const TEARDOWN_TIMEOUT: Duration = Duration::from_secs(120);

/// Carry out one run.
pub async fn run(options: RunOptions, reporter: Arc<dyn Reporter>) -> Result<RunReport, RunError> {
    let started_at = now_rfc3339();
    let started = Instant::now();
    let id = run_id::new_run_id();
    let live_dir = liveness::live_dir();
    let _live = liveness::claim(&live_dir, &id)
        .map_err(|e| RunError::Infra(format!("cannot mark the run live in {}: {e}", live_dir.display())))?;
    let ws = Workspace::create(&options.data_dir, &id, options.out.as_deref())
        .map_err(|e| RunError::Infra(format!("cannot create the run's workspace: {e}")))?;
    let log = RunLog::create(&ws.log_path(), Redactor::new(), reporter)
        .map_err(|e| RunError::Infra(format!("cannot write {}: {e}", ws.log_path().display())))?;
    log.step(
        None,
        &format!("run {id}: {} at {}", options.source, options.git_ref.as_deref().unwrap_or("working tree")),
    );

    let swarm = Swarm::connect().await.map_err(|e| RunError::Infra(format!("cannot reach the Docker engine: {e}")))?;
    match janitor::reap(&swarm, &live_dir).await {
        Ok(report) if !report.reaped_runs.is_empty() => log.step(
            None,
            &format!("janitor reaped {} dead run(s): {}", report.reaped_runs.len(), report.reaped_runs.join(", ")),
        ),
        Ok(_) => {}
        Err(e) => log.step(None, &format!("janitor: {e}")),
    }

    let checkout = checkout::checkout(&options.source, options.git_ref.as_deref(), &ws.checkout_dir())?;
    let has_tests = checkout::snapshot_tests(&checkout.dir, &ws.tests_snapshot_dir())?;
    log.step(
        None,
        &format!(
            "checked out {} at {}{}",
            checkout.name,
            checkout.chaos_version(),
            if has_tests { " (tests/ snapshotted)" } else { "" }
        ),
    );

    let identity = RunIdentity {
        recipe: &checkout.name,
        pr: options.pr,
        git_ref: options.git_ref.as_deref().unwrap_or("HEAD"),
        run_id: &id,
    };
    let instance = app::instance_for(&identity, &options.base_domain);
    let prepared = prepare(&checkout, &options, &instance, &ws.work_dir().join("base"), &id, ws.work_dir());

    let mut tier_results = Vec::new();
    let mut kept = None;
    let mut teardown_error = None;
    let mut artifacts = Vec::new();
    match prepared {
        Err(end) => {
            let failed = TierResult::new(Tier::Install, end.outcome, end.reason, Duration::ZERO);
            log.reporter().tier_finished(&failed);
            log.step(Some(Tier::Install), &failed.reason);
            tier_results.push(failed);
            skip_rest(&options, Tier::Install, &mut tier_results, &log);
        }
        Ok(prepared) => {
            let ctx = RunContext {
                run_id: &id,
                swarm: &swarm,
                app: &prepared.app,
                base: prepared.base.as_ref(),
                log: &log,
                options: &options,
                workdir: ws.work_dir(),
                timeout: prepared.timeout,
                artifacts_dir: ws.artifacts_dir(),
                state: std::sync::Mutex::new(crate::context::RunState {
                    config: prepared.config.clone(),
                    dependencies: prepared.dependencies.clone(),
                    ..Default::default()
                }),
            };
            tier_results = run_tiers(&ctx, &prepared.decisions).await;
            let failed = result::overall(&tier_results) != Outcome::Pass;
            if failed {
                artifacts.extend(diagnostics::collect(&ctx, &ws.artifacts_dir()).await);
            }
            match options.keep_on_failure.filter(|_| failed) {
                Some(ttl) => kept = Some(keep(&ctx, ttl).await),
                None => teardown_error = teardown(&ctx).await.err(),
            }
            artifacts.extend(std::mem::take(&mut ctx.state.lock().unwrap_or_else(|e| e.into_inner()).artifacts));
        }
    }

    let mut outcome = result::overall(&tier_results);
    if let Some(e) = &teardown_error {
        outcome = Outcome::Error;
        log.step(None, &format!("teardown: {e}"));
    }
    let run_result = RunResult {
        schema_version: result::SCHEMA_VERSION,
        run_id: id.clone(),
        recipe: checkout.name.clone(),
        git_ref: options.git_ref.clone(),
        commit: checkout.commit.clone(),
        mode: "cold".into(),
        instance: Instance { domain: instance.domain.clone(), stack: instance.stack_name.clone() },
        started_at,
        finished_at: now_rfc3339(),
        duration_ms: result::millis(started.elapsed()),
        level: result::level(&tier_results),
        level_of: tier_results.len(),
        outcome,
        teardown_error,
        tiers: tier_results,
        artifacts,
    };
    let redacted = artifacts::redact_tree(&ws.artifacts_dir(), log.redactor());
    if redacted > 0 {
        log.step(None, &format!("redacted secret values from {redacted} artifact file(s)"));
    }
    write_results(&ws, &run_result, log.redactor())?;
    log.step(None, &format!("results in {}", ws.out_dir().display()));
    if kept.is_none() {
        let _ = ws.discard_work();
    }
    Ok(RunReport { result: run_result, out_dir: ws.out_dir().to_path_buf(), kept })
}

/// What a run needs before its first tier: the target app, the base release when an upgrade
/// follows, the convergence timeout and the plan's decision per tier.
struct Prepared {
    app: App,
    base: Option<BaseApp>,
    timeout: Duration,
    decisions: Vec<(Tier, Decision)>,
    /// The per-recipe config (T4) and the cold dependencies it declares (T6).
    config: recipe::config::RecipeConfig,
    dependencies: Vec<crate::dependencies::Dependency>,
}

/// Load and plan the recipe and build the apps: every failure here is the recipe's.
fn prepare(
    checkout: &Checkout,
    options: &RunOptions,
    instance: &recipe::instance::Instance,
    base_dir: &Path,
    run_id: &str,
    workdir: &Path,
) -> Result<Prepared, TierEnd> {
    let mut recipe = Recipe::load(&checkout.dir).map_err(|e| TierEnd::fail(e.to_string()))?;
    // The private checkout's directory is `recipe/`; the recipe's name is the source's.
    recipe.name = checkout.name.clone();
    let config = recipe::config::load(&checkout.dir, options.config_dir.as_deref(), &checkout.name)
        .map_err(|e| TierEnd::fail(e.0))?;
    let overrides: Overrides = config.overrides();
    let plan = plan::plan(&recipe, options.git_ref.as_deref(), &overrides).map_err(|e| TierEnd::fail(e.to_string()))?;
    let (dependencies, mut env) = crate::dependencies::prepare(&config, options, run_id, &instance.domain, workdir)?;
    env.extend(config.env.clone());
    let chaos = (!plan.versions.ref_is_release || checkout.dirty).then(|| checkout.chaos_version());
    let mut target_env = env.clone();
    if options.tiers.contains(&Tier::Upgrade) && plan.upgrade_base.is_some() {
        target_env.extend(config.upgrade_env.clone());
    }
    let app = app::prepare_with(&recipe, instance, chaos.as_deref(), &target_env).map_err(|e| TierEnd::fail(e.0))?;
    let decisions: Vec<(Tier, Decision)> = plan.tiers.iter().map(|t| (t.tier, t.decision.clone())).collect();
    let upgrade_runs = options.tiers.contains(&Tier::Upgrade)
        && tiers::is_available(Tier::Upgrade)
        && decisions.iter().any(|(t, d)| *t == Tier::Upgrade && matches!(d, Decision::Runs { .. }));
    let base = match (upgrade_runs, &plan.upgrade_base) {
        (true, Some(version)) => Some(prepare_base(checkout, version, instance, base_dir, &env)?),
        _ => None,
    };
    let timeout = Duration::from_secs(plan.timeout.seconds);
    Ok(Prepared { app, base, timeout, decisions, config, dependencies })
}

/// Check out the base release beside the target and render it for the same instance.
fn prepare_base(
    checkout: &Checkout,
    version: &str,
    instance: &recipe::instance::Instance,
    base_dir: &Path,
    env: &std::collections::BTreeMap<String, String>,
) -> Result<BaseApp, TierEnd> {
    let source = checkout.dir.to_string_lossy();
    recipe::git::clone_at(&source, base_dir, Some(version))
        .map_err(|e| TierEnd::error(format!("cannot check out the base release {version}: {e}")))?;
    let recipe = Recipe::load(base_dir).map_err(|e| TierEnd::fail(format!("base release {version}: {e}")))?;
    let app = app::prepare_with(&recipe, instance, None, env)
        .map_err(|e| TierEnd::fail(format!("base release {version}: {}", e.0)))?;
    Ok(BaseApp { version: version.to_string(), app })
}

async fn run_tiers(ctx: &RunContext<'_>, decisions: &[(Tier, Decision)]) -> Vec<TierResult> {
    let mut results: Vec<TierResult> = Vec::new();
    for &tier in &ctx.options.tiers {
        let earlier_failed = results.iter().find(|r| matches!(r.outcome, Outcome::Fail | Outcome::Error));
        let planned = decisions.iter().find(|(t, _)| *t == tier).map(|(_, d)| d.clone());
        let mut result = if let Some(prev) = earlier_failed {
            TierResult::skipped(tier, format!("after {} {}", prev.tier.name(), prev.outcome.name()))
        } else if let Some(Decision::Skipped { reason }) = planned {
            TierResult::skipped(tier, reason)
        } else if !tiers::is_available(tier) {
            TierResult::skipped(tier, format!("the {} tier is not available in this version of cc-ci", tier.name()))
        } else {
            ctx.log.step(Some(tier), "starting");
            let started = Instant::now();
            let body = crate::hooks::around(tier, ctx).await;
            let mut result = tiers::finish(tier, started, body);
            result.cases = std::mem::take(&mut ctx.state.lock().unwrap_or_else(|e| e.into_inner()).cases);
            result
        };
        // A reason may quote the app's output (a crash's last log line): redact it before it
        // reaches the terminal (progress, summary table) or any other sink.
        result.reason = ctx.log.redactor().redact(&result.reason);
        for case in &mut result.cases {
            case.message = case.message.as_deref().map(|m| ctx.log.redactor().redact(m));
        }
        ctx.log.reporter().tier_finished(&result);
        ctx.log.detail(Some(tier), &format!("{}: {}", result.outcome.name(), result.reason));
        results.push(result);
    }
    results
}

fn skip_rest(options: &RunOptions, after: Tier, results: &mut Vec<TierResult>, log: &RunLog) {
    for &tier in options.tiers.iter().filter(|t| **t != after) {
        let r = TierResult::skipped(tier, format!("after {} failure", after.name()));
        log.reporter().tier_finished(&r);
        results.push(r);
    }
}

async fn teardown(ctx: &RunContext<'_>) -> Result<(), String> {
    ctx.log.step(None, &format!("tearing down {}", ctx.app.stack));
    let torn = ctx.swarm.teardown(&ctx.app.stack, ctx.run_id, TEARDOWN_TIMEOUT).await.map_err(|e| e.to_string())?;
    ctx.swarm.residual_check(ctx.run_id, Some(&ctx.app.stack)).await.map_err(|e| e.to_string())?;
    ctx.log.step(
        None,
        &format!(
            "torn down in {:.1}s ({} objects); nothing of the run remains",
            torn.elapsed.as_secs_f64(),
            torn.removed.len()
        ),
    );
    Ok(())
}

async fn keep(ctx: &RunContext<'_>, ttl: Duration) -> String {
    let until = std::time::SystemTime::now()
        .checked_add(ttl)
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    if let Err(e) = ctx.swarm.keep_until(ctx.run_id, until).await {
        ctx.log.step(None, &format!("cannot mark the run kept: {e}"));
    }
    let how = format!(
        "kept {} deployed for {}s at {}://{} (stack {}); `ccci janitor` removes it after that",
        ctx.app.domain,
        ttl.as_secs(),
        ctx.options.scheme,
        ctx.app.domain,
        ctx.app.stack
    );
    ctx.log.step(None, &how);
    how
}

fn write_results(ws: &Workspace, result: &RunResult, redactor: &Redactor) -> Result<(), RunError> {
    let json = serde_json::to_string_pretty(result).map_err(|e| RunError::Infra(e.to_string()))?;
    let write = |path: PathBuf, text: String| {
        std::fs::write(&path, redactor.redact(&text))
            .map_err(|e| RunError::Infra(format!("cannot write {}: {e}", path.display())))
    };
    write(ws.result_path(), json + "\n")?;
    write(ws.junit_path(), result::junit_xml(result))
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}
