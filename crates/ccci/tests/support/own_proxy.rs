//! A proxy of a test's own for `ccci server init` and `ccci infra`: its own base domain, data
//! dir, local CA and free host ports, so the testbed's proxy is never disturbed. Every stack
//! named for its base domain (its own, and the apps' behind it), with their volumes and secrets,
//! is removed when it is dropped.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use super::server::free_port;

/// The set-up under test and the cleanup of what it deployed.
pub struct OwnProxy {
    pub config: PathBuf,
    pub data: PathBuf,
    pub base: String,
    pub stack: String,
    pub https: SocketAddr,
    /// A runner user of this proxy's own (`ccci server init` makes it; deleted when dropped).
    pub runner: String,
    pub work: tempfile::TempDir,
}

impl OwnProxy {
    /// A proxy configured with the builtin recipe; `tail` is appended to the configuration, in
    /// its `[infra.proxy]` table (later tables may follow).
    pub fn new(tail: &dyn Fn(&Path) -> String) -> OwnProxy {
        super::testbed();
        let work = tempfile::tempdir().unwrap();
        let id = format!("{:x}{:x}", std::process::id(), Instant::now().elapsed().subsec_nanos() % 4096);
        let base = format!("init-{id}.test");
        let data = work.path().join("data");
        let (web, web_secure) = (free_port(), free_port());
        let config = work.path().join("server.toml");
        let text = format!(
            "base_domain = \"{base}\"\ndata_dir = \"{}\"\ndnsrr = true\n[tls]\nlocal_ca = true\n\
             [infra.proxy]\nweb_port = {web}\nweb_secure_port = {web_secure}\n{}",
            data.display(),
            tail(work.path())
        );
        std::fs::write(&config, text).unwrap();
        let stack = format!("traefik_{}", base.replace('.', "_"));
        let https = SocketAddr::from(([127, 0, 0, 1], web_secure));
        let runner = format!("ccci-t{id}");
        OwnProxy { config, data, base, stack, https, runner, work }
    }

    /// `ccci <args> --config <its config>`, to start.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ccci"));
        command.args(args).arg("--config").arg(&self.config).env("CCCI_RUNNER_USER", &self.runner);
        command
    }

    /// `ccci <args> --config <its config>`, run to its end.
    pub fn ccci(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("ccci runs")
    }

    /// `ccci server init`, which must succeed; its steps as `(subject, change)`.
    pub fn init_ok(&self) -> (Vec<(String, String)>, String) {
        let out = self.ccci(&["server", "init"]);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{stdout}\nstderr:\n{}", String::from_utf8_lossy(&out.stderr));
        let steps = stdout
            .lines()
            .filter_map(|l| l.split_once(": "))
            .filter_map(|(subject, rest)| Some((subject.to_string(), rest.split_once(';')?.0.to_string())))
            .collect();
        (steps, stdout)
    }

    pub fn ca(&self) -> PathBuf {
        self.data.join("tls/ca.pem")
    }

    /// The proxy's answer for `host` of its base domain (`nobody`: an unknown host), over HTTPS
    /// verified by the CA.
    pub fn status_of(&self, host: &str) -> u16 {
        let host = format!("{host}.{}", self.base);
        testbed::http::https_get(self.https, &host, "/", &self.ca()).expect("verified HTTPS").status
    }

    pub fn labelled(&self, kind: &str, label: &str) -> Vec<String> {
        let filter = format!("label={label}");
        let mut args = vec![kind, "ls", "-q", "--filter", &filter];
        if kind != "volume" {
            args.extend(["--format", "{{.Name}}"]);
        }
        super::docker_lines(&args)
    }
}

impl OwnProxy {
    /// The stacks named for its base domain (`<name>_<base domain with _ for .>`): the proxy's,
    /// and those of the apps behind it (warm dependencies, a test's own).
    pub fn stacks(&self) -> Vec<String> {
        let suffix = format!("_{}", self.base.replace('.', "_"));
        super::docker_lines(&["stack", "ls", "--format", "{{.Name}}"])
            .into_iter()
            .filter(|s| s.ends_with(&suffix))
            .collect()
    }
}

impl Drop for OwnProxy {
    fn drop(&mut self) {
        let _ = Command::new("userdel").arg(&self.runner).output();
        let stacks = self.stacks();
        for stack in &stacks {
            let _ = Command::new("docker").args(["stack", "rm", stack]).output();
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        for stack in &stacks {
            let filter = format!("label=com.docker.stack.namespace={stack}");
            while Instant::now() < deadline && !super::docker_lines(&["ps", "-aq", "--filter", &filter]).is_empty() {
                std::thread::sleep(Duration::from_millis(200));
            }
            for kind in ["volume", "secret"] {
                for name in super::docker_lines(&[kind, "ls", "-q", "--filter", &filter]) {
                    let _ = Command::new("docker").args([kind, "rm", &name]).output();
                }
            }
        }
    }
}
