//! D4/D8: pull the images of a compose document from their registries before the convergence
//! clock starts, under a pull policy with Docker's meanings ([`PullPolicy`]), with progress
//! events, retries with exponential backoff on transient failures (registry unreachable, rate
//! limited, timed out), a per-attempt timeout and optional credentials ([`RegistryAuth`]). An
//! image already present locally whose digest is the registry's is not pulled again. On a
//! multi-node swarm every node that may run tasks pulls (one after the other), and progress and
//! errors name the image as `<image> on <node>`.
//!
//! Every failure is [`Error::Pull`]: an infrastructure error naming the image, what went wrong
//! ([`PullFailure`]) and the registry's own answer as the engine relayed it.

use std::time::{Duration, Instant};

use bollard::auth::DockerCredentials;
use bollard::query_parameters::CreateImageOptions;
use futures_util::StreamExt;
use serde_norway::Value;

use crate::error::{is_not_found, Error, Result};
use crate::registry_auth::RegistryAuth;
use crate::Swarm;

/// When to pull, with `docker run --pull`'s meanings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PullPolicy {
    /// Pull only images that are not present locally (a maintainer's locally built image just
    /// works).
    #[default]
    Missing,
    /// Ask the registry for every image; pull unless the local image already has its digest.
    Always,
    /// Never contact a registry: every image must be present locally
    /// ([`Error::ImagesMissing`] otherwise).
    Never,
}

impl std::str::FromStr for PullPolicy {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "missing" => Ok(PullPolicy::Missing),
            "always" => Ok(PullPolicy::Always),
            "never" => Ok(PullPolicy::Never),
            other => Err(format!("unknown pull policy `{other}`: use missing, always or never")),
        }
    }
}

impl std::fmt::Display for PullPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PullPolicy::Missing => "missing",
            PullPolicy::Always => "always",
            PullPolicy::Never => "never",
        })
    }
}

/// How to pull.
#[derive(Debug, Clone)]
pub struct PullOptions {
    /// When to pull.
    pub policy: PullPolicy,
    /// Attempts per image (at least 1); only transient failures are retried.
    pub attempts: u32,
    /// Wait before the second attempt; doubled for each later one, up to `max_backoff`.
    pub first_backoff: Duration,
    /// The longest wait between attempts.
    pub max_backoff: Duration,
    /// How long one attempt at one image may take.
    pub attempt_timeout: Duration,
    /// Credentials per registry, if any.
    pub auth: Option<RegistryAuth>,
}

impl Default for PullOptions {
    fn default() -> Self {
        PullOptions {
            policy: PullPolicy::Missing,
            attempts: 4,
            first_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(15),
            attempt_timeout: Duration::from_secs(600),
            auth: None,
        }
    }
}

/// Why a pull failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullFailure {
    /// The registry has no such tag or repository (`manifest unknown`).
    NotFound,
    /// The registry did not answer (refused, DNS, TLS, 5xx...).
    Unreachable,
    /// The registry refused for now: `429 toomanyrequests` (Docker Hub's pull rate limit).
    RateLimited,
    /// The registry wants credentials, or refused the ones given.
    Unauthorized,
    /// An attempt took longer than [`PullOptions::attempt_timeout`].
    TimedOut,
}

impl PullFailure {
    /// Whether trying again later may succeed.
    pub fn is_transient(self) -> bool {
        matches!(self, PullFailure::Unreachable | PullFailure::RateLimited | PullFailure::TimedOut)
    }
}

impl std::fmt::Display for PullFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PullFailure::NotFound => "no such tag or repository in the registry",
            PullFailure::Unreachable => "the registry did not answer",
            PullFailure::RateLimited => "the registry's rate limit was hit",
            PullFailure::Unauthorized => "the registry requires authentication or refused the credentials",
            PullFailure::TimedOut => "the pull timed out",
        })
    }
}

/// What happened while pulling, for progress displays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PullEvent {
    /// Present locally; not pulled (policy `missing` or `never`).
    Present { image: String },
    /// Present locally with the registry's digest; not pulled (policy `always`).
    UpToDate { image: String, digest: String },
    /// An attempt started (1 for the first).
    Started { image: String, attempt: u32 },
    /// A progress line of the engine (`Downloading`, `Pull complete`... per layer).
    Progress { image: String, layer: Option<String>, status: String, current: Option<i64>, total: Option<i64> },
    /// An attempt failed transiently; the next starts after `wait`.
    Retrying { image: String, attempt: u32, wait: Duration, answer: String },
    /// Pulled.
    Pulled { image: String, elapsed: Duration },
}

/// What a pull step did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullReport {
    /// Images pulled, in document order.
    pub pulled: Vec<String>,
    /// Images already there (present, or up to date with the registry).
    pub kept: Vec<String>,
    /// Wall time of the whole step.
    pub elapsed: Duration,
}

/// One failed attempt: the registry's fault (classified) or the engine's.
enum AttemptError {
    Registry(PullFailure, String),
    Engine(Error),
}

impl Swarm {
    /// Pull every image the services of `doc` name (each once, in document order) as `options`
    /// say, reporting progress to `on_event`. Call it before the convergence clock starts.
    /// Errors: [`Error::Pull`] for a registry failure after the retries, [`Error::ImagesMissing`]
    /// with policy `never`, [`Error::Docker`] when the engine itself fails.
    pub async fn pull_images(
        &self,
        doc: &Value,
        options: &PullOptions,
        on_event: &mut (dyn FnMut(PullEvent) + Send),
    ) -> Result<PullReport> {
        let start = Instant::now();
        let mut images: Vec<String> = Vec::new();
        for (_, image) in crate::compose::images(doc)? {
            if !images.contains(&image) {
                images.push(image);
            }
        }
        let mut report = PullReport::default();
        if options.policy == PullPolicy::Never {
            self.check_images(doc).await?;
            for engine in self.schedulable_engines().await? {
                for image in &images {
                    let shown = self.image_on(image, &engine);
                    on_event(PullEvent::Present { image: shown.clone() });
                    report.kept.push(shown);
                }
            }
        } else {
            for engine in self.schedulable_engines().await? {
                for image in &images {
                    let target = Target { docker: &engine.docker, image, shown: self.image_on(image, &engine) };
                    if target.pull(options, on_event).await? {
                        report.pulled.push(target.shown);
                    } else {
                        report.kept.push(target.shown);
                    }
                }
            }
        }
        report.elapsed = start.elapsed();
        Ok(report)
    }
}

/// One image to pull on one node's engine; `shown` is how events and errors name it.
struct Target<'a> {
    docker: &'a bollard::Docker,
    image: &'a str,
    shown: String,
}

impl Target<'_> {
    /// Pull one image under `options` (policy `missing` or `always`, retrying transient
    /// failures); `Ok(true)` when it was pulled, `Ok(false)` when the local image was kept.
    async fn pull(&self, options: &PullOptions, on_event: &mut (dyn FnMut(PullEvent) + Send)) -> Result<bool> {
        let (image, shown) = (self.image, self.shown.as_str());
        let local = self.local_repo_digests().await?;
        if local.is_some() && options.policy != PullPolicy::Always {
            on_event(PullEvent::Present { image: shown.into() });
            return Ok(false);
        }
        let credentials = options.auth.as_ref().and_then(|a| a.for_image(image));
        let mut wait = options.first_backoff;
        for attempt in 1.. {
            on_event(PullEvent::Started { image: shown.into(), attempt });
            let started = Instant::now();
            let outcome = tokio::time::timeout(
                options.attempt_timeout,
                self.attempt_pull(local.as_deref(), credentials.clone(), on_event),
            )
            .await
            .unwrap_or_else(|_| {
                let answer = format!("no answer within {}s", options.attempt_timeout.as_secs_f32());
                Err(AttemptError::Registry(PullFailure::TimedOut, answer))
            });
            match outcome {
                Ok(pulled) => {
                    if pulled {
                        on_event(PullEvent::Pulled { image: shown.into(), elapsed: started.elapsed() });
                    }
                    return Ok(pulled);
                }
                Err(AttemptError::Engine(e)) => return Err(e),
                Err(AttemptError::Registry(reason, answer)) if reason.is_transient() && attempt < options.attempts => {
                    on_event(PullEvent::Retrying { image: shown.into(), attempt, wait, answer });
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(options.max_backoff);
                }
                Err(AttemptError::Registry(reason, answer)) => {
                    return Err(Error::Pull { image: shown.into(), reason, answer, attempts: attempt });
                }
            }
        }
        unreachable!("the loop returns")
    }

    /// One attempt: with a local image (policy `always`), ask the registry for the digest first
    /// and keep the local image if it has it; otherwise pull, streaming progress.
    async fn attempt_pull(
        &self,
        local: Option<&[String]>,
        credentials: Option<DockerCredentials>,
        on_event: &mut (dyn FnMut(PullEvent) + Send),
    ) -> std::result::Result<bool, AttemptError> {
        let (image, shown) = (self.image, self.shown.as_str());
        let reference = with_tag(image);
        if let Some(local) = local {
            let remote = self.docker.inspect_registry_image(&reference, credentials.clone()).await.map_err(classify)?;
            let digest = remote.descriptor.digest.unwrap_or_default();
            let repository = repository_of(image);
            if local
                .iter()
                .any(|d| d.split_once('@').is_some_and(|(repo, dg)| dg == digest && same_repository(repo, repository)))
            {
                on_event(PullEvent::UpToDate { image: shown.into(), digest });
                return Ok(false);
            }
        }
        let options = CreateImageOptions { from_image: Some(reference), ..Default::default() };
        let mut stream = self.docker.create_image(Some(options), None, credentials);
        while let Some(item) = stream.next().await {
            let info = item.map_err(classify)?;
            if let Some(status) = info.status {
                let detail = info.progress_detail.unwrap_or_default();
                on_event(PullEvent::Progress {
                    image: shown.into(),
                    layer: info.id,
                    status,
                    current: detail.current,
                    total: detail.total,
                });
            }
        }
        Ok(true)
    }

    /// The local image's repository digests, or `None` when it is not present.
    async fn local_repo_digests(&self) -> Result<Option<Vec<String>>> {
        match self.docker.inspect_image(self.image).await {
            Ok(inspect) => Ok(Some(inspect.repo_digests.unwrap_or_default())),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(Error::docker(format!("inspecting image {}", self.shown))(e)),
        }
    }
}

/// Sort an engine error of a pull into the registry's fault (with its answer) or the engine's.
fn classify(e: bollard::errors::Error) -> AttemptError {
    let (status, answer) = match &e {
        bollard::errors::Error::DockerResponseServerError { status_code, message } => {
            (Some(*status_code), message.clone())
        }
        bollard::errors::Error::DockerStreamError { error } => (None, error.clone()),
        _ => return AttemptError::Engine(Error::docker("pulling an image")(e)),
    };
    AttemptError::Registry(failure_of(status, &answer), answer)
}

/// What a registry answer (as the engine relays it) means.
fn failure_of(status: Option<u16>, answer: &str) -> PullFailure {
    let lower = answer.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| lower.contains(w));
    if status == Some(429) || has(&["toomanyrequests", "too many requests", "rate limit"]) {
        PullFailure::RateLimited
    } else if has(&[
        "unauthorized",
        "authentication required",
        "no basic auth credentials",
        "denied",
        "incorrect username",
    ]) {
        PullFailure::Unauthorized
    } else if status == Some(404) || has(&["manifest unknown", "name unknown", "not found"]) {
        PullFailure::NotFound
    } else {
        PullFailure::Unreachable
    }
}

/// The reference with `:latest` added when it names neither a tag nor a digest (the engine
/// would otherwise pull every tag).
fn with_tag(image: &str) -> String {
    let last = image.rsplit('/').next().unwrap_or(image);
    if image.contains('@') || last.contains(':') {
        image.to_string()
    } else {
        format!("{image}:latest")
    }
}

/// The reference without its tag and digest.
fn repository_of(image: &str) -> &str {
    let image = image.split('@').next().unwrap_or(image);
    match image.rfind(':') {
        Some(i) if !image[i..].contains('/') => &image[..i],
        _ => image,
    }
}

/// Whether two repository names are the same once Docker Hub's implicit parts are dropped
/// (`docker.io/library/traefik` = `traefik`).
fn same_repository(a: &str, b: &str) -> bool {
    fn short(r: &str) -> &str {
        let r = r.strip_prefix("docker.io/").unwrap_or(r);
        r.strip_prefix("library/").unwrap_or(r)
    }
    short(a) == short(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_answers_are_classified() {
        let cases = [
            (
                Some(404),
                "manifest for 127.0.0.1:5000/x:nope not found: manifest unknown: manifest unknown",
                PullFailure::NotFound,
            ),
            (
                Some(500),
                "Get \"http://127.0.0.1:5999/v2/\": dial tcp 127.0.0.1:5999: connect: connection refused",
                PullFailure::Unreachable,
            ),
            (Some(500), "toomanyrequests: You have reached your pull rate limit.", PullFailure::RateLimited),
            (
                Some(500),
                "Head \"http://127.0.0.1:5001/v2/x/manifests/1\": no basic auth credentials",
                PullFailure::Unauthorized,
            ),
            (None, "unauthorized: authentication required", PullFailure::Unauthorized),
            (None, "error pulling image configuration: toomanyrequests", PullFailure::RateLimited),
        ];
        for (status, answer, want) in cases {
            assert_eq!(failure_of(status, answer), want, "{answer}");
        }
        assert!(PullFailure::RateLimited.is_transient() && !PullFailure::NotFound.is_transient());
    }

    #[test]
    fn references_get_a_tag_and_lose_it_for_comparison() {
        assert_eq!(with_tag("127.0.0.1:5000/a/b"), "127.0.0.1:5000/a/b:latest");
        assert_eq!(with_tag("127.0.0.1:5000/a/b:1"), "127.0.0.1:5000/a/b:1");
        assert_eq!(with_tag("a@sha256:00"), "a@sha256:00");
        assert_eq!(repository_of("127.0.0.1:5000/a/b:1"), "127.0.0.1:5000/a/b");
        assert_eq!(repository_of("127.0.0.1:5000/a/b"), "127.0.0.1:5000/a/b");
        assert_eq!(repository_of("traefik:v3.6.15"), "traefik");
        assert!(same_repository("docker.io/library/traefik", "traefik"));
        assert!(!same_repository("127.0.0.1:5000/a", "a"));
    }

    #[test]
    fn policies_parse_with_docker_names() {
        assert_eq!("always".parse::<PullPolicy>(), Ok(PullPolicy::Always));
        assert_eq!(PullPolicy::default().to_string(), "missing");
        assert!("sometimes".parse::<PullPolicy>().unwrap_err().contains("missing, always or never"));
    }
}
