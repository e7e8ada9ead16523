//! Teardown modes against the real engine: graceful teardown lets a container stop on SIGTERM
//! (its exit code is its own), throwaway teardown SIGKILLs it first (exit code 137), and a
//! container that ignores SIGTERM with a long stop grace period is gone well within a throwaway
//! teardown's timeout. The engine's own event log tells how each container ended.

mod support;

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bollard::query_parameters::EventsOptions;
use futures_util::StreamExt;
use support::{ensure_image, run_id, stack_for, yaml, Cleanup, IMAGE};
use swarm::deploy::Deploy;
use swarm::teardown::TeardownMode;
use swarm::Swarm;

/// Exits 0 on SIGTERM (a clean shutdown); otherwise sleeps.
const CLEAN_STOPPER: &str = "trap 'exit 0' TERM; sleep 100000 & wait";

fn stack_doc(command: &str, grace: &str) -> serde_norway::Value {
    yaml(&format!(
        r#"
version: "3.8"
services:
  app:
    image: {IMAGE}
    command: ["sh", "-c", "{command}"]
    stop_grace_period: {grace}
"#
    ))
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// Deploy one service, wait until it runs, tear it down in `mode` within `timeout`; returns the
/// exit codes of the run's containers from the engine's `die` events.
async fn exit_codes_after_teardown(mode: TeardownMode, command: &str, grace: &str, timeout: Duration) -> Vec<String> {
    ensure_image();
    let sw = Swarm::connect().await.expect("docker engine reachable");
    let run = run_id(&format!("{mode:?}").to_lowercase());
    let _guard = Cleanup(run.clone());
    support::protect(&sw, &run).await;
    let stack = stack_for(&run);
    let work = tempfile::tempdir().unwrap();
    let doc = stack_doc(command, grace);
    sw.deploy(&Deploy { stack: &stack, run_id: &run, document: &doc, workdir: work.path(), dnsrr: true })
        .await
        .unwrap();
    sw.wait_converged(&stack, Duration::from_secs(60)).await.unwrap();

    let since = now_secs().saturating_sub(1);
    let torn = sw.teardown_as(&stack, &run, timeout, mode).await.expect("torn down within the timeout");
    eprintln!("{mode:?} teardown: {:?}", torn.elapsed);

    let filters = HashMap::from([
        ("type".to_string(), vec!["container".to_string()]),
        ("event".to_string(), vec!["die".to_string()]),
        ("label".to_string(), vec![format!("cc-ci.run={run}")]),
    ]);
    let options = EventsOptions {
        since: Some(since.to_string()),
        until: Some((now_secs() + 1).to_string()),
        filters: Some(filters),
    };
    let events: Vec<_> = sw.docker().events(Some(options)).collect().await;
    events.into_iter().filter_map(|e| e.ok()?.actor?.attributes?.get("exitCode").cloned()).collect()
}

#[tokio::test]
async fn graceful_teardown_lets_the_app_stop_on_sigterm() {
    let codes = exit_codes_after_teardown(TeardownMode::Graceful, CLEAN_STOPPER, "30s", Duration::from_secs(60)).await;
    assert_eq!(codes, vec!["0"], "the app's own clean exit");
}

#[tokio::test]
async fn throwaway_teardown_kills_before_any_sigterm() {
    let codes = exit_codes_after_teardown(TeardownMode::Throwaway, CLEAN_STOPPER, "30s", Duration::from_secs(60)).await;
    assert_eq!(codes, vec!["137"], "SIGKILL, not the app's SIGTERM handler");
}

#[tokio::test]
async fn throwaway_teardown_does_not_wait_out_the_grace_period_of_an_app_ignoring_sigterm() {
    // A shell as PID 1 ignores SIGTERM; graceful teardown would wait the full 10 minutes.
    let codes =
        exit_codes_after_teardown(TeardownMode::Throwaway, "sleep 100000", "10m", Duration::from_secs(60)).await;
    assert_eq!(codes, vec!["137"]);
}

/// Benchmark, not a check (run with `--ignored --nocapture`): the teardown of one container that
/// ignores SIGTERM with a 10 s stop grace period, graceful then throwaway.
#[tokio::test]
#[ignore]
async fn bench_teardown_of_an_app_ignoring_sigterm() {
    for mode in [TeardownMode::Graceful, TeardownMode::Throwaway] {
        let codes = exit_codes_after_teardown(mode, "sleep 100000", "10s", Duration::from_secs(60)).await;
        assert_eq!(codes, vec!["137"]);
    }
}
