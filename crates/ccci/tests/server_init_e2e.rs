//! End to end on the real swarm: `ccci server init` sets up a proxy of its own (its own base
//! domain, data dir, local CA and free host ports, so the testbed's proxy is never disturbed):
//! the first call deploys Traefik from the project's recipe and it answers 404 for an unknown host
//! over HTTPS with the certificate verified against the CA it printed; a second call changes
//! nothing and says so; a deleted proxy service comes back; a renewed certificate becomes new
//! secret versions and the old ones go; every object carries `cc-ci.infra=proxy` and none
//! `cc-ci.run`. Without a Docker engine it refuses, saying what to install.

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use support::server::free_port;

/// The set-up under test and the cleanup of what it deployed.
struct Setup {
    config: PathBuf,
    data: PathBuf,
    base: String,
    stack: String,
    https: SocketAddr,
    /// A runner user of this test's own (made by init, deleted at the end).
    runner: String,
    _work: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        support::testbed();
        let work = tempfile::tempdir().unwrap();
        let id = format!("{:x}{:x}", std::process::id(), Instant::now().elapsed().subsec_nanos() % 4096);
        let base = format!("init-{id}.test");
        let data = work.path().join("data");
        let (web, web_secure) = (free_port(), free_port());
        let config = work.path().join("server.toml");
        let text = format!(
            "base_domain = \"{base}\"\ndata_dir = \"{}\"\ndnsrr = true\n[tls]\nlocal_ca = true\n\
             [infra.proxy]\nweb_port = {web}\nweb_secure_port = {web_secure}\n",
            data.display()
        );
        std::fs::write(&config, text).unwrap();
        let stack = format!("traefik_{}", base.replace('.', "_"));
        let https = SocketAddr::from(([127, 0, 0, 1], web_secure));
        let runner = format!("ccci-t{id}");
        Setup { config, data, base, stack, https, runner, _work: work }
    }

    fn init(&self) -> Output {
        Command::new(env!("CARGO_BIN_EXE_ccci"))
            .args(["server", "init", "--config"])
            .arg(&self.config)
            .env("CCCI_RUNNER_USER", &self.runner)
            .output()
            .expect("ccci runs")
    }

    /// `ccci server init`, which must succeed; its steps as `(subject, change)`.
    fn init_ok(&self) -> (Vec<(String, String)>, String) {
        let out = self.init();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{stdout}\nstderr:\n{}", String::from_utf8_lossy(&out.stderr));
        let steps = stdout
            .lines()
            .filter_map(|l| l.split_once(": "))
            .filter_map(|(subject, rest)| Some((subject.to_string(), rest.split_once(';')?.0.to_string())))
            .collect();
        (steps, stdout)
    }

    fn ca(&self) -> PathBuf {
        self.data.join("tls/ca.pem")
    }

    /// The proxy's answer for an unknown host of the base domain, over HTTPS verified by the CA.
    fn unknown_host_status(&self) -> u16 {
        let host = format!("nobody.{}", self.base);
        testbed::http::https_get(self.https, &host, "/", &self.ca()).expect("verified HTTPS").status
    }

    fn labelled(&self, kind: &str, label: &str) -> Vec<String> {
        let filter = format!("label={label}");
        let mut args = vec![kind, "ls", "-q", "--filter", &filter];
        if kind != "volume" {
            args.extend(["--format", "{{.Name}}"]);
        }
        support::docker_lines(&args)
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["stack", "rm", &self.stack]).output();
        let _ = Command::new("userdel").arg(&self.runner).output();
        let filter = format!("label=com.docker.stack.namespace={}", self.stack);
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline && !support::docker_lines(&["ps", "-aq", "--filter", &filter]).is_empty() {
            std::thread::sleep(Duration::from_millis(200));
        }
        for kind in ["volume", "secret"] {
            for name in support::docker_lines(&[kind, "ls", "-q", "--filter", &filter]) {
                let _ = Command::new("docker").args([kind, "rm", &name]).output();
            }
        }
    }
}

fn change_of<'a>(steps: &'a [(String, String)], subject: &str) -> &'a str {
    steps
        .iter()
        .find(|(s, _)| s == subject)
        .map(|(_, c)| c.as_str())
        .unwrap_or_else(|| panic!("no {subject}: {steps:?}"))
}

#[test]
fn server_init_deploys_the_proxy_once_and_restores_it() {
    let setup = Setup::new();
    let (steps, stdout) = setup.init_ok();
    assert_eq!(change_of(&steps, "certificate"), "created", "{stdout}");
    assert_eq!(change_of(&steps, "proxy"), "created", "{stdout}");
    let runner_step = format!("runner user {}", setup.runner);
    assert_eq!(change_of(&steps, &runner_step), "created", "{stdout}");
    assert!(stdout.contains(&format!("CA: {}", setup.ca().display())), "the CA's path is printed: {stdout}");
    assert!(stdout.contains("answered 404 with the certificate verified"), "{stdout}");
    assert_eq!(setup.unknown_host_status(), 404);

    let (steps, stdout) = setup.init_ok();
    assert!(steps.iter().all(|(_, change)| change == "unchanged"), "{stdout}");
    assert!(stdout.trim_end().ends_with("ready; nothing changed"), "{stdout}");

    // Someone put the runner user in the docker group (root on the host): init takes it out.
    let added = Command::new("gpasswd").args(["-a", &setup.runner, "docker"]).output().unwrap();
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let (steps, stdout) = setup.init_ok();
    assert_eq!(change_of(&steps, &runner_step), "replaced", "{stdout}");
    let groups = Command::new("id").args(["-Gn", &setup.runner]).output().unwrap();
    assert!(!String::from_utf8_lossy(&groups.stdout).contains("docker"), "still in the docker group");

    let service = format!("{}_app", setup.stack);
    assert_eq!(setup.labelled("service", "cc-ci.infra=proxy").iter().filter(|s| **s == service).count(), 1);
    let ns = format!("com.docker.stack.namespace={}", setup.stack);
    for kind in ["service", "secret", "config", "volume"] {
        let of_stack = setup.labelled(kind, &ns);
        assert!(!of_stack.is_empty(), "no {kind} of the proxy");
        let infra = setup.labelled(kind, "cc-ci.infra=proxy");
        assert!(of_stack.iter().all(|o| infra.contains(o)), "a {kind} of the proxy lacks cc-ci.infra: {of_stack:?}");
        let run = setup.labelled(kind, "cc-ci.run");
        assert!(of_stack.iter().all(|o| !run.contains(o)), "a {kind} of the proxy carries cc-ci.run");
    }

    let removed = Command::new("docker").args(["service", "rm", &service]).output().unwrap();
    assert!(removed.status.success());
    let (steps, stdout) = setup.init_ok();
    assert_eq!(change_of(&steps, "proxy"), "created", "the deleted proxy is back: {stdout}");
    assert_eq!(setup.unknown_host_status(), 404);

    // Renewal: a certificate no longer usable (here: not a certificate) is reissued, and the new
    // one is a new version of both secrets; the old ones are removed.
    let old_secrets = setup.labelled("secret", &ns);
    std::fs::write(setup.data.join("tls/wildcard.pem"), "no longer a certificate\n").unwrap();
    let (steps, stdout) = setup.init_ok();
    assert_eq!(change_of(&steps, "certificate"), "replaced", "{stdout}");
    assert_eq!(change_of(&steps, "proxy secrets"), "created", "{stdout}");
    assert_eq!(change_of(&steps, "proxy"), "replaced", "{stdout}");
    assert_eq!(change_of(&steps, "old proxy secrets"), "replaced", "{stdout}");
    let new_secrets = setup.labelled("secret", &ns);
    assert_eq!(new_secrets.len(), 2, "{new_secrets:?}");
    assert!(new_secrets.iter().all(|s| !old_secrets.contains(s)), "{old_secrets:?} → {new_secrets:?}");
    assert_eq!(setup.unknown_host_status(), 404, "the renewed certificate verifies");
}

#[test]
fn server_init_without_a_docker_engine_says_what_to_install() {
    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("server.toml");
    std::fs::write(&config, format!("base_domain = \"x.test\"\ndata_dir = \"{}\"\n", work.path().display())).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ccci"))
        .args(["server", "init", "--config"])
        .arg(&config)
        .env("DOCKER_HOST", format!("unix://{}", Path::new(work.path()).join("no-docker.sock").display()))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("cannot reach the Docker engine") && stderr.contains("apt-get install docker.io"),
        "{stderr}"
    );
}
