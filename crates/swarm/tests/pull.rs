//! Image pulls against real registries on loopback: the testbed's registry (Debian's
//! docker-registry, started by scripts/testbed-setup), a rate-limiting proxy in front of it that
//! answers `429 toomanyrequests`, and a second registry with htpasswd authentication. Every
//! repository pushed here is named `ccci-swarm-test/pull-<process>-<n>` and removed again, from
//! the registry and from the engine.

mod support;

use std::time::Duration;

use support::{ensure_image, run_id, yaml, IMAGE};
use swarm::{Error, PullEvent, PullFailure, PullOptions, PullPolicy, RegistryAuth, Swarm};
use testbed::registry::{delete_from_registry, push_to_registry, registry_addr, AuthRegistry, RateLimiter};

async fn swarm() -> Swarm {
    testbed::ensure_ready().expect("testbed ready (scripts/testbed-setup)");
    Swarm::connect().await.expect("docker engine reachable")
}

fn doc_with(image: &str) -> serde_norway::Value {
    yaml(&format!("version: \"3.8\"\nservices:\n  app:\n    image: {image}\n  worker:\n    image: {image}\n"))
}

fn quick(policy: PullPolicy) -> PullOptions {
    PullOptions {
        policy,
        attempts: 3,
        first_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(50),
        attempt_timeout: Duration::from_secs(60),
        auth: None,
    }
}

/// A repository name of this test process.
fn repository(tag: &str) -> String {
    format!("ccci-swarm-test/pull-{}", run_id(tag))
}

/// Removes a pulled image from the engine when dropped.
struct LocalImage(String);

impl Drop for LocalImage {
    fn drop(&mut self) {
        let _ = std::process::Command::new("docker").args(["image", "rm", &self.0]).output();
    }
}

/// An image pushed to the testbed's registry: its manifest is deleted there (and the pulled copy
/// removed from the engine) when dropped.
struct Pushed {
    reference: String,
    repository: String,
    _local: LocalImage,
}

impl Drop for Pushed {
    fn drop(&mut self) {
        let _ = delete_from_registry(&self.repository, "1");
    }
}

fn push(tag: &str) -> Pushed {
    ensure_image();
    let repository = repository(tag);
    let reference = push_to_registry(IMAGE, &format!("{repository}:1")).expect("push to the testbed registry");
    Pushed { _local: LocalImage(reference.clone()), reference, repository }
}

async fn pull(sw: &Swarm, image: &str, options: &PullOptions) -> (Result<swarm::PullReport, Error>, Vec<PullEvent>) {
    let mut events = Vec::new();
    let result = sw.pull_images(&doc_with(image), options, &mut |e| events.push(e)).await;
    (result, events)
}

#[tokio::test]
async fn pulls_once_with_progress_then_keeps_the_local_image_or_its_digest() {
    let sw = swarm().await;
    let pushed = push("fresh");
    let image = pushed.reference.as_str();

    let (report, events) = pull(&sw, image, &quick(PullPolicy::Missing)).await;
    let report = report.expect("pulled");
    assert_eq!(
        (report.pulled.as_slice(), report.kept.len()),
        (&[image.to_string()][..], 0),
        "one pull for two services"
    );
    assert!(matches!(&events[0], PullEvent::Started { attempt: 1, .. }), "{events:?}");
    assert!(events.iter().any(|e| matches!(e, PullEvent::Progress { .. })), "{events:?}");
    assert!(matches!(events.last(), Some(PullEvent::Pulled { .. })), "{events:?}");
    eprintln!("pull of {image}: {:?}", report.elapsed);

    let (report, events) = pull(&sw, image, &quick(PullPolicy::Missing)).await;
    assert_eq!(report.unwrap().kept, vec![image.to_string()]);
    assert_eq!(events, vec![PullEvent::Present { image: image.into() }], "the registry is not asked");

    let (report, events) = pull(&sw, image, &quick(PullPolicy::Always)).await;
    let report = report.unwrap();
    assert_eq!(report.kept, vec![image.to_string()]);
    assert!(
        matches!(&events[..], [PullEvent::Started { .. }, PullEvent::UpToDate { digest, .. }] if digest.starts_with("sha256:")),
        "{events:?}"
    );
    eprintln!("pull step with a warm cache (policy always, digest check): {:?}", report.elapsed);
}

#[tokio::test]
async fn a_missing_tag_is_an_infrastructure_error_naming_the_image_and_the_answer() {
    let sw = swarm().await;
    let image = format!("{}/{}:0.0-missing", registry_addr(), repository("missing"));
    let (result, events) = pull(&sw, &image, &quick(PullPolicy::Missing)).await;
    let err = result.unwrap_err();
    eprintln!("{err}");
    assert!(err.is_infrastructure(), "{err}");
    match &err {
        Error::Pull { image: named, reason: PullFailure::NotFound, answer, attempts: 1 } => {
            assert_eq!(named, &image);
            assert!(answer.contains("manifest unknown"), "{answer}");
        }
        other => panic!("expected a not-found pull error, got {other:?}"),
    }
    assert!(err.to_string().contains(&image), "{err}");
    assert!(!events.iter().any(|e| matches!(e, PullEvent::Retrying { .. })), "not retried: {events:?}");
}

#[tokio::test]
async fn a_registry_that_does_not_answer_is_retried_then_an_error() {
    let sw = swarm().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let image = format!("127.0.0.1:{port}/{}:1", repository("nowhere"));
    let (result, events) = pull(&sw, &image, &quick(PullPolicy::Missing)).await;
    match result.unwrap_err() {
        Error::Pull { reason: PullFailure::Unreachable, answer, attempts: 3, .. } => {
            assert!(answer.contains("connection refused"), "{answer}");
        }
        other => panic!("expected an unreachable registry, got {other:?}"),
    }
    assert_eq!(events.iter().filter(|e| matches!(e, PullEvent::Retrying { .. })).count(), 2, "{events:?}");
}

#[tokio::test]
async fn a_rate_limited_registry_is_an_error_naming_toomanyrequests_after_the_retries() {
    let sw = swarm().await;
    let pushed = push("limited");
    let limiter = RateLimiter::start(registry_addr()).unwrap();
    let image = format!("{}/{}:1", limiter.addr, pushed.repository);
    let (result, events) = pull(&sw, &image, &quick(PullPolicy::Missing)).await;
    let err = result.unwrap_err();
    eprintln!("{err}");
    match &err {
        Error::Pull { reason: PullFailure::RateLimited, answer, attempts: 3, .. } => {
            assert!(answer.to_lowercase().contains("toomanyrequests"), "{answer}");
        }
        other => panic!("expected a rate limit, got {other:?}"),
    }
    assert!(err.is_infrastructure());
    assert_eq!(events.iter().filter(|e| matches!(e, PullEvent::Retrying { .. })).count(), 2, "{events:?}");
    assert!(limiter.refused() >= 3, "every attempt reached the registry: {}", limiter.refused());
}

#[tokio::test]
async fn an_htpasswd_registry_needs_the_credentials_and_they_are_never_shown() {
    let sw = swarm().await;
    ensure_image();
    let password = format!("pw-{}", run_id("secret"));
    let registry = AuthRegistry::start("ccci", &password).expect("a registry with htpasswd auth");
    let image = registry.push(IMAGE, &format!("{}:1", repository("private"))).expect("push with credentials");
    let _pulled = LocalImage(image.clone());

    let (result, _) = pull(&sw, &image, &quick(PullPolicy::Missing)).await;
    let err = result.unwrap_err();
    eprintln!("{err}");
    assert!(matches!(err, Error::Pull { reason: PullFailure::Unauthorized, attempts: 1, .. }), "{err:?}");
    assert!(err.to_string().contains("authentication"), "{err}");

    let mut wrong = quick(PullPolicy::Missing);
    let wrong_config =
        registry.docker_config().replace(&base64_of(&format!("ccci:{password}")), &base64_of("ccci:wrong"));
    wrong.auth = Some(RegistryAuth::from_docker_config(&wrong_config).unwrap());
    let (result, _) = pull(&sw, &image, &wrong).await;
    let refused = result.unwrap_err();
    eprintln!("{refused}");
    assert!(matches!(refused, Error::Pull { reason: PullFailure::Unauthorized, .. }), "{refused:?}");

    let mut with_auth = quick(PullPolicy::Missing);
    with_auth.auth = Some(RegistryAuth::from_docker_config(&registry.docker_config()).unwrap());
    let (report, events) = pull(&sw, &image, &with_auth).await;
    assert_eq!(report.expect("pulled with credentials").pulled, vec![image.clone()]);
    with_auth.policy = PullPolicy::Always;
    let (report, _) = pull(&sw, &image, &with_auth).await;
    assert_eq!(report.expect("digest checked with credentials").kept, vec![image.clone()]);

    let shown = format!("{err:?} {err} {refused} {events:?} {with_auth:?}");
    assert!(!shown.contains(&password), "a credential was shown: {shown}");
}

#[tokio::test]
async fn policy_never_only_checks_what_is_present() {
    let sw = swarm().await;
    let image = format!("{}/{}:1", registry_addr(), repository("never"));
    let (result, _) = pull(&sw, &image, &quick(PullPolicy::Never)).await;
    assert!(matches!(result.unwrap_err(), Error::ImagesMissing { .. }));
    ensure_image();
    let (report, events) = pull(&sw, IMAGE, &quick(PullPolicy::Never)).await;
    assert_eq!(report.unwrap().kept, vec![IMAGE.to_string()]);
    assert_eq!(events, vec![PullEvent::Present { image: IMAGE.into() }]);
}

fn base64_of(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}
