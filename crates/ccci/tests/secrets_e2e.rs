//! End to end on the real swarm (SPEC D2, T7 "the full log (secrets redacted)"): the secret values
//! a run generates never appear in anything it stores or shows. While each run is live the test
//! reads the values from inside the run's containers (`/run/secrets/<name>`); afterwards it
//! searches every file under the run's output and data directories and the process's
//! stdout/stderr for each value. `app-db` passes without printing its secrets; `leaky` prints
//! them on stdout and stderr and crashes, so its failure reason, diagnostics and log tails would
//! carry them if redaction were broken.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use support::{docker_lines, files_under, run_containers, spawn_ccci_test, testbed, Running, TestRun};

/// Read the values of `names` from the run's containers while it runs; returns what was read.
fn capture_secrets(running: &mut Running, run: &str, names: &[&str]) -> BTreeMap<String, String> {
    let mut values = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(300);
    while values.len() < names.len() && running.is_running() && Instant::now() < deadline {
        for c in run_containers(run) {
            for name in names {
                if values.contains_key(*name) {
                    continue;
                }
                let out = std::process::Command::new("docker")
                    .args(["exec", &c, "cat", &format!("/run/secrets/{name}")])
                    .output()
                    .expect("docker runs");
                let value = String::from_utf8_lossy(&out.stdout).into_owned();
                if out.status.success() && !value.is_empty() {
                    values.insert(name.to_string(), value);
                }
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    values
}

/// Every place a value would show: files under `dirs`, the process's stdout and stderr.
fn assert_nowhere(values: &BTreeMap<String, String>, run: &TestRun, dirs: &[&Path]) {
    let mut texts: Vec<(String, Vec<u8>)> =
        vec![("stdout".into(), run.output.stdout.clone()), ("stderr".into(), run.output.stderr.clone())];
    for dir in dirs {
        for f in files_under(dir) {
            texts.push((f.display().to_string(), std::fs::read(&f).unwrap_or_default()));
        }
    }
    assert!(texts.len() > 4, "nothing to search: {:?}", texts.iter().map(|t| &t.0).collect::<Vec<_>>());
    for (name, value) in values {
        // The file content exactly, and trimmed, in case a line ending was added or dropped.
        for needle in [value.as_str(), value.trim()] {
            for (what, bytes) in &texts {
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                    "the value of secret {name} appears in {what}"
                );
            }
        }
    }
}

/// Run `fixture`, capture its secrets while live, and search every output for them; returns the
/// run and the temporary directory holding its output (removed when dropped).
fn run_and_search(fixture: &str, secrets: &[&str]) -> (TestRun, tempfile::TempDir) {
    testbed();
    let work = tempfile::tempdir().unwrap();
    let repo = testbed::fixture(fixture, &work.path().join(fixture)).unwrap();
    let run_dir = work.path().join("run");
    let mut running = spawn_ccci_test(&run_dir, &repo.path, &["--tiers", "install"]);
    let id = running.run_id(Duration::from_secs(60));
    let values = capture_secrets(&mut running, &id, secrets);
    let run = running.wait();
    assert_eq!(
        values.keys().map(String::as_str).collect::<Vec<_>>(),
        {
            let mut s = secrets.to_vec();
            s.sort();
            s
        },
        "could not read every secret while the run was live: the test would prove nothing"
    );
    for v in values.values() {
        assert!(v.trim().len() >= 8, "implausible secret value length {}", v.len());
    }
    assert_nowhere(&values, &run, &[&run.out_dir, &run_dir.join("data")]);
    assert!(
        docker_lines(&["ps", "-aq", "--filter", &format!("label=cc-ci.run={id}")]).is_empty(),
        "containers of the run remain"
    );
    (run, work)
}

#[test]
fn app_db_secret_values_appear_in_no_output() {
    let (run, _work) = run_and_search("app-db", &["db_password", "app_key"]);
    assert_eq!(run.tier("install")["outcome"], "pass", "{}\nstderr:\n{}", run.result, run.stderr());
}

#[test]
fn leaky_app_printing_its_secrets_has_them_redacted_everywhere() {
    let (run, _work) = run_and_search("leaky", &["api_token", "admin_pass"]);
    let install = run.tier("install");
    assert_eq!(install["outcome"], "fail", "{}\nstderr:\n{}", run.result, run.stderr());
    assert_eq!(run.code(), Some(1));
    let reason = install["reason"].as_str().unwrap();
    // The app's last line names the token: it reaches the reason, masked.
    assert!(
        reason.contains("leaky: fatal: upstream rejected token [redacted]"),
        "the leaked line is not in the reason, masked: {reason}"
    );
    let diag = std::fs::read_to_string(run.out_dir.join("artifacts/diagnostics.txt")).unwrap();
    assert!(
        diag.contains("worker: calling upstream with [redacted] as [redacted]"),
        "the worker's log tail is not in the diagnostics, masked:\n{diag}"
    );
}
