//! End to end on the real swarm: pull-request code runs sandboxed (SPEC V9). The `webtests`
//! fixture, given a hostile test and a hostile host hook of its own, is run by a `ccci test` that
//! holds a forge token and webhook secret in its environment and is told to hide a token file and
//! a config file (world-readable, outside `/tmp`, as a careless operator might leave them). Every
//! attempt of the hostile code fails — reading those files, the store, another run's sandbox, the
//! Docker socket, `run-exec` into another stack, a secret the run does not hold, finding the token
//! in any environment it can see, reaching the image registry or another service on the host's
//! loopback (its network is its own, with only the proxy forwarded) — and the token appears in no file or output of the run, while
//! the fixture's own `run-exec`/`run-secret` test and its Playwright test pass in the same run.
//! The CI tree's (untrusted) test checks that every tool of the declared toolset
//! (`packaging/toolset`) resolves and runs inside the sandbox. A `kill -9` of `ccci test` in the
//! middle of the custom tier leaves no process of the run, however its test tried to detach them.

mod support;

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use support::{
    files_under, hostile, janitor, leftovers, poll, processes_mentioning, spawn_ccci_test_env, testbed, Event, Step,
};

/// A value unique to this test process, `prefix`ed.
fn unique(prefix: &str) -> String {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}{t:x}{}", std::process::id())
}

/// Checks every tool of `toolset` (the declared toolset's file, beside it) inside the sandbox.
const CHECK_TOOLSET: &str = r#"#!/bin/sh
# Every tool of the declared toolset resolves and runs here, in the sandbox.
failed=0
while read -r name source check; do
  case "$name" in ''|\#*) continue ;; esac
  if sh -c "$check" >/dev/null 2>&1; then echo "tool ok: $name"; else echo "tool MISSING: $name ($check)"; failed=1; fi
done <"$(dirname "$0")/toolset"
exit $failed
"#;

fn write(path: &Path, text: &str, mode: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn hostile_recipe_code_reaches_nothing_but_its_own_run_and_the_toolset_is_there() {
    testbed();
    // Outside /tmp (the sandbox's own /tmp is the run's directory): only the masks and the
    // runner user keep the hostile code from these files.
    let work = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    std::fs::set_permissions(work.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let (token, webhook_secret, password) = (unique("Tok"), unique("Hook"), unique("Pw"));
    let token_file = work.path().join("etc/token");
    let config = work.path().join("etc/server.toml");
    write(&token_file, &token, 0o644);
    write(&config, &format!("[forge]\ntoken = \"{token}\"\n"), 0o644);
    let data = work.path().join("data");
    // Not a run id, so the janitor spares it (another run's directory the run must not read).
    let other_run = data.join("sandbox/other_run");
    write(&other_run.join("home/secret"), &token, 0o644);

    let repo = testbed::fixture("webtests", &work.path().join("webtests")).unwrap();
    let host_service = hostile::host_service();
    let hostile =
        hostile::script(&token_file.display(), &config.display(), &data.display(), &other_run.display(), &host_service);
    write(&repo.path.join("tests/hostile"), &hostile, 0o755);
    let ccci_toml = repo.path.join("ccci.toml");
    let own = std::fs::read_to_string(&ccci_toml).unwrap();
    write(&ccci_toml, &format!("{own}\n[hooks.pre_install]\ncommand = \"sh tests/hostile\"\n"), 0o644);
    let ci = work.path().join("ci");
    write(&ci.join("recipes/webtests/tests/check-toolset"), CHECK_TOOLSET, 0o755);
    let toolset = std::fs::read_to_string(testbed::repo_root().join("packaging/toolset")).unwrap();
    write(&ci.join("recipes/webtests/tests/toolset"), &toolset, 0o644);

    let hide = std::env::join_paths([&token_file, &config]).unwrap();
    let env = [
        ("WEBTESTS_ADMIN_PASSWORD", OsStr::new(&password)),
        ("CCCI_FORGE_TOKEN", OsStr::new(&token)),
        ("CCCI_WEBHOOK_SECRET", OsStr::new(&webhook_secret)),
        ("CCCI_SANDBOX_HIDE", hide.as_os_str()),
    ];
    let args = ["--tiers", "install,custom", "--config-dir", ci.to_str().unwrap()];
    let run = spawn_ccci_test_env(work.path(), &repo.path, &args, &env).wait();

    let custom = run.tier("custom");
    let log: String = run
        .events()
        .iter()
        .filter_map(|e| match e {
            Event::Output { text, .. } => Some(text.clone()),
            Event::Step { step: Step::Note { text }, .. } => Some(text.clone()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(run.code(), Some(0), "{custom}\nlog:\n{log}\nstderr:\n{}", run.stderr());
    assert!(log.contains("run sandboxed as ccci-runner"), "{log}");
    for attempt in hostile::ATTEMPTS {
        // Once from the hook, once from the test.
        let refused = log.matches(&format!("refused: {attempt}")).count();
        assert_eq!(refused, 2, "{attempt} was not refused twice:\n{log}");
    }
    assert!(!log.contains("LEAK"), "{log}");
    assert!(
        log.contains(r#"run-exec: stack "traefik_ccci_test_app" is not this run's"#),
        "the refusal does not say why:\n{log}"
    );
    assert!(log.contains(r#"this run has no secret "no_such_secret""#), "{log}");
    assert!(
        log.contains("the sandbox's network refused") && log.contains("connections to not-this-run."),
        "the refusal of another app is not noted:\n{log}"
    );
    let case = |name: &str| {
        custom["cases"].as_array().unwrap().iter().find(|c| c["name"] == name).cloned().unwrap_or_default()
    };
    assert_eq!(case("recipe:hostile")["outcome"], "pass", "{custom}");
    assert_eq!(case("recipe:check-api-key")["outcome"], "pass", "legitimate run-exec/run-secret: {custom}");
    assert_eq!(case("recipe:test_web::test_follow_the_link_and_log_in")["outcome"], "pass", "Playwright: {custom}");
    assert_eq!(case("ci:check-toolset")["outcome"], "pass", "{custom}\n{log}");
    for name in toolset.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')) {
        let name = name.split_whitespace().next().unwrap();
        assert!(log.contains(&format!("tool ok: {name}")), "{name} not checked in the sandbox:\n{log}");
    }

    // The token and webhook secret are nowhere in what the run wrote or printed.
    let ours = [token_file.clone(), config.clone(), other_run.join("home/secret")];
    let mut places =
        vec![("stdout".to_string(), run.output.stdout.clone()), ("stderr".into(), run.output.stderr.clone())];
    for file in files_under(work.path()).into_iter().filter(|f| !ours.contains(f)) {
        places.push((file.display().to_string(), std::fs::read(&file).unwrap_or_default()));
    }
    for (name, bytes) in &places {
        let text = String::from_utf8_lossy(bytes);
        assert!(!text.contains(&token) && !text.contains(&webhook_secret), "the token or webhook secret is in {name}");
    }
    let sandboxes: Vec<_> = std::fs::read_dir(data.join("sandbox")).unwrap().flatten().map(|e| e.file_name()).collect();
    assert!(!sandboxes.iter().any(|n| n == run.run_id()), "the run's sandbox is left: {sandboxes:?}");
    assert_eq!(leftovers(run.run_id()), Vec::<String>::new(), "objects of the run remain");
}

#[test]
fn kill_9_of_ccci_mid_custom_tier_leaves_no_process_of_the_run() {
    testbed();
    let work = tempfile::tempdir().unwrap();
    let mark = format!("{}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos());
    let repo = testbed::fixture("webtests", &work.path().join("webtests")).unwrap();
    write(&repo.path.join("tests/zz-clinging"), &hostile::clinging(&mark), 0o755);
    let env = [("WEBTESTS_ADMIN_PASSWORD", OsStr::new("not-a-real-password"))];
    let mut run = spawn_ccci_test_env(work.path(), &repo.path, &["--tiers", "install,custom"], &env);
    let run_id = run.run_id(Duration::from_secs(60));
    poll("the run's four clinging processes", Duration::from_secs(300), || {
        (processes_mentioning(&mark).len() >= 4).then_some(())
    });
    run.kill9();
    poll("every process of the killed run to end", Duration::from_secs(30), || {
        processes_mentioning(&mark).is_empty().then_some(())
    });
    // Nothing of the run left: its processes (`ps` shows none), its sandbox, its Docker objects.
    let ps = std::process::Command::new("ps").args(["-eo", "pid,args"]).output().unwrap();
    let ps = String::from_utf8_lossy(&ps.stdout);
    assert!(!ps.contains(&mark), "a process of the killed run survived:\n{ps}");
    let said = janitor(work.path());
    assert!(said.contains(&format!("removed the sandbox of run {run_id}")), "{said}");
    assert_eq!(leftovers(&run_id), Vec::<String>::new(), "objects of the killed run remain");
}
