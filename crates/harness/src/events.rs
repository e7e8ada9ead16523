//! What a run tells as it goes: one typed event stream, consumed by log.txt, the terminal
//! reporter, `events.jsonl`, the recorder behind result.json, and the tests (`crate::report`).
//!
//! Every event has a human line ([`Event::line`]): the log and the terminal print that line, never
//! their own wording, so what people read and what tests assert on come from the same value.
//! Events are redacted before any consumer sees them (`crate::report::Events`).

use serde::{Deserialize, Serialize};

use crate::result::{Artifact, Case, RunResult, Tier, TierResult};

/// One thing that happened in a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The first event of every run, written before anything is deployed.
    RunStarted {
        run_id: String,
        source: String,
        git_ref: Option<String>,
    },
    /// The janitor removed the objects of runs that are no longer live.
    JanitorReaped {
        runs: Vec<String>,
    },
    /// The janitor could not finish its pass (the run goes on).
    JanitorFailed {
        error: String,
    },
    /// The run's private checkout exists.
    CheckedOut {
        recipe: String,
        version: String,
        tests_snapshotted: bool,
    },
    TierStarted {
        tier: Tier,
    },
    /// A step of a tier (or of the run, before and after the tiers).
    Step {
        tier: Option<Tier>,
        step: Step,
    },
    /// Output of a command (a hook, a test suite, a deploy): kept in the log, not shown live.
    Output {
        tier: Option<Tier>,
        text: String,
    },
    /// A test case ended (a recipe test, a screenshot).
    CaseFinished {
        tier: Tier,
        case: Case,
    },
    TierFinished {
        result: TierResult,
    },
    /// A file was kept with the run.
    ArtifactKept {
        artifact: Artifact,
    },
    TeardownStarted {
        stack: String,
    },
    TornDown {
        objects: usize,
        seconds: f64,
    },
    TeardownFailed {
        error: String,
    },
    /// The failed run's app stays deployed (keep-on-failure) until the janitor's TTL.
    Kept {
        domain: String,
        url: String,
        stack: String,
        ttl_seconds: u64,
    },
    /// Secret values were masked in this many artifact files.
    ArtifactsRedacted {
        files: usize,
    },
    /// The last event: the whole result, and where it was written.
    RunFinished {
        result: Box<RunResult>,
        out_dir: String,
    },
}

/// An event with the time it happened, counted from the start of the run: one line of
/// `events.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stamped {
    pub at_ms: u64,
    #[serde(flatten)]
    pub event: Event,
}

/// Which app a deploy is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Role {
    /// The recipe at the ref under test.
    Target,
    /// The release the upgrade starts from.
    Base { version: String },
    /// A cold dependency of the run.
    Dependency { name: String },
}

/// A step inside a tier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Step {
    SecretCreated {
        name: String,
        how: String,
    },
    /// An image pull attempt starts (before the convergence clock).
    Pulling {
        image: String,
        attempt: u32,
    },
    /// A pull is a quarter, half, three quarters through (bytes of its layers).
    PullProgress {
        image: String,
        percent: u8,
    },
    /// A pull attempt failed transiently; the next starts after `wait_seconds`.
    PullRetrying {
        image: String,
        attempt: u32,
        wait_seconds: f64,
        answer: String,
    },
    Pulled {
        image: String,
        seconds: f64,
    },
    /// Present locally (or with the registry's digest): not pulled.
    ImageReady {
        image: String,
    },
    Deploying {
        stack: String,
        domain: String,
        role: Role,
    },
    WaitingForConvergence {
        stack: String,
        timeout_seconds: u64,
        window_seconds: u64,
    },
    Converged {
        stack: String,
        seconds: f64,
    },
    Requesting {
        url: String,
    },
    Served {
        url: String,
        status: u16,
        attempts: u32,
    },
    ProbingTcp {
        port: u16,
    },
    TcpAccepted {
        port: u16,
        attempts: u32,
    },
    /// A run's tenant was made in a warm dependency, or removed from it.
    TenantCreated {
        dependency: String,
        tenant: String,
    },
    TenantDeleted {
        dependency: String,
        tenant: String,
    },
    /// A dependency converged and serves.
    DependencyReady {
        name: String,
        stack: String,
        seconds: f64,
        url: String,
        status: u16,
    },
    Upgrading {
        from: String,
        to: String,
    },
    VersionChanged {
        from: String,
        to: String,
    },
    MarkerWritten {
        value: String,
        marker: String,
        before: String,
    },
    MarkerChecked {
        value: String,
        marker: String,
        after: String,
    },
    MarkerSpoiled {
        marker: String,
    },
    /// A marker step that could not happen, and why (no volume, no spoil command...).
    NoMarker {
        reason: String,
    },
    /// A hook starts: a per-recipe hook (`post_install`, `marker.write`) or a backupbot hook;
    /// `service` is where it runs (absent: on the CI host).
    HookStarted {
        name: String,
        service: Option<String>,
    },
    /// A command on the CI host (a host hook, a test suite, the screenshot script) starts.
    CommandStarted {
        what: String,
    },
    CommandFinished {
        what: String,
        exit_code: i32,
        seconds: f64,
    },
    VolumeCopied {
        volume: String,
        members: Vec<String>,
    },
    BackupWritten {
        path: String,
        bytes: u64,
    },
    VolumeRestored {
        volume: String,
        bytes: u64,
    },
    SuitesFound {
        origin: String,
        dir: String,
        count: usize,
    },
    /// Anything else worth a line in the log.
    Note {
        text: String,
    },
}

impl Event {
    /// The tier the event belongs to, if any.
    pub fn tier(&self) -> Option<Tier> {
        match self {
            Event::TierStarted { tier } | Event::CaseFinished { tier, .. } => Some(*tier),
            Event::Step { tier, .. } | Event::Output { tier, .. } => *tier,
            Event::TierFinished { result } => Some(result.tier),
            _ => None,
        }
    }

    /// The event as one line for people (the log and plain terminal output).
    pub fn line(&self) -> String {
        match self {
            Event::RunStarted { run_id, source, git_ref } => {
                format!("run {run_id}: {source} at {}", git_ref.as_deref().unwrap_or("working tree"))
            }
            Event::JanitorReaped { runs } => format!("janitor reaped {} dead run(s): {}", runs.len(), runs.join(", ")),
            Event::JanitorFailed { error } => format!("janitor: {error}"),
            Event::CheckedOut { recipe, version, tests_snapshotted } => format!(
                "checked out {recipe} at {version}{}",
                if *tests_snapshotted { " (tests/ snapshotted)" } else { "" }
            ),
            Event::TierStarted { .. } => "starting".into(),
            Event::Step { step, .. } => step.line(),
            Event::Output { text, .. } => text.clone(),
            Event::CaseFinished { case, .. } => {
                let why = case.message.as_deref().map(|m| format!(": {m}")).unwrap_or_default();
                format!("{} {}{why}", case.outcome.name(), case.name)
            }
            Event::TierFinished { result } => format!("{}: {}", result.outcome.name(), result.reason),
            Event::ArtifactKept { artifact } => {
                format!("kept {} {} ({} bytes)", artifact.kind, artifact.path, artifact.bytes)
            }
            Event::TeardownStarted { stack } => format!("tearing down {stack}"),
            Event::TornDown { objects, seconds } => {
                format!("torn down in {seconds:.1}s ({objects} objects); nothing of the run remains")
            }
            Event::TeardownFailed { error } => format!("teardown: {error}"),
            Event::Kept { domain, url, stack, ttl_seconds } => format!(
                "kept {domain} deployed for {ttl_seconds}s at {url} (stack {stack}); `ccci janitor` removes it after that"
            ),
            Event::ArtifactsRedacted { files } => format!("redacted secret values from {files} artifact file(s)"),
            Event::RunFinished { result, out_dir } => {
                format!("{} at level {} of {}; results in {out_dir}", result.outcome.name(), result.level, result.level_of)
            }
        }
    }
}

impl Step {
    /// The step as one line for people.
    pub fn line(&self) -> String {
        match self {
            Step::SecretCreated { name, how } => format!("created secret {name} ({how})"),
            Step::Pulling { image, attempt: 1 } => format!("pulling {image}"),
            Step::Pulling { image, attempt } => format!("pulling {image} (attempt {attempt})"),
            Step::PullProgress { image, percent } => format!("pulling {image}: {percent}%"),
            Step::PullRetrying { image, attempt, wait_seconds, answer } => {
                format!("pulling {image}: attempt {attempt} failed ({answer}); retrying in {wait_seconds:.0}s")
            }
            Step::Pulled { image, seconds } => format!("pulled {image} in {seconds:.1}s"),
            Step::ImageReady { image } => format!("image {image} present"),
            Step::Deploying { stack, domain, role } => match role {
                Role::Target => format!("deploying stack {stack} at {domain}"),
                Role::Base { version } => format!("deploying stack {stack} at {domain} (base release {version})"),
                Role::Dependency { name } => format!("deploying dependency {name} as stack {stack} at {domain}"),
            },
            Step::WaitingForConvergence { timeout_seconds, window_seconds, .. } => {
                format!("waiting for convergence (timeout {timeout_seconds}s, stability window {window_seconds}s)")
            }
            Step::Converged { seconds, .. } => format!("converged in {seconds:.1}s"),
            Step::Requesting { url } => format!("requesting {url}"),
            Step::Served { url, status, attempts } => format!("{url} answered {status} after {attempts} attempt(s)"),
            Step::ProbingTcp { port } => format!("probing TCP port {port} in app"),
            Step::TcpAccepted { port, attempts } => {
                format!("tcp://127.0.0.1:{port} in app accepted after {attempts} attempt(s)")
            }
            Step::TenantCreated { dependency, tenant } => format!("tenant {tenant} made in dependency {dependency}"),
            Step::TenantDeleted { dependency, tenant } => {
                format!("tenant {tenant} removed from dependency {dependency}")
            }
            Step::DependencyReady { name, seconds, url, status, .. } => {
                format!("dependency {name} converged in {seconds:.1}s; {url} answered {status}")
            }
            Step::Upgrading { from, to } => format!("upgrading from the base release {from} to {to}"),
            Step::VersionChanged { from, to } => format!("version label changed: {from} → {to}"),
            Step::MarkerWritten { value, marker, before } => {
                format!("marker {value} written ({marker}) before {before}")
            }
            Step::MarkerChecked { value, marker, after } => {
                format!("marker checked after {after}: {marker} holds {value}")
            }
            Step::MarkerSpoiled { marker } => format!("marker deleted and data changed ({marker}) before the restore"),
            Step::NoMarker { reason } => reason.clone(),
            Step::HookStarted { name, service } => match service {
                Some(s) => format!("hook {name} in {s}"),
                None => format!("hook {name} on the CI host"),
            },
            Step::CommandStarted { what } => format!("running {what}"),
            Step::CommandFinished { what, exit_code, seconds } => {
                format!("{what} exited {exit_code} after {seconds:.1}s")
            }
            Step::VolumeCopied { volume, members } => format!("copied volume {volume} ({})", members.join(", ")),
            Step::BackupWritten { path, bytes } => format!("backup artifact {path} ({bytes} bytes)"),
            Step::VolumeRestored { volume, bytes } => format!("restored volume {volume} ({bytes} bytes of tar)"),
            Step::SuitesFound { origin, dir, count } => format!("{origin} tests in {dir}: {count} suite(s)"),
            Step::Note { text } => text.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_through_json_with_their_kind_named() {
        let e = Event::Step {
            tier: Some(Tier::Install),
            step: Step::Deploying {
                stack: "s".into(),
                domain: "d".into(),
                role: Role::Dependency { name: "idp".into() },
            },
        };
        let json = serde_json::to_string(&e).unwrap();
        assert!(json.contains(r#""event":"step""#) && json.contains(r#""kind":"deploying""#), "{json}");
        assert!(json.contains(r#""role":"dependency""#), "{json}");
        assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), e);
        assert_eq!(e.line(), "deploying dependency idp as stack s at d");
        assert_eq!(e.tier(), Some(Tier::Install));
    }
}
