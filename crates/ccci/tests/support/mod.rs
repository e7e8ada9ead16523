//! Shared helpers of the end-to-end tests: run the real `ccci` binary against the testbed's swarm
//! and its real proxy (Traefik over HTTPS, verified against the testbed's CA), read what a run
//! left, and list Docker objects still labelled with a run.

#![allow(dead_code)]

pub mod hostile;
pub mod multinode;
pub mod own_proxy;
pub mod server;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

#[allow(unused_imports)] // each test binary uses some of them
pub use harness::events::{Event, Role, Step};

/// A finished `ccci test` invocation.
pub struct TestRun {
    pub output: Output,
    pub out_dir: PathBuf,
    pub result: serde_json::Value,
}

impl TestRun {
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }
    pub fn code(&self) -> Option<i32> {
        self.output.status.code()
    }
    pub fn run_id(&self) -> &str {
        self.result["run_id"].as_str().expect("run_id in result.json")
    }
    /// The run's events, from events.jsonl.
    pub fn events(&self) -> Vec<Event> {
        events_in(&self.out_dir)
    }

    /// The steps the run told, in order.
    pub fn steps(&self) -> Vec<Step> {
        steps_of(&self.events())
    }

    pub fn tier(&self, name: &str) -> &serde_json::Value {
        self.result["tiers"]
            .as_array()
            .and_then(|t| t.iter().find(|t| t["tier"] == name))
            .unwrap_or_else(|| panic!("no tier {name} in {}", self.result))
    }
}

/// The testbed ready (engine, swarm, proxy, images) or a panic saying why not.
pub fn testbed() {
    testbed::ensure_ready().expect("the testbed must be ready: run scripts/testbed-setup");
}

/// A `ccci` command with the testbed's options (the real proxy over HTTPS, its certificate
/// verified against the testbed's CA) and a private data dir under `work`.
pub fn ccci(work: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ccci"));
    cmd.env("CCCI_DATA_DIR", work.join("data"))
        .env("CCCI_PROXY_ADDR", testbed::proxy_addr().to_string())
        .env("CCCI_SCHEME", "https")
        .env("CCCI_CA_BUNDLE", testbed::ca_bundle())
        .env("CCCI_DNSRR", "true")
        .env("CCCI_BASE_DOMAIN", testbed::BASE_DOMAIN);
    cmd
}

/// Run `ccci test <recipe> <args...> --out <work>/out` and read its result.json.
pub fn ccci_test(work: &Path, recipe: &Path, args: &[&str]) -> TestRun {
    spawn_ccci_test(work, recipe, args).wait()
}

/// How long one `ccci test` may take in a test before it is stopped and the test fails: a hang
/// must fail its test, never the whole suite. `CCCI_TEST_DEADLINE_SECS` overrides the default.
fn run_deadline() -> Duration {
    let secs = std::env::var("CCCI_TEST_DEADLINE_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(900);
    Duration::from_secs(secs)
}

/// Every Docker object (of each kind) still labelled `cc-ci.run=<run>`, as `kind name` lines.
pub fn leftovers(run: &str) -> Vec<String> {
    let filter = format!("label=cc-ci.run={run}");
    let mut found = Vec::new();
    for (kind, args) in [
        ("service", vec!["service", "ls", "-q"]),
        ("container", vec!["ps", "-aq"]),
        ("secret", vec!["secret", "ls", "-q"]),
        ("config", vec!["config", "ls", "-q"]),
        ("network", vec!["network", "ls", "-q"]),
        ("volume", vec!["volume", "ls", "-q"]),
    ] {
        let out = Command::new("docker").args(&args).args(["--filter", &filter]).output().expect("docker runs");
        for line in String::from_utf8_lossy(&out.stdout).lines().filter(|l| !l.is_empty()) {
            found.push(format!("{kind} {line}"));
        }
    }
    found
}

/// Run `ccci test <recipe> <args...> --out <out>` with its own data dir `work/data` and its
/// stdout/stderr in `work/stdout.txt` and `work/stderr.txt`, without waiting for it.
pub fn spawn_ccci_test(work: &Path, recipe: &Path, args: &[&str]) -> Running {
    spawn_ccci_test_env(work, recipe, args, &[])
}

/// [`spawn_ccci_test`] with extra environment variables for the `ccci` process.
pub fn spawn_ccci_test_env(work: &Path, recipe: &Path, args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> Running {
    std::fs::create_dir_all(work).expect("work dir");
    let out_dir = work.join("out");
    let stdout = work.join("stdout.txt");
    let stderr = work.join("stderr.txt");
    let child = ccci(work)
        .envs(env.iter().copied())
        .arg("test")
        .arg(recipe)
        .args(args)
        .arg("--out")
        .arg(&out_dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&stdout).expect("stdout file"))
        .stderr(std::fs::File::create(&stderr).expect("stderr file"))
        .spawn()
        .expect("ccci starts");
    Running { child, out_dir, stdout, stderr }
}

/// A `ccci test` running in the background (see [`spawn_ccci_test`]).
pub struct Running {
    pub child: std::process::Child,
    pub out_dir: PathBuf,
    pub stdout: PathBuf,
    pub stderr: PathBuf,
}

impl Running {
    /// The run id, from the run's first event (told before anything is deployed); panics if it
    /// does not appear within `patience` or the process ends first.
    pub fn run_id(&mut self, patience: Duration) -> String {
        let deadline = Instant::now() + patience;
        loop {
            if let Some(id) = run_id_in(&self.out_dir) {
                return id;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("ccci ended ({status}) before telling its run id; stderr:\n{}", self.stderr_text());
            }
            assert!(Instant::now() < deadline, "no run id in {} after {patience:?}", self.out_dir.display());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The steps the run has told so far.
    pub fn steps_so_far(&self) -> Vec<Step> {
        steps_of(&events_in(&self.out_dir))
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    pub fn stdout_text(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    /// `kill -9` the process and reap it.
    pub fn kill9(&mut self) {
        self.child.kill().expect("SIGKILL");
        let status = self.child.wait().expect("wait");
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9),
            "ccci ended before it could be killed ({status}); stderr:\n{}",
            self.stderr_text()
        );
    }

    /// Wait for the process to end (at most [`run_deadline`]) and read its result.json.
    pub fn wait(mut self) -> TestRun {
        let status = self.wait_within(run_deadline());
        let output = Output {
            status,
            stdout: std::fs::read(&self.stdout).unwrap_or_default(),
            stderr: std::fs::read(&self.stderr).unwrap_or_default(),
        };
        let text = std::fs::read_to_string(self.out_dir.join("result.json"))
            .unwrap_or_else(|e| panic!("no result.json ({e}); stderr:\n{}", String::from_utf8_lossy(&output.stderr)));
        TestRun {
            output,
            out_dir: std::mem::take(&mut self.out_dir),
            result: serde_json::from_str(&text).expect("result.json is JSON"),
        }
    }
}

impl Running {
    /// The exit status once the process ends; past `limit` it gets SIGTERM (a chance to tear its
    /// run down), then SIGKILL a minute later, and the test fails saying so.
    fn wait_within(&mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            if Instant::now() >= deadline {
                stop(&mut self.child, Duration::from_secs(60));
                panic!("ccci test still running after {limit:?}; stopped it. stderr:\n{}", self.stderr_text());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// SIGTERM, up to `grace` to end, then SIGKILL; reaped either way.
pub fn stop(child: &mut std::process::Child, grace: Duration) {
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
}

impl Drop for Running {
    /// A test that panics must not leave a `ccci test` running (its app would stay live).
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The events a run wrote to `<out_dir>/events.jsonl` so far (none when it is not there yet).
pub fn events_in(out_dir: &Path) -> Vec<Event> {
    harness::report::read_jsonl(&out_dir.join(harness::report::EVENTS_FILE))
        .map(|all| all.into_iter().map(|s| s.event).collect())
        .unwrap_or_default()
}

/// The run id in a run's first event.
pub fn run_id_in(out_dir: &Path) -> Option<String> {
    match events_in(out_dir).into_iter().next()? {
        Event::RunStarted { run_id, .. } => Some(run_id),
        _ => None,
    }
}

/// The steps among `events`, in order.
pub fn steps_of(events: &[Event]) -> Vec<Step> {
    events.iter().filter_map(|e| if let Event::Step { step, .. } = e { Some(step.clone()) } else { None }).collect()
}

/// Whether hook `name` was started in `service`.
pub fn ran_hook(steps: &[Step], name: &str, service: &str) -> bool {
    steps.iter().any(|s| matches!(s, Step::HookStarted { name: n, service: Some(s) } if n == name && s == service))
}

/// Lines of a docker command's stdout (empty lines dropped); panics if docker cannot run.
pub fn docker_lines(args: &[&str]) -> Vec<String> {
    let out = Command::new("docker").args(args).output().expect("docker runs");
    String::from_utf8_lossy(&out.stdout).lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect()
}

/// Ids of the running containers labelled with `run`.
pub fn run_containers(run: &str) -> Vec<String> {
    docker_lines(&["ps", "-q", "--filter", &format!("label=cc-ci.run={run}")])
}

/// Names of the services labelled with `run`.
pub fn run_services(run: &str) -> Vec<String> {
    docker_lines(&["service", "ls", "--format", "{{.Name}}", "--filter", &format!("label=cc-ci.run={run}")])
}

/// Poll `probe` every 50 ms until it returns `Some`, or panic with `what` after `patience`.
pub fn poll<T>(what: &str, patience: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + patience;
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: not seen after {patience:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Run `ccci janitor` (with the machine's live-run directory) and return its stdout.
pub fn janitor(work: &Path) -> String {
    let out = ccci(work).arg("janitor").output().expect("ccci janitor runs");
    assert!(out.status.success(), "ccci janitor failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Processes whose command line mentions `needle` (e.g. a killed run's orphaned `docker stack
/// deploy`, whose compose file lies in the run's work directory).
pub fn processes_mentioning(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(needle) {
            found.push(format!("{} {cmdline}", entry.file_name().to_string_lossy()));
        }
    }
    found
}
