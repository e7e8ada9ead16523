//! `ccci doctor` (SPEC O4) on the testbed, against the fake forge: every check passes on a host
//! that is set up, and each kind of breakage fails its own line with a fix, exit status 1 — the
//! proxy not answering where the configuration says (a free port stands in for a removed proxy:
//! the shared testbed proxy is never touched), a certificate for another domain, low disk, a bad
//! token, no runner user, no CAP_NET_ADMIN for the sandbox, no webhook secret, an unloadable
//! configuration; a certificate with few days left only warns (exit status 0).

mod support;

use std::process::{Command, Output};

use support::server::{Knobs, World, HOOK_SECRET, ORG};

fn doctor(world: &World, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ccci"));
    cmd.args(["doctor", "--config"]).arg(&world.config).args(args).env_remove("CCCI_CONFIG");
    if !args.contains(&"--runner-user") {
        // An existing user outside the docker group stands in for ccci-runner, which only the
        // Debian package creates (scripts/test-package checks the real one).
        cmd.args(["--runner-user", "nobody"]);
    }
    cmd.output().expect("ccci doctor runs")
}

/// The line of check `name`, which must be there exactly once.
fn line(out: &Output, name: &str) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout
        .lines()
        .filter(|l| {
            ["ok   ", "warn ", "FAIL "]
                .iter()
                .find_map(|mark| l.strip_prefix(mark))
                .is_some_and(|r| r.starts_with(&format!("{name}:")))
        })
        .collect();
    assert_eq!(lines.len(), 1, "check {name} not printed once:\n{stdout}");
    lines[0].to_string()
}

fn no_secret_shown(world: &World, out: &Output) {
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!all.contains(&world.forge.token()), "the token was printed:\n{all}");
    assert!(!all.contains(HOOK_SECRET), "the webhook secret was printed:\n{all}");
}

/// Whether the proxy is deployed and running, asked of Docker directly rather than of the doctor.
fn proxy_running() -> bool {
    let out = Command::new("docker")
        .args(["service", "ls", "--filter", "label=cc-ci.infra=proxy", "--format", "{{.Replicas}}"])
        .output()
        .expect("docker runs");
    let replicas: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect();
    !replicas.is_empty()
        && replicas.iter().all(|r| match r.split_once('/') {
            Some((running, desired)) => running == desired && desired != "0",
            None => false,
        })
}

#[test]
fn a_set_up_host_passes_every_check_but_the_proxy_only_when_it_runs() {
    let world = World::new("simple", Knobs::default());
    let out = doctor(&world, &[]);
    for name in ["config", "docker", "network", "https", "certificate", "disk", "forge", "webhook", "runner", "sandbox"]
    {
        assert!(line(&out, name).starts_with("ok "), "{}", String::from_utf8_lossy(&out.stdout));
    }
    let https = line(&out, "https");
    assert!(https.contains("answered 404 (certificate verified)"), "{https}");
    assert!(https.contains(&format!("the proxy at {}", testbed::proxy_addr())), "{https}");
    let certificate = line(&out, "certificate");
    assert!(
        certificate.contains("covers *.ccci.test, expires ") && certificate.contains(" days left)"),
        "{certificate}"
    );
    assert!(line(&out, "docker").contains("swarm manager"));
    assert!(line(&out, "forge").contains(&format!("is a member of org {ORG}")), "{}", line(&out, "forge"));
    assert!(line(&out, "forge").contains("1 enrolled repo(s) readable"));
    let proxy = line(&out, "proxy");
    if proxy_running() {
        assert!(proxy.starts_with("ok "), "{proxy}");
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    } else {
        // Until the proxy is deployed as a service labelled cc-ci.infra=proxy (by `ccci server init`).
        assert!(proxy.starts_with("FAIL proxy: no swarm service labelled cc-ci.infra=proxy"), "{proxy}");
        assert_eq!(out.status.code(), Some(1));
    }
    no_secret_shown(&world, &out);
}

#[test]
fn each_breakage_fails_its_own_line_with_a_fix() {
    let world = World::new("simple", Knobs::default());
    world.forge.set_bot_membership(ORG, false);
    let out = doctor(&world, &["--min-free-gib", "100000000"]);
    assert_eq!(out.status.code(), Some(1));
    let forge = line(&out, "forge");
    assert!(forge.starts_with("FAIL forge: bot ccci-bot is not a member of org coop-cloud"), "{forge}");
    assert!(forge.contains("Fix: add ccci-bot to coop-cloud"), "{forge}");
    let disk = line(&out, "disk");
    assert!(disk.starts_with("FAIL disk: ") && disk.contains("(floor 100000000.0 GiB)"), "{disk}");
    assert!(disk.contains(&world.data_dir.display().to_string()), "{disk}");
    assert!(line(&out, "docker").starts_with("ok "), "an unrelated check failed too");
    no_secret_shown(&world, &out);

    let out = doctor(&world, &["--runner-user", "ccci-no-such-user"]);
    let runner = line(&out, "runner");
    assert!(runner.starts_with("FAIL runner: user ccci-no-such-user does not exist"), "{runner}");

    std::fs::write(world.work.path().join("token"), "a-token-the-forge-never-issued").unwrap();
    let out = doctor(&world, &[]);
    let forge = line(&out, "forge");
    assert!(forge.starts_with("FAIL forge: the forge refused the bot's token"), "{forge}");
    assert!(forge.contains(&format!("put it in file {}", world.work.path().join("token").display())), "{forge}");
    assert!(!forge.contains("a-token-the-forge-never-issued"), "{forge}");
}

#[test]
fn without_cap_net_admin_the_sandbox_check_fails_naming_it() {
    // As a unit without CAP_NET_ADMIN in its bounding set runs the server (root keeps the rest).
    let world = World::new("simple", Knobs::default());
    let mut cmd = Command::new("setpriv");
    cmd.args(["--bounding-set", "-net_admin", "--"]).arg(env!("CARGO_BIN_EXE_ccci"));
    cmd.args(["doctor", "--config"]).arg(&world.config).args(["--runner-user", "nobody"]).env_remove("CCCI_CONFIG");
    let out = cmd.output().expect("setpriv runs");
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    let sandbox = line(&out, "sandbox");
    assert!(sandbox.starts_with("FAIL sandbox: ccci lacks CAP_NET_ADMIN: "), "{sandbox}");
    assert!(sandbox.contains("CapabilityBoundingSet"), "{sandbox}");
    assert!(line(&out, "runner").starts_with("ok "), "an unrelated check failed too");
}

/// `world`'s configuration with the line starting `key =` replaced by `line`.
fn with_line(world: &World, key: &str, line: &str) {
    let text = std::fs::read_to_string(&world.config).unwrap();
    let old = text.lines().find(|l| l.starts_with(&format!("{key} ="))).unwrap().to_string();
    std::fs::write(&world.config, text.replacen(&old, line, 1)).unwrap();
}

#[test]
fn a_proxy_that_does_not_answer_fails_naming_it_and_a_certificate_for_another_domain_fails() {
    // As on a host whose proxy was removed: nothing listens where the configuration says the
    // proxy is (a port free right now), and no service runs in the proxy's stack (the configured
    // proxy is one that was never deployed; the shared testbed proxy itself is never touched).
    let world = World::new("simple", Knobs::default());
    let nowhere = format!("127.0.0.1:{}", support::server::free_port());
    with_line(&world, "proxy", &format!("proxy = \"{nowhere}\""));
    let mut text = std::fs::read_to_string(&world.config).unwrap();
    text.push_str("\n[infra.proxy]\ndomain = \"traefik-removed.ccci.test\"\n");
    std::fs::write(&world.config, text).unwrap();
    let out = doctor(&world, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    let proxy = line(&out, "proxy");
    assert!(
        proxy.starts_with("FAIL proxy: no swarm service labelled cc-ci.infra=proxy and ")
            && proxy.contains("com.docker.stack.namespace=traefik-removed_ccci_test: the proxy is not deployed"),
        "{proxy}"
    );
    let https = line(&out, "https");
    assert!(
        https.starts_with(&format!("FAIL https: the proxy does not answer as it should at {nowhere}: cannot reach")),
        "{https}"
    );
    assert!(https.contains("Fix: `ccci server init --config "), "{https}");
    assert!(line(&out, "certificate").starts_with("ok "), "the certificate file is still fine");
    assert!(line(&out, "docker").starts_with("ok "), "an unrelated check failed too");

    // The certificate covers *.ccci.test, not another base domain: both the file and the proxy's
    // answer say so.
    let world = World::new("simple", Knobs::default());
    with_line(&world, "base_domain", "base_domain = \"other.test\"");
    let out = doctor(&world, &[]);
    let certificate = line(&out, "certificate");
    assert!(
        certificate.starts_with("FAIL certificate: ")
            && certificate.contains("does not cover *.other.test and other.test; it names *.ccci.test, ccci.test"),
        "{certificate}"
    );
    assert!(line(&out, "https").starts_with("FAIL https: "), "{}", line(&out, "https"));
}

#[test]
fn a_config_without_webhook_or_unloadable_is_reported() {
    let world = World::new("simple", Knobs::default());
    let text = std::fs::read_to_string(&world.config).unwrap();
    let secret_line = text.lines().find(|l| l.starts_with("secret_file")).unwrap().to_string();
    std::fs::write(&world.config, text.replace("[webhook]\n", "").replace(&format!("{secret_line}\n"), "")).unwrap();
    let out = doctor(&world, &[]);
    let webhook = line(&out, "webhook");
    assert!(webhook.starts_with("FAIL webhook: no [webhook] section"), "{webhook}");
    assert!(webhook.contains("secret_file"), "{webhook}");

    std::fs::write(&world.config, "base_domain = 3\n").unwrap();
    let out = doctor(&world, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(line(&out, "config").starts_with("FAIL config: config file "), "{}", line(&out, "config"));
    for name in ["https", "certificate", "disk", "forge", "webhook"] {
        assert!(line(&out, name).contains("not checked: the configuration does not load"), "{}", line(&out, name));
    }
    assert!(line(&out, "docker").starts_with("ok "), "the host checks still run");
}

/// `openssl` with `args` in `dir`, which must succeed.
fn openssl(dir: &std::path::Path, args: &[&str]) {
    let out = Command::new("openssl").current_dir(dir).args(args).output().expect("openssl runs");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_certificate_with_days_left_under_the_threshold_warns_without_failing() {
    // A wildcard for the testbed's base domain from the testbed's CA, valid for 5 days: the
    // proxy's HTTPS still verifies against that CA; only the days left are short.
    let world = World::new("simple", Knobs::default());
    let dir = world.work.path();
    let tls = testbed::tls_dir();
    let (ca, ca_key) = (tls.join("ca.pem"), tls.join("ca.key"));
    std::fs::write(dir.join("san.ext"), "subjectAltName=DNS:*.ccci.test,DNS:ccci.test\n").unwrap();
    let key =
        ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=ccci.test"];
    openssl(dir, &[&key[..], &["-keyout", "short.key", "-out", "short.csr"]].concat());
    let sign = ["x509", "-req", "-in", "short.csr", "-days", "5", "-extfile", "san.ext", "-set_serial", "7"];
    let (ca, ca_key) = (ca.to_str().unwrap(), ca_key.to_str().unwrap());
    openssl(dir, &[&sign[..], &["-CA", ca, "-CAkey", ca_key, "-out", "short.pem"]].concat());
    let short = dir.join("short.pem");
    with_line(&world, "cert_file", &format!("cert_file = \"{}\"", short.display()));
    with_line(&world, "key_file", &format!("key_file = \"{}\"", dir.join("short.key").display()));

    let out = doctor(&world, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "a warning does not fail:\n{stdout}");
    let certificate = line(&out, "certificate");
    assert!(
        certificate.starts_with(&format!("warn certificate: {} covers *.ccci.test, expires ", short.display()))
            && [" (5 days left)", " (4 days left)"].iter().any(|d| certificate.contains(d))
            && certificate.contains(". Fix: renew it (same path), then `ccci server init --config "),
        "{certificate}"
    );
    assert!(line(&out, "https").starts_with("ok "), "{stdout}");
    assert!(stdout.trim_end().ends_with("checks passed, 1 with a warning"), "{stdout}");
}
