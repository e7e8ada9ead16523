//! The engine seam: everything a run asks of the container engine (deploy, converge, exec,
//! volumes, logs, teardown, the janitor), as one trait. [`swarm::Swarm`] implements it for real
//! (`swarm_engine`); the harness's unit tests drive the tiers through an in-memory fake
//! (`fake`, test builds only), the way Woodpecker's dummy backend drives its runtime's tests.
//!
//! Errors are the swarm crate's typed errors, so the fake fails exactly the ways the real engine
//! does and [`crate::outcome::TierEnd`] classifies both alike (recipe fault → fail, else error).

mod swarm_engine;

#[cfg(test)]
pub mod fake;

use std::collections::HashMap;
use std::time::Duration;

use swarm::deploy::Deploy;
use swarm::diagnostics::TaskInfo;
use swarm::exec::ExecOutput;
use swarm::janitor::JanitorReport;
use swarm::teardown::{TeardownMode, TornDown};
use swarm::{Leftover, PullEvent, PullOptions, PullReport};

/// Decides, per run id, whether the janitor may reap that run's objects.
pub type ReapScope<'a> = &'a (dyn Fn(&str) -> bool + Send + Sync);

/// What the tiers and the run driver ask of the engine. Object names are Docker's: a stack's
/// services are `<stack>_<service>`, and every object a run creates carries `cc-ci.run=<run id>`.
#[async_trait::async_trait]
pub trait Engine: Send + Sync {
    /// Remove every object of every run `is_dead` accepts (kept runs wait for their TTL).
    async fn reap(&self, is_dead: ReapScope<'_>, timeout: Duration) -> swarm::Result<JanitorReport>;
    /// Create secret `name` of `stack` for run `run_id`.
    async fn create_secret(&self, run_id: &str, stack: &str, name: &str, value: &[u8]) -> swarm::Result<()>;
    /// Pull the images `doc`'s services name, as `options` say, before the convergence clock.
    async fn pull_images(
        &self,
        doc: &serde_norway::Value,
        options: &PullOptions,
        on_event: &mut (dyn FnMut(PullEvent) + Send),
    ) -> swarm::Result<PullReport>;
    /// Deploy (or update in place) a stack; returns the deploy's output.
    async fn deploy(&self, deploy: &Deploy<'_>) -> swarm::Result<String>;
    /// Deploy a stack of the CI's own infrastructure (a shared warm dependency): everything it
    /// creates carries `labels` (`cc-ci.infra=<app>`) instead of a run's, so no janitor reaps it.
    async fn deploy_labelled(&self, deploy: &Deploy<'_>, labels: &[(&str, &str)]) -> swarm::Result<String>;
    /// Create secret `name` of the infrastructure app `app` (it lives as long as the app).
    async fn create_infra_secret(&self, app: &str, name: &str, value: &[u8]) -> swarm::Result<()>;
    /// Wait until every service of `stack` has converged; returns how long that took.
    async fn wait_converged(&self, stack: &str, timeout: Duration, window: Duration) -> swarm::Result<Duration>;
    /// Run `cmd` in a running task of `<stack>_<service>`.
    async fn exec(&self, stack: &str, service: &str, cmd: &[&str]) -> swarm::Result<ExecOutput>;
    /// The labels of `<stack>_<service>` as its current spec has them.
    async fn service_labels(&self, stack: &str, service: &str) -> swarm::Result<HashMap<String, String>>;
    /// Stream the contents of `volume` as a tar archive into `out`; returns bytes written.
    /// `image` is any local image the helper container may use.
    async fn export_volume(&self, run_id: &str, volume: &str, image: &str, out: &mut Writer<'_>) -> swarm::Result<u64>;
    /// Stream the tar archive `tar` into `volume` (files in it overwrite, others stay).
    async fn import_volume(&self, run_id: &str, volume: &str, image: &str, tar: &mut Reader<'_>) -> swarm::Result<()>;
    /// Empty `volume` (no container may use it): nothing of its contents survives.
    async fn empty_volume(&self, volume: &str) -> swarm::Result<()>;
    /// Every task of every service of `stack`, as `docker service ps` lists them.
    async fn tasks(&self, stack: &str) -> swarm::Result<Vec<TaskInfo>>;
    /// The last `tail` log lines of every service of `stack`.
    async fn stack_logs(&self, stack: &str, tail: usize) -> swarm::Result<Vec<(String, Vec<String>)>>;
    /// Remove `stack` and everything labelled with `run_id`, ending with the residual check;
    /// [`TeardownMode::Throwaway`] kills the containers instead of waiting for them to stop.
    async fn teardown(
        &self,
        stack: &str,
        run_id: &str,
        timeout: Duration,
        mode: TeardownMode,
    ) -> swarm::Result<TornDown>;
    /// [`swarm::Error::Residual`] naming whatever of the run (or stack) is still there.
    async fn residual_check(&self, run_id: &str, stack: Option<&str>) -> swarm::Result<()>;
    /// Keep the run's objects from the janitor until `until` (unix seconds).
    async fn keep_until(&self, run_id: &str, until: u64) -> swarm::Result<()>;
    /// Remove `stack`'s services, networks and configs, waiting until its containers are gone;
    /// its volumes and secrets stay (SPEC W2: a snapshot is taken while undeployed).
    async fn undeploy(&self, stack: &str, run_id: &str, timeout: Duration) -> swarm::Result<()>;
    /// Create secret `name` of the warm canonical copy `copy` (its stack name); it outlives
    /// every run.
    async fn create_canonical_secret(&self, copy: &str, name: &str, value: &[u8]) -> swarm::Result<()>;
    /// Create the (empty) volume `name` of the canonical copy `copy`.
    async fn create_canonical_volume(&self, copy: &str, name: &str) -> swarm::Result<()>;
    /// The secrets and volumes of the canonical copy `copy`.
    async fn canonical_objects(&self, copy: &str) -> swarm::Result<Vec<Leftover>>;
    /// Remove the secrets and volumes of the canonical copy `copy`; returns what was removed.
    async fn drop_canonical(&self, copy: &str) -> swarm::Result<Vec<Leftover>>;
}

/// Where an exported volume archive goes.
pub type Writer<'a> = dyn tokio::io::AsyncWrite + Send + Unpin + 'a;
/// Where an imported volume archive comes from.
pub type Reader<'a> = dyn tokio::io::AsyncRead + Send + Unpin + 'a;
