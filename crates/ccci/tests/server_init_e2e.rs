//! End to end on the real swarm: `ccci server init` sets up a proxy of its own (its own base
//! domain, data dir, local CA and free host ports, so the testbed's proxy is never disturbed):
//! the first call deploys Traefik from the project's recipe and it answers 404 for an unknown host
//! over HTTPS with the certificate verified against the CA it printed; a second call changes
//! nothing and says so; a deleted proxy service comes back; a renewed certificate becomes new
//! secret versions and the old ones go; every object carries `cc-ci.infra=proxy` and none
//! `cc-ci.run`. Without a Docker engine it refuses, saying what to install.

mod support;

use std::path::Path;
use std::process::Command;

use support::own_proxy::OwnProxy;

fn change_of<'a>(steps: &'a [(String, String)], subject: &str) -> &'a str {
    steps
        .iter()
        .find(|(s, _)| s == subject)
        .map(|(_, c)| c.as_str())
        .unwrap_or_else(|| panic!("no {subject}: {steps:?}"))
}

#[test]
fn server_init_deploys_the_proxy_once_and_restores_it() {
    let setup = OwnProxy::new(&|_| String::new());
    let (steps, stdout) = setup.init_ok();
    assert_eq!(change_of(&steps, "certificate"), "created", "{stdout}");
    assert_eq!(change_of(&steps, "proxy"), "created", "{stdout}");
    let runner_step = format!("runner user {}", setup.runner);
    assert_eq!(change_of(&steps, &runner_step), "created", "{stdout}");
    assert!(stdout.contains(&format!("CA: {}", setup.ca().display())), "the CA's path is printed: {stdout}");
    assert!(stdout.contains("answered 404 with the certificate verified"), "{stdout}");
    assert_eq!(setup.status_of("nobody"), 404);

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
    assert_eq!(setup.status_of("nobody"), 404);

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
    assert_eq!(setup.status_of("nobody"), 404, "the renewed certificate verifies");
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
