//! End to end on the real swarm: `ccci test` pulls the app's images from their registry before
//! the convergence clock (D8). A registry that rate-limits (a 429 proxy in front of the testbed's
//! registry) is an infrastructure error naming `toomanyrequests` after the retries; a registry with
//! htpasswd authentication refuses the pull without credentials (an error naming authentication)
//! and serves it with `--registry-auth`, after which the install passes; no credential appears in
//! any file of the run's output or in what ccci printed. (A tag missing from the registry:
//! broken_e2e.rs.)

mod support;

use std::path::Path;
use std::process::Command;

use support::{ccci_test, files_under, leftovers, testbed, Step, TestRun};
use testbed::registry::{registry_addr, AuthRegistry, RateLimiter};

/// The `simple` fixture's working tree with its images moved from the testbed's registry to
/// `registry` (an `ip:port`).
fn simple_from(registry: &str, work: &Path) -> std::path::PathBuf {
    let repo = testbed::fixture("simple", &work.join("simple")).unwrap();
    let compose = repo.path.join("compose.yml");
    let text = std::fs::read_to_string(&compose).unwrap();
    let moved = text.replace(&format!("{}/", registry_addr()), &format!("{registry}/"));
    assert_ne!(moved, text, "the fixture names no image of the testbed's registry");
    std::fs::write(&compose, moved).unwrap();
    repo.path
}

/// Removes a local image this test pulled.
struct PulledImage(String);

impl Drop for PulledImage {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["image", "rm", "-f", &self.0]).output();
    }
}

fn install_reason(run: &TestRun) -> String {
    run.tier("install")["reason"].as_str().unwrap_or_default().to_string()
}

#[test]
fn a_rate_limited_registry_is_an_error_naming_toomanyrequests_after_the_retries() {
    testbed();
    let work = tempfile::tempdir().unwrap();
    let limiter = RateLimiter::start(registry_addr()).unwrap();
    let recipe = simple_from(&limiter.addr.to_string(), work.path());
    let run = ccci_test(work.path(), &recipe, &["--tiers", "install", "--pull-attempts", "2"]);
    let reason = install_reason(&run);
    assert_eq!((run.code(), run.tier("install")["outcome"].as_str()), (Some(3), Some("error")), "{reason}");
    assert!(reason.contains(&format!("{}/ccci-testbed/busybox:1.36", limiter.addr)), "image not named: {reason}");
    assert!(reason.to_lowercase().contains("toomanyrequests"), "the registry's answer not named: {reason}");
    assert!(reason.contains("after 2 attempts"), "{reason}");
    let steps = run.steps();
    assert_eq!(steps.iter().filter(|s| matches!(s, Step::PullRetrying { .. })).count(), 1, "{steps:#?}");
    assert!(!steps.iter().any(|s| matches!(s, Step::Deploying { .. })), "it deployed: {steps:#?}");
    assert!(limiter.refused() >= 2, "every attempt reached the registry: {}", limiter.refused());
    assert_eq!(leftovers(run.run_id()), Vec::<String>::new());
}

#[test]
fn an_htpasswd_registry_needs_the_credentials_and_no_run_file_shows_them() {
    testbed();
    let work = tempfile::tempdir().unwrap();
    let password = format!("pw-{:x}-{}", std::process::id(), work.path().display().to_string().len());
    let registry = AuthRegistry::start("ccci", &password).expect("a registry with htpasswd auth");
    let image = registry.push(testbed::BUSYBOX_IMAGE_NEXT, "ccci-testbed/busybox:1.36").expect("push");
    let _pulled = PulledImage(image.clone());
    let recipe = simple_from(&registry.addr.to_string(), work.path());

    let refused = ccci_test(&work.path().join("anonymous"), &recipe, &["--tiers", "install"]);
    let reason = install_reason(&refused);
    assert_eq!((refused.code(), refused.tier("install")["outcome"].as_str()), (Some(3), Some("error")), "{reason}");
    assert!(reason.contains(&image) && reason.contains("authentication"), "{reason}");

    let auth = work.path().join("config.json");
    std::fs::write(&auth, registry.docker_config()).unwrap();
    let run = ccci_test(
        &work.path().join("authenticated"),
        &recipe,
        &["--tiers", "install", "--registry-auth", auth.to_str().unwrap()],
    );
    assert_eq!(run.code(), Some(0), "{}\nstderr:\n{}", install_reason(&run), run.stderr());
    assert!(run.steps().iter().any(|s| matches!(s, Step::Pulled { image: i, .. } if *i == image)), "not pulled");
    assert_eq!(leftovers(run.run_id()), Vec::<String>::new());

    let config = registry.docker_config();
    let encoded = config.split("\"auth\": \"").nth(1).and_then(|s| s.split('"').next()).unwrap().to_string();
    for (name, bytes) in files_under(&run.out_dir)
        .into_iter()
        .map(|f| (f.display().to_string(), std::fs::read(&f).unwrap()))
        .chain([("stdout".into(), run.output.stdout.clone()), ("stderr".into(), run.output.stderr.clone())])
    {
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(&password) && !text.contains(&encoded), "a credential reached {name}");
    }
}
