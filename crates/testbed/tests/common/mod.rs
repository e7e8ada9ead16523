//! Test-only deployment of fixtures with plain `docker stack deploy` (no product code): the env
//! comes from `.env.sample` and `abra.sh`, `endpoint_mode: dnsrr` is injected by an extra compose
//! file (this machine has no IPVS), and Docker's CLI does the interpolation. Every object gets the
//! stack name `ccci-tb-<what>-<hex>`; secrets are labelled `cc-ci.testbed=test`. Teardown removes
//! exactly those objects and waits until none remains.

#![allow(dead_code)]

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use testbed::{proxy_get, Response};

pub struct TestStack {
    pub name: String,
    pub domain: String,
    secrets: Vec<String>,
    dir: tempfile::TempDir,
    torn_down: bool,
}

/// Runs docker with `args`; stdout on success, stderr in the error.
pub fn docker(args: &[&str]) -> Result<String, String> {
    let out = Command::new("docker").args(args).output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(format!("docker {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
    }
}

/// Polls `check` every 200 ms until it returns `Some`, or fails after `limit`.
pub fn wait_for<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(start.elapsed() < limit, "timed out after {limit:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

impl TestStack {
    pub fn new(what: &str) -> Self {
        let hex = RandomState::new().hash_one(std::process::id()) & 0xff_ffff;
        let name = format!("ccci-tb-{what}-{hex:06x}");
        let domain = format!("{name}.{}", testbed::BASE_DOMAIN);
        TestStack { name, domain, secrets: Vec::new(), dir: tempfile::tempdir().expect("temp dir"), torn_down: false }
    }

    /// The app env: `.env.sample` values (modifier comments and quotes dropped), `abra.sh` exports,
    /// then this stack's `STACK_NAME` and `DOMAIN`, and no ACME resolver.
    pub fn env(&self, repo: &Path) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = Vec::new();
        for file in [".env.sample", "abra.sh"] {
            let text = std::fs::read_to_string(repo.join(file)).unwrap_or_default();
            for line in text.lines() {
                let line = line.trim();
                let line = line.strip_prefix("export ").unwrap_or(line);
                if line.starts_with('#') {
                    continue;
                }
                let Some((k, v)) = line.split_once('=') else {
                    continue;
                };
                if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    continue;
                }
                let v = v.split(" #").next().unwrap_or("").trim();
                let v = v.trim_matches('"').trim_matches('\'');
                env.retain(|(key, _)| key != k);
                env.push((k.to_string(), v.to_string()));
            }
        }
        env.retain(|(k, _)| !["DOMAIN", "STACK_NAME", "LETS_ENCRYPT_ENV"].contains(&k.as_str()));
        env.push(("STACK_NAME".into(), self.name.clone()));
        env.push(("DOMAIN".into(), self.domain.clone()));
        env.push(("LETS_ENCRYPT_ENV".into(), String::new()));
        env
    }

    /// Creates secret `<stack>_<name>_<version>` with `value`.
    pub fn create_secret(&mut self, name: &str, version: &str, value: &str) {
        let full = format!("{}_{name}_{version}", self.name);
        let mut child = Command::new("docker")
            .args(["secret", "create", "--label", "cc-ci.testbed=test", &full, "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("docker secret create");
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(value.as_bytes()).expect("secret value");
        drop(stdin);
        assert!(child.wait().unwrap().success(), "creating secret {full}");
        self.secrets.push(full);
    }

    /// `docker stack deploy` of `files` from `repo`, with `endpoint_mode: dnsrr` for `services`.
    pub fn deploy(&self, repo: &Path, files: &[&str], services: &[&str]) -> Result<(), String> {
        let overlay = self.dir.path().join("dnsrr.yml");
        let mut text = String::from("version: \"3.8\"\nservices:\n");
        for s in services {
            text.push_str(&format!("  {s}:\n    deploy:\n      endpoint_mode: dnsrr\n"));
        }
        std::fs::write(&overlay, text).map_err(|e| e.to_string())?;
        let mut cmd = Command::new("docker");
        cmd.current_dir(repo).env_clear().args(["stack", "deploy", "--resolve-image", "never"]);
        for f in files {
            cmd.args(["-c", f]);
        }
        cmd.arg("-c").arg(&overlay).arg(&self.name);
        for key in ["PATH", "HOME", "DOCKER_HOST"] {
            if let Ok(v) = std::env::var(key) {
                cmd.env(key, v);
            }
        }
        cmd.envs(self.env(repo));
        let out = cmd.output().map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// Waits until `GET https://<host><path>` through the proxy answers `status` and `accept`s the
    /// body; returns that response.
    pub fn wait_http(&self, host: &str, path: &str, status: u16, accept: impl Fn(&str) -> bool) -> Response {
        wait_for(&format!("{host}{path} to answer {status}"), Duration::from_secs(90), || {
            proxy_get(host, path).ok().filter(|r| r.status == status && accept(&r.body))
        })
    }

    /// The id of the running container of service `<stack>_<service>`.
    pub fn container(&self, service: &str) -> String {
        let filter = format!("label=com.docker.swarm.service.name={}_{service}", self.name);
        wait_for(&format!("a container of {service}"), Duration::from_secs(60), || {
            let ids = docker(&["ps", "-q", "--filter", &filter]).ok()?;
            ids.lines().next().map(str::to_string)
        })
    }

    /// Removes the stack, its volumes and the secrets created here; waits until nothing remains.
    pub fn teardown(&mut self) -> Result<(), String> {
        self.torn_down = true;
        let ns = format!("label=com.docker.stack.namespace={}", self.name);
        let _ = docker(&["stack", "rm", &self.name]);
        let leftovers = || -> Vec<String> {
            let mut left = Vec::new();
            for kind in [["service", "ls"], ["network", "ls"], ["config", "ls"], ["ps", "-a"]] {
                let mut args = kind.to_vec();
                args.extend(["-q", "--filter", &ns]);
                if let Ok(out) = docker(&args) {
                    left.extend(out.lines().map(|l| format!("{} {l}", kind[0])));
                }
            }
            left
        };
        let start = Instant::now();
        while !leftovers().is_empty() {
            if start.elapsed() > Duration::from_secs(60) {
                return Err(format!("left over after stack rm: {:?}", leftovers()));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        for volume in docker(&["volume", "ls", "-q", "--filter", &ns])?.lines() {
            docker(&["volume", "rm", volume])?;
        }
        for secret in std::mem::take(&mut self.secrets) {
            docker(&["secret", "rm", &secret])?;
        }
        Ok(())
    }
}

impl Drop for TestStack {
    fn drop(&mut self) {
        if !self.torn_down {
            let _ = self.teardown();
        }
    }
}
