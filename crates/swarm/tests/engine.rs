//! End-to-end tests of the swarm crate against the real Docker engine (single-node swarm with
//! the external `proxy` network, see TESTBED.md). Every object is labelled with a run id unique
//! to the test; a drop guard removes it even when a test fails; nothing else is touched.

mod support;

use std::time::{Duration, Instant};

use support::{cli_leftovers, ensure_image, run_id, stack_for, yaml, Cleanup, Scenario, IMAGE};
use swarm::deploy::Deploy;
use swarm::{Error, Fault, Swarm};

async fn swarm() -> Swarm {
    Swarm::connect().await.expect("docker engine reachable")
}

/// A service that stops promptly on SIGTERM and otherwise sleeps.
const SLEEPER: &str = "trap 'exit 0' TERM; sleep 100000 & wait";

fn small_stack(stack: &str) -> serde_norway::Value {
    yaml(&format!(
        r#"
version: "3.8"
services:
  app:
    image: {IMAGE}
    command: ["sh", "-c", "cp /run/secrets/db_password /data/pw; {SLEEPER}"]
    environment:
      GREETING: hello
    secrets: [db_password]
    configs:
      - source: conf
        target: /etc/app.conf
    volumes:
      - data:/data
    networks: [internal, proxy]
    healthcheck:
      test: ["CMD", "test", "-f", "/data/pw"]
      interval: 1s
      retries: 30
    stop_grace_period: 2s
networks:
  internal:
  proxy:
    external: true
volumes:
  data:
secrets:
  db_password:
    external: true
    name: {stack}_db_password_v1
configs:
  conf:
    name: {stack}_conf_v1
    file: ./app.conf
"#
    ))
}

#[tokio::test]
async fn small_stack_converges_serves_exec_and_volumes_then_tears_down_to_nothing() {
    let s = Scenario::new("small").await;
    let (sw, run, stack) = (&s.sw, &s.run, &s.stack);
    std::fs::write(s.work.path().join("app.conf"), "setting=1\n").unwrap();

    sw.create_secret(run, stack, &format!("{stack}_db_password_v1"), b"s3cret").await.unwrap();
    let doc = small_stack(stack);
    let t0 = Instant::now();
    s.deploy(&doc).await.unwrap();
    let deployed = t0.elapsed();
    let converged = sw.wait_converged(stack, Duration::from_secs(90)).await.unwrap();
    eprintln!(
        "small stack: deploy CLI {:?}, deploy→converged {:?} ({} evaluations)",
        deployed,
        t0.elapsed(),
        converged.evaluations
    );

    // The secret, config and environment reached the container.
    let out = sw.exec(stack, "app", &["cat", "/run/secrets/db_password"]).await.unwrap();
    assert_eq!((out.exit_code, out.stdout.as_slice()), (0, &b"s3cret"[..]));
    let out = sw.exec(stack, "app", &["cat", "/etc/app.conf"]).await.unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "setting=1\n");
    let out = sw.exec(stack, "app", &["sh", "-c", "echo $GREETING; echo oops >&2; exit 7"]).await.unwrap();
    assert_eq!(out.exit_code, 7);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "oops\n");

    // The service carries the run label; so do its network, config and volume.
    let tasks = sw.tasks(stack).await.unwrap();
    assert!(tasks.iter().any(|t| t.service == format!("{stack}_app") && t.state == "running"), "{tasks:?}");
    let volumes = sw.run_volumes(run).await.unwrap();
    assert_eq!(volumes, vec![format!("{stack}_data")]);

    // Volume out and back in as tar.
    let mut archive = Vec::new();
    let n = sw.export_volume(run, &volumes[0], IMAGE, &mut archive).await.unwrap();
    assert!(n > 0 && archive.windows(2).any(|w| w == b"pw"), "archive lacks pw");
    let out = sw.exec(stack, "app", &["rm", "/data/pw"]).await.unwrap();
    assert_eq!(out.exit_code, 0);
    sw.import_volume(run, &volumes[0], IMAGE, archive.into()).await.unwrap();
    let out = sw.exec(stack, "app", &["cat", "/data/pw"]).await.unwrap();
    assert_eq!(out.stdout, b"s3cret", "restored from the archive");

    let logs = sw.stack_logs(stack, 10).await.unwrap();
    assert_eq!(logs.len(), 1);

    let t1 = Instant::now();
    let torn = sw.teardown(stack, run, Duration::from_secs(90)).await.unwrap();
    eprintln!("small stack: teardown {:?}, removed {:?}", t1.elapsed(), torn.removed);
    let kinds: Vec<&str> = torn.removed.iter().map(|l| l.kind).collect();
    for kind in ["service", "network", "config", "secret", "volume"] {
        assert!(kinds.contains(&kind), "teardown removed no {kind}: {:?}", torn.removed);
    }
    sw.residual_check(run, Some(stack)).await.unwrap();
    assert_eq!(cli_leftovers(run), Vec::<String>::new());
}

#[tokio::test]
async fn crash_loop_fails_fast_naming_service_exit_code_and_last_log_line() {
    let s = Scenario::new("crash").await;
    let (sw, _run, stack) = (&s.sw, &s.run, &s.stack);
    let doc = yaml(&format!(
        r#"
version: "3.8"
services:
  app:
    image: {IMAGE}
    command: ["sh", "-c", "echo starting up; sleep 0.2; echo 'fatal: cannot reach db' >&2; exit 3"]
"#
    ));
    let t0 = Instant::now();
    s.deploy(&doc).await.unwrap();
    let err = sw.wait_converged(stack, Duration::from_secs(180)).await.unwrap_err();
    let detected = t0.elapsed();
    eprintln!("crash loop detected after {detected:?}: {err}");
    match &err {
        Error::TaskFailing { service, exit_code, last_log_lines, failed_tasks, .. } => {
            assert_eq!(service, &format!("{stack}_app"));
            assert_eq!(*exit_code, Some(3));
            assert_eq!(last_log_lines.last().map(String::as_str), Some("fatal: cannot reach db"));
            assert!(*failed_tasks >= 3);
        }
        other => panic!("expected TaskFailing, got {other:?}"),
    }
    assert_eq!(err.fault(), Fault::Recipe);
    let line = err.to_string();
    assert!(line.contains("exit code 3") && line.contains("fatal: cannot reach db") && !line.contains('\n'), "{line}");
    assert!(detected < Duration::from_secs(60), "took {detected:?}");
    s.teardown_to_nothing().await;
}

#[tokio::test]
async fn healthcheck_that_never_passes_times_out_naming_the_service() {
    let s = Scenario::new("unhealthy").await;
    let (sw, _run, stack) = (&s.sw, &s.run, &s.stack);
    let doc = yaml(&format!(
        r#"
version: "3.8"
services:
  web:
    image: {IMAGE}
    command: ["sh", "-c", "{SLEEPER}"]
    healthcheck:
      test: ["CMD", "false"]
      interval: 1s
      retries: 1000
"#
    ));
    s.deploy(&doc).await.unwrap();
    let t0 = Instant::now();
    let err = sw.wait_converged(stack, Duration::from_secs(8)).await.unwrap_err();
    let waited = t0.elapsed();
    eprintln!("unhealthy: {err} (after {waited:?})");
    match &err {
        Error::Timeout { pending, .. } => {
            assert_eq!(pending.len(), 1);
            assert_eq!(pending[0].service, format!("{stack}_web"));
            assert_eq!(pending[0].replicas, "0/1");
            assert!(pending[0].state.starts_with("starting"), "{:?}", pending[0]);
        }
        other => panic!("expected Timeout, got {other:?}"),
    }
    assert!(waited < Duration::from_secs(12));
    assert_eq!(err.fault(), Fault::Recipe);
    s.teardown_to_nothing().await;
}

#[tokio::test]
async fn missing_image_is_an_infrastructure_error_before_anything_is_deployed() {
    let s = Scenario::unprotected("noimage").await;
    let run = &s.run;
    let doc = yaml(&format!(
        "version: '3.8'\nservices:\n  app: {{image: '{IMAGE}'}}\n  db: {{image: 'ccci-swarm-test/absent:0'}}\n"
    ));
    let err = s.deploy(&doc).await.unwrap_err();
    match &err {
        Error::ImagesMissing { missing } => {
            assert_eq!(missing, &vec![("db".to_string(), "ccci-swarm-test/absent:0".to_string())])
        }
        other => panic!("expected ImagesMissing, got {other:?}"),
    }
    assert!(err.is_infrastructure());
    assert!(err.to_string().contains("db needs ccci-swarm-test/absent:0"));
    assert_eq!(cli_leftovers(run), Vec::<String>::new(), "nothing was created");
}

#[tokio::test]
async fn a_document_docker_rejects_is_a_recipe_fault_with_docker_s_reason() {
    let s = Scenario::unprotected("rejected").await;
    let doc = yaml(&format!("version: '3.8'\nservices:\n  app:\n    image: '{IMAGE}'\n    networks: [nope]\n"));
    let err = s.deploy(&doc).await.unwrap_err();
    assert!(matches!(err, Error::DeployRejected { .. }), "{err:?}");
    assert_eq!(err.fault(), Fault::Recipe);
    let line = err.to_string();
    assert!(line.contains("nope") && !line.contains('\n'), "{line}");
    // Docker created the undeclared network `<stack>_nope` (stack label only, no run label: it was
    // not in the document to be labelled) before rejecting the service: teardown must remove it.
    s.teardown_to_nothing().await;
}

#[tokio::test]
async fn dollar_signs_deploy_literally() {
    let s = Scenario::new("dollar").await;
    let (sw, _run, stack) = (&s.sw, &s.run, &s.stack);
    // The already-interpolated value contains `$`, `$$` and `${X}` literally.
    // A global service too, to converge on "one task per eligible node".
    let mut doc = yaml(&format!(
        "version: '3.8'\nservices:\n  app:\n    image: '{IMAGE}'\n    command: ['sh', '-c', \"{SLEEPER}\"]\n  agent:\n    image: '{IMAGE}'\n    command: ['sh', '-c', \"{SLEEPER}\"]\n    deploy: {{mode: global}}\n"
    ));
    let literal = "pa$s$$w${HOME}rd$";
    doc["services"]["app"]["environment"] = yaml(&format!("{{PASS: '{literal}'}}"));
    s.deploy(&doc).await.unwrap();
    sw.wait_converged(stack, Duration::from_secs(60)).await.unwrap();
    let out = sw.exec(stack, "app", &["sh", "-c", "printf '%s\\n' \"$PASS\""]).await.unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{literal}\n"));
    s.teardown_to_nothing().await;
}

#[tokio::test]
async fn janitor_reaps_runs_that_are_not_live_and_spares_live_and_kept_ones() {
    ensure_image();
    let sw = swarm().await;
    let (live, dead, kept) = (run_id("janlive"), run_id("jandead"), run_id("jankept"));
    let _guards = [Cleanup(live.clone()), Cleanup(dead.clone()), Cleanup(kept.clone())];
    for run in [&live, &dead] {
        support::protect(&sw, run).await;
    }
    let work = tempfile::tempdir().unwrap();
    for run in [&live, &dead] {
        let stack = stack_for(run);
        let doc = yaml(&format!(
            "version: '3.8'\nservices:\n  app:\n    image: '{IMAGE}'\n    command: ['sh', '-c', \"{SLEEPER}\"]\n    volumes: ['data:/data']\nvolumes:\n  data:\n"
        ));
        sw.create_secret(run, &stack, &format!("{stack}_pw_v1"), b"x").await.unwrap();
        sw.deploy(&Deploy { stack: &stack, run_id: run, document: &doc, workdir: work.path(), dnsrr: true })
            .await
            .unwrap();
        sw.wait_converged(&stack, Duration::from_secs(60)).await.unwrap();
    }
    sw.create_secret(&kept, &stack_for(&kept), &format!("{}_pw_v1", stack_for(&kept)), b"x").await.unwrap();
    let until = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 3600;
    sw.keep_until(&kept, until - 60).await.unwrap();
    sw.keep_until(&kept, until).await.unwrap(); // replaces the first marker
                                                // The dead run was protected from other janitors while it was set up; now it is fair game.
    support::unprotect(&dead);

    // Scope to this test's runs: other tests (and other people) share the engine.
    let scope = format!("{}-jan", support::process_prefix());
    let t0 = Instant::now();
    let report = sw.janitor_where(&[live.as_str()], |r| r.starts_with(&scope), Duration::from_secs(90)).await.unwrap();
    eprintln!("janitor: {:?} in {:?}", report, t0.elapsed());
    // Another janitor on the engine may have reaped it first, in the instant since unprotect.
    assert!(report.reaped_runs.is_empty() || report.reaped_runs == vec![dead.clone()], "{report:?}");
    assert_eq!(report.kept_runs, vec![(kept.clone(), until)]);
    assert_eq!(cli_leftovers(&dead), Vec::<String>::new());
    assert!(!cli_leftovers(&kept).is_empty(), "kept run must stay");
    let live_left = cli_leftovers(&live);
    for kind in ["service", "ps", "secret", "volume", "network"] {
        assert!(live_left.iter().any(|l| l.starts_with(kind)), "live run lost its {kind}: {live_left:?}");
    }
    sw.wait_converged(&stack_for(&live), Duration::from_secs(10)).await.unwrap();

    sw.teardown(&stack_for(&live), &live, Duration::from_secs(60)).await.unwrap();
    sw.teardown(&stack_for(&kept), &kept, Duration::from_secs(60)).await.unwrap();
}

#[tokio::test]
async fn an_update_that_swarm_rolls_back_is_reported_as_rolled_back() {
    let s = Scenario::new("rollback").await;
    let (sw, _run, stack) = (&s.sw, &s.run, &s.stack);
    let doc = |command: &str| {
        yaml(&format!(
            r#"
version: "3.8"
services:
  app:
    image: {IMAGE}
    command: ["sh", "-c", "{command}"]
    deploy:
      update_config: {{failure_action: rollback, monitor: 5s}}
"#
        ))
    };
    let v1 = doc(SLEEPER);
    s.deploy(&v1).await.unwrap();
    sw.wait_converged(stack, Duration::from_secs(60)).await.unwrap();
    let v2 = doc("echo v2 is broken; exit 1");
    s.deploy(&v2).await.unwrap();
    let t0 = Instant::now();
    let err = sw.wait_converged(stack, Duration::from_secs(90)).await.unwrap_err();
    eprintln!("rollback detected after {:?}: {err}", t0.elapsed());
    match &err {
        Error::RolledBack { service, state, exit_code, last_log_lines, .. } => {
            assert_eq!(service, &format!("{stack}_app"));
            assert!(state.starts_with("rollback"), "{state}");
            assert_eq!(*exit_code, Some(1), "the failed task's exit code: {err}");
            assert_eq!(last_log_lines.last().map(String::as_str), Some("v2 is broken"), "{err}");
        }
        other => panic!("expected RolledBack, got {other:?}"),
    }
    assert_eq!(err.fault(), Fault::Recipe);
    s.teardown_to_nothing().await;
}

#[tokio::test]
async fn dnsrr_deploy_keeps_a_published_port_reachable_in_host_mode() {
    let s = Scenario::new("ports").await;
    let (sw, _run, stack) = (&s.sw, &s.run, &s.stack);
    // A free port on loopback for the host-mode publication.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let doc = yaml(&format!(
        r#"
version: "3.8"
services:
  web:
    image: {IMAGE}
    command: ["sh", "-c", "echo hi-from-web > /www/index.html; exec httpd -f -p 8080 -h /www"]
    ports: ["{port}:8080"]
    stop_grace_period: 1s
"#
    ));
    s.deploy(&doc).await.unwrap();
    sw.wait_converged(stack, Duration::from_secs(60)).await.unwrap();
    let body = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("host-mode port published");
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    })
    .await
    .unwrap();
    assert!(body.starts_with("HTTP/1.") && body.contains("hi-from-web"), "{body}");
    s.teardown_to_nothing().await;
}
