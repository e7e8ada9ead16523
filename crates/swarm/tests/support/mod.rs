//! Test support for the engine tests: a tiny local busybox image (no registry here), unique run
//! ids and stack names, and a guard that removes a test run's objects by label even when the
//! test panics. Touches nothing that is not labelled with the test's own run id.

#![allow(dead_code)]

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The test image: busybox-static with its applets, imported locally. Kept between runs as a
/// cache (labelled `cc-ci.test=swarm`); remove with `docker rmi ccci-swarm-test/busybox:1`.
pub const IMAGE: &str = "ccci-swarm-test/busybox:1";

static IMAGE_LOCK: Mutex<bool> = Mutex::new(false);
static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn docker(args: &[&str]) -> (bool, String) {
    let out = Command::new("docker").args(args).output().expect("docker CLI on PATH");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

/// Build the test image if it does not exist.
pub fn ensure_image() {
    let mut done = IMAGE_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if *done || docker(&["image", "inspect", IMAGE]).0 {
        *done = true;
        return;
    }
    let busybox = which("busybox").expect("busybox-static installed (apt-get install busybox-static)");
    let root = tempfile::tempdir().unwrap();
    let bin = root.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for d in ["tmp", "etc", "data", "www"] {
        std::fs::create_dir_all(root.path().join(d)).unwrap();
    }
    std::fs::copy(&busybox, bin.join("busybox")).unwrap();
    let list = Command::new(&busybox).arg("--list").output().unwrap();
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        if applet != "busybox" {
            std::os::unix::fs::symlink("busybox", bin.join(applet)).unwrap();
        }
    }
    std::fs::write(root.path().join("etc/passwd"), "root:x:0:0:root:/:/bin/sh\n").unwrap();
    let tar = root.path().with_extension("tar");
    let ok =
        Command::new("tar").args(["-C"]).arg(root.path()).args(["-cf"]).arg(&tar).arg(".").status().unwrap().success();
    assert!(ok, "tar failed");
    let (ok, out) = docker(&[
        "import",
        "--change",
        "ENV PATH=/bin",
        "--change",
        "CMD [\"/bin/sh\"]",
        "--change",
        "LABEL cc-ci.test=swarm",
        tar.to_str().unwrap(),
        IMAGE,
    ]);
    let _ = std::fs::remove_file(&tar);
    assert!(ok, "docker import failed: {out}");
    *done = true;
}

fn which(name: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")?.to_str()?.split(':').map(|d| std::path::Path::new(d).join(name)).find(|p| p.exists())
}

/// A unique run id for this test process, with a prefix shared by the whole process so the
/// janitor test can scope itself to this process's runs.
pub fn run_id(tag: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    format!("{}-{tag}-{n}", process_prefix())
}

/// `swt<pid><secs>`: the prefix of every run id of this test process.
pub fn process_prefix() -> String {
    static START: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let secs = START.get_or_init(|| SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() % 100_000);
    format!("swt{}x{secs}", std::process::id())
}

/// A stack name for a run id (`.`/`-` are fine in run ids, stack names keep to `[a-z0-9_]`).
pub fn stack_for(run_id: &str) -> String {
    run_id.replace('-', "_")
}

/// Removes everything labelled with the run when dropped (a safety net for failing tests; the
/// tests themselves use the crate's teardown).
pub struct Cleanup(pub String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let filter = format!("label=cc-ci.run={}", self.0);
        let ids = |args: &[&str]| -> Vec<String> {
            let mut a = args.to_vec();
            a.extend(["--filter", &filter, "-q"]);
            docker(&a).1.split_whitespace().map(str::to_string).collect()
        };
        let rm = |cmd: &[&str], ids: Vec<String>| {
            if !ids.is_empty() {
                let mut a = cmd.to_vec();
                a.extend(ids.iter().map(String::as_str));
                docker(&a);
            }
        };
        rm(&["service", "rm"], ids(&["service", "ls"]));
        let deadline = Instant::now() + Duration::from_secs(60);
        while !ids(&["ps", "-a", "--filter", "label=com.docker.swarm.service.id"]).is_empty()
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(500));
        }
        rm(&["rm", "-f", "-v"], ids(&["ps", "-a"]));
        rm(&["network", "rm"], ids(&["network", "ls"]));
        rm(&["config", "rm"], ids(&["config", "ls"]));
        rm(&["secret", "rm"], ids(&["secret", "ls"]));
        rm(&["volume", "rm"], ids(&["volume", "ls"]));
    }
}

/// What `docker <kind> ls --filter label=cc-ci.run=<run>` lists, for every kind (the CLI's
/// independent view, to double-check the crate's residual check).
pub fn cli_leftovers(run_id: &str) -> Vec<String> {
    let filter = format!("label=cc-ci.run={run_id}");
    let mut out = Vec::new();
    for kind in [
        &["service", "ls"][..],
        &["ps", "-a"],
        &["network", "ls"],
        &["config", "ls"],
        &["secret", "ls"],
        &["volume", "ls"],
    ] {
        let mut a = kind.to_vec();
        a.extend(["--filter", &filter, "-q"]);
        let (ok, text) = docker(&a);
        assert!(ok, "docker {a:?}: {text}");
        out.extend(text.split_whitespace().map(|id| format!("{} {id}", kind[0])));
    }
    out
}

/// Parse a YAML compose document.
pub fn yaml(s: &str) -> serde_norway::Value {
    serde_norway::from_str(s).expect("valid YAML")
}

/// Protect a test run from every janitor on this engine (other engineers' test runs call the
/// janitor with their own live set) for half an hour, with the crate's keep-until marker; the
/// marker carries the run label, so teardown removes it with the rest.
pub async fn protect(sw: &swarm::Swarm, run_id: &str) {
    let until = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() + 1800;
    sw.keep_until(run_id, until).await.expect("keep marker");
}

/// Remove a run's keep marker (by its well-known name).
pub fn unprotect(run_id: &str) {
    docker(&["config", "rm", &format!("cc-ci-keep_{run_id}")]);
}

/// One test's run on the real swarm: a unique run id and stack, a private work dir, protection
/// from other janitors on the engine, and removal of whatever is left when it is dropped.
pub struct Scenario {
    pub sw: swarm::Swarm,
    pub run: String,
    pub stack: String,
    pub work: tempfile::TempDir,
    _cleanup: Cleanup,
}

impl Scenario {
    /// A protected run tagged `tag`, with the test image present.
    pub async fn new(tag: &str) -> Self {
        let s = Self::unprotected(tag).await;
        protect(&s.sw, &s.run).await;
        s
    }

    /// A run no marker protects (for tests that expect nothing of the run to exist).
    pub async fn unprotected(tag: &str) -> Self {
        ensure_image();
        let sw = swarm::Swarm::connect().await.expect("docker engine reachable");
        let run = run_id(tag);
        let stack = stack_for(&run);
        Scenario { sw, stack, work: tempfile::tempdir().unwrap(), _cleanup: Cleanup(run.clone()), run }
    }

    /// Deploy `doc` as the run's stack (dnsrr: the test machines have no IPVS).
    pub async fn deploy(&self, doc: &serde_norway::Value) -> swarm::Result<swarm::deploy::Deployed> {
        let deploy = swarm::deploy::Deploy {
            stack: &self.stack,
            run_id: &self.run,
            document: doc,
            workdir: self.work.path(),
            dnsrr: true,
        };
        self.sw.deploy(&deploy).await
    }

    /// Deploy `doc` and wait until it has converged.
    pub async fn deploy_converged(&self, doc: &serde_norway::Value) {
        self.deploy(doc).await.unwrap();
        self.sw.wait_converged(&self.stack, Duration::from_secs(60)).await.unwrap();
    }

    /// Tear the run down and check, with the crate and with the CLI, that nothing of it is left.
    pub async fn teardown_to_nothing(&self) -> swarm::teardown::TornDown {
        let torn = self.sw.teardown(&self.stack, &self.run, Duration::from_secs(60)).await.unwrap();
        self.sw.residual_check(&self.run, Some(&self.stack)).await.unwrap();
        assert_eq!(cli_leftovers(&self.run), Vec::<String>::new());
        torn
    }
}
