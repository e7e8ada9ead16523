//! One run, start to end (SPEC T1–T9): claim liveness, hold the infrastructure lock shared, reap dead runs, check out, prepare
//! ([`prepare`]), carry the app through the asked tiers ([`sequence`]), collect diagnostics on
//! failure, tear down with a residual check or keep the app ([`teardown`]), and write result.json,
//! JUnit, log.txt and events.jsonl. A run that cannot start returns [`RunError`]; once it has
//! started, every outcome is recorded in the result.

mod prepare;
mod sequence;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use recipe::naming::RunIdentity;
use swarm::Swarm;

use crate::context::{RunContext, RunMode, RunOptions};
use crate::engine::Engine;
use crate::error::RunError;
use crate::events::Event;
use crate::outcome::TierEnd;
use crate::redact::Redactor;
use crate::report::{Events, Jsonl, LogFile, Recorder, Sink};
use crate::result::{self, Instance, Outcome, RunResult, Tier};
use crate::sandbox::{self, Sandbox};
use crate::warm::promote::Seed;
use crate::warm::quick::{self, Opened, Quick};
use crate::workspace::Workspace;
use crate::{app, artifacts, checkout, diagnostics, janitor, liveness, run_id, teardown};

/// The infrastructure lock, shared, for the whole run ([`crate::infra_lock`]): waits, saying so,
/// while an infrastructure update holds it.
async fn hold_infra_lock(
    data_dir: &std::path::Path,
    events: &Events,
) -> Result<crate::infra_lock::InfraLock, RunError> {
    let cannot = |e: std::io::Error| {
        let path = crate::infra_lock::path(data_dir);
        RunError::Infra(format!("cannot take the infrastructure lock {}: {e}", path.display()))
    };
    if let Some(lock) = crate::infra_lock::try_shared(data_dir).map_err(cannot)? {
        return Ok(lock);
    }
    events.note(None, "waiting for an infrastructure update (proxy, warm dependencies) to finish".to_string());
    crate::infra_lock::shared(data_dir).await.map_err(cannot)
}

/// What a finished run leaves for its caller.
#[derive(Debug)]
pub struct RunReport {
    pub result: RunResult,
    pub out_dir: PathBuf,
}

/// Carry out one run on the Docker engine at `DOCKER_HOST` (and the node hosts of the options);
/// `sinks` see its events (e.g. the terminal).
pub async fn run(options: RunOptions, sinks: Vec<Arc<dyn Sink>>) -> Result<RunReport, RunError> {
    let swarm = Swarm::connect_with_nodes(&options.node_hosts)
        .await
        .map_err(|e| RunError::Infra(format!("cannot reach the Docker engine: {e}")))?;
    run_on(&swarm, options, sinks).await
}

/// Carry out one run on `engine`.
pub async fn run_on(
    engine: &dyn Engine,
    options: RunOptions,
    sinks: Vec<Arc<dyn Sink>>,
) -> Result<RunReport, RunError> {
    let started_at = now_rfc3339();
    let started = Instant::now();
    let id = run_id::new_run_id();
    let live_dir = liveness::live_dir();
    let _live = liveness::claim(&live_dir, &id)
        .map_err(|e| RunError::Infra(format!("cannot mark the run live in {}: {e}", live_dir.display())))?;
    let ws = Workspace::create(&options.data_dir, &id, options.out.as_deref())
        .map_err(|e| RunError::Infra(format!("cannot create the run's workspace: {e}")))?;
    let recorder = Arc::new(Recorder::default());
    let cannot_write = |path: PathBuf| move |e| RunError::Infra(format!("cannot write {}: {e}", path.display()));
    let mut all: Vec<Arc<dyn Sink>> = vec![
        Arc::new(LogFile::create(&ws.log_path()).map_err(cannot_write(ws.log_path()))?),
        Arc::new(Jsonl::create(&ws.events_path()).map_err(cannot_write(ws.events_path()))?),
        recorder.clone(),
    ];
    all.extend(sinks);
    let events = Events::new(Redactor::new(), all);
    events.emit(Event::RunStarted {
        run_id: id.clone(),
        source: options.source.clone(),
        git_ref: options.git_ref.clone(),
    });

    let _infra = hold_infra_lock(&options.data_dir, &events).await?;

    match janitor::reap(engine, &live_dir).await {
        Ok(report) if !report.reaped_runs.is_empty() => events.emit(Event::JanitorReaped { runs: report.reaped_runs }),
        Ok(_) => {}
        Err(e) => events.emit(Event::JanitorFailed { error: e.to_string() }),
    }
    for (app, tenant) in crate::shared::reap(engine, &options.data_dir, &live_dir).await {
        events.note(None, format!("janitor removed tenant {tenant} of a dead run from the shared {app}"));
    }
    let dead = sandbox::reap_dead(&options.data_dir, &live_dir);
    if !dead.is_empty() {
        events.note(None, format!("janitor removed the sandboxes of dead runs {}", dead.join(", ")));
    }

    let dirs = ws.dirs();
    let checkout = checkout::checkout(&options.source, options.git_ref.as_deref(), &ws.checkout_dir())?;
    let tests_snapshotted = checkout::snapshot_tests(&checkout.dir, &dirs.tests_snapshot())?;
    events.emit(Event::CheckedOut {
        recipe: checkout.name.clone(),
        version: checkout.chaos_version(),
        tests_snapshotted,
    });
    let sandbox = open_sandbox(&options, &checkout, &id, &dirs, &events)?;

    let warm = open_warm(engine, &options, &checkout, &id, &events).await?;
    let mut options = options;
    if let Session::Quick(_) = warm.session {
        // A quick run carries the copy through install (reattach), upgrade and custom only.
        options.tiers.retain(|t| !matches!(t, Tier::Backup | Tier::Restore));
    }
    let identity = RunIdentity {
        recipe: &checkout.name,
        pr: options.pr,
        git_ref: options.git_ref.as_deref().unwrap_or("HEAD"),
        run_id: &id,
    };
    let instance = match &warm.session {
        Session::Quick(q) => q.instance(),
        _ => app::instance_for(&identity, &options.base_domain),
    };
    let base = match &warm.session {
        Session::Quick(q) => Some(q.canonical.version.clone()),
        _ => None,
    };
    let mut kept = false;
    let mut notice = warm.notice;
    let deployer =
        crate::deploy::Deployer { engine, events: &events, options: &options, run_id: &id, work: &dirs.work };
    let mut tenants = Vec::new();
    let prepared = match prepare::load(&checkout, &options, &instance, &id, &dirs.work, base.as_deref()) {
        Err(end) => Err(end),
        Ok(mut loaded) => match crate::shared::open(&deployer, &mut loaded.dependencies).await {
            Err(end) => Err(end),
            Ok(opened) => {
                tenants = opened;
                prepare::render(loaded, &checkout, &options, &instance, &dirs.work)
            }
        },
    };
    match prepared {
        Err(end) => {
            sequence::unprepared(&events, &options.tiers, end);
            if let Session::Quick(q) = warm.session {
                q.release_unused(&id);
            }
        }
        Ok(prepared) => {
            let apps = prepared.dependencies.iter().map(|d| d.app.domain.clone());
            sandbox.route_proxy(
                crate::test_env::proxy_addr(&options, &instance.domain),
                apps.chain([prepared.app.domain.clone()]),
            );
            let ctx = RunContext {
                run_id: &id,
                engine,
                options: &options,
                events: &events,
                recipe: &checkout.name,
                config: &prepared.config,
                app: &prepared.app,
                base: prepared.base.as_ref(),
                dependencies: &prepared.dependencies,
                marker: &prepared.marker,
                timeout: prepared.timeout,
                dirs: &dirs,
                sandbox: &sandbox,
                state: Default::default(),
            };
            let attached = match &warm.session {
                Session::Quick(q) => q.attach_secrets(&ctx),
                _ => Ok(()),
            };
            let results = match attached {
                Ok(()) => sequence::run_tiers(&ctx, &prepared.decisions).await,
                Err(why) => sequence::unprepared(&events, &options.tiers, TierEnd::error(why)),
            };
            let outcome = result::overall(&results);
            let failed = outcome != Outcome::Pass;
            if failed {
                diagnostics::collect(&ctx).await;
            }
            match warm.session {
                Session::Quick(q) => q.finish(&ctx, outcome).await,
                Session::Seed(seed) => {
                    notice = Some(match failed {
                        true => format!("not promoted: the run of {} did not pass", seed.tag),
                        false => promote(&seed, &ctx, &prepared, &checkout).await,
                    });
                    teardown::teardown(&ctx).await;
                }
                Session::Cold => match options.keep_on_failure.filter(|_| failed) {
                    Some(ttl) => {
                        teardown::keep(&ctx, ttl).await;
                        kept = true;
                    }
                    None => teardown::teardown(&ctx).await,
                },
            }
        }
    }
    if !kept {
        crate::shared::close(&deployer, tenants).await;
    }

    let redacted = artifacts::redact_tree(&dirs.artifacts, events.redactor());
    if redacted > 0 {
        events.emit(Event::ArtifactsRedacted { files: redacted });
    }
    let recorded = recorder.recorded();
    let mut outcome = result::overall(&recorded.tiers);
    if recorded.teardown_error.is_some() {
        outcome = Outcome::Error;
    }
    let run_result = RunResult {
        schema_version: result::SCHEMA_VERSION,
        run_id: id.clone(),
        recipe: checkout.name.clone(),
        git_ref: options.git_ref.clone(),
        commit: checkout.commit.clone(),
        mode: warm.mode.into(),
        notice,
        instance: Instance { domain: instance.domain.clone(), stack: instance.stack_name.clone() },
        started_at,
        finished_at: now_rfc3339(),
        duration_ms: result::millis(started.elapsed()),
        level: result::level(&recorded.tiers),
        level_of: recorded.tiers.len(),
        outcome,
        teardown_error: recorded.teardown_error,
        tiers: recorded.tiers,
        artifacts: recorded.artifacts,
    };
    write_results(&ws, &run_result, events.redactor())?;
    let out_dir = ws.out_dir().to_path_buf();
    events.emit(Event::RunFinished { result: Box::new(run_result.clone()), out_dir: out_dir.display().to_string() });
    sandbox.discard();
    if !kept {
        let _ = ws.discard_work();
    }
    Ok(RunReport { result: run_result, out_dir })
}

/// The run's sandbox for pull-request code (SPEC V9), its log told how that code runs.
fn open_sandbox(
    options: &RunOptions,
    checkout: &checkout::Checkout,
    run_id: &str,
    dirs: &crate::context::RunDirs,
    events: &Events,
) -> Result<Sandbox, RunError> {
    let ci_tests = options.config_dir.as_ref().map(|d| recipe::config::ci_recipe_dir(d, &checkout.name).join("tests"));
    let sandbox = Sandbox::open(sandbox::Inputs {
        data_dir: &options.data_dir,
        run_id,
        policy: &options.sandbox,
        recipe: &checkout.dir,
        tests: &dirs.tests_snapshot(),
        ci_tests: ci_tests.as_deref(),
        ca: options.ca_bundle.as_deref(),
        proxy_port: crate::test_env::proxy_port(options),
    })
    .map_err(RunError::Infra)?;
    events.note(None, sandbox.describe());
    if let Err(e) = sandbox.trust_ca_in_home() {
        events.note(None, format!("browsers will not trust the CA: {e}"));
    }
    Ok(sandbox)
}

/// The warm side of a run: nothing (cold), a canonical copy held for a quick run, or a seed's lock.
enum Session {
    Cold,
    Quick(Box<Quick>),
    Seed(Seed),
}

/// The session, the mode the result states, and a notice for the reader.
struct Warm {
    session: Session,
    mode: &'static str,
    notice: Option<String>,
}

/// What the run's mode asks of the recipe's canonical copy.
async fn open_warm(
    engine: &dyn Engine,
    options: &RunOptions,
    checkout: &checkout::Checkout,
    run_id: &str,
    events: &Events,
) -> Result<Warm, RunError> {
    let cold = |notice: Option<String>| Warm { session: Session::Cold, mode: "cold", notice };
    match options.mode {
        RunMode::Cold => Ok(cold(None)),
        RunMode::Seed => {
            let seed = crate::warm::promote::open(
                &options.data_dir,
                &checkout.name,
                &checkout.dir,
                options.git_ref.as_deref(),
            )
            .await?;
            Ok(Warm { session: Session::Seed(seed), mode: "cold", notice: None })
        }
        RunMode::Quick => {
            match quick::open(engine, &options.data_dir, &checkout.name, run_id, options.git_ref.as_deref(), events)
                .await?
            {
                Opened::Quick(q) => Ok(Warm { session: Session::Quick(q), mode: "quick", notice: None }),
                Opened::Cold { why } => {
                    events.note(None, why.clone());
                    Ok(cold(Some(why)))
                }
            }
        }
    }
}

/// Promote the seed run's deployment; the notice says what happened.
async fn promote(
    seed: &Seed,
    ctx: &RunContext<'_>,
    prepared: &prepare::Prepared,
    checkout: &checkout::Checkout,
) -> String {
    let instance = crate::warm::canonical::instance(&seed.dir.recipe, &ctx.options.base_domain);
    let copy = match app::prepare_with(&prepared.recipe, &instance, None, &prepared.env) {
        Ok(copy) => copy,
        Err(e) => return format!("not promoted: the canonical copy cannot be rendered: {}", e.0),
    };
    let commit = checkout.commit.clone().unwrap_or_default();
    match seed.promote(ctx, &copy, &ctx.options.source, &commit).await {
        Ok(record) => format!(
            "promoted: the canonical copy {} is at {} ({})",
            record.domain,
            record.version,
            &record.commit[..record.commit.len().min(12)]
        ),
        Err(why) => {
            ctx.events.emit(Event::TeardownFailed { error: format!("promotion failed: {why}") });
            format!("not promoted: {why}")
        }
    }
}

#[cfg(test)]
mod shared_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod warm_tests;

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
