//! The real engine: [`Engine`] over the swarm crate's Docker client. Each method calls the
//! swarm crate's inherent method; mind that a method missing there would resolve to this trait's
//! own and recurse.

use std::collections::HashMap;
use std::time::Duration;

use swarm::deploy::Deploy;
use swarm::diagnostics::TaskInfo;
use swarm::exec::ExecOutput;
use swarm::janitor::JanitorReport;
use swarm::teardown::{TeardownMode, TornDown};
use swarm::{Leftover, PullEvent, PullOptions, PullReport, Swarm};

use super::{Engine, Reader, ReapScope, Writer};

#[async_trait::async_trait]
impl Engine for Swarm {
    async fn reap(&self, is_dead: ReapScope<'_>, timeout: Duration) -> swarm::Result<JanitorReport> {
        let none: [&str; 0] = [];
        self.janitor_where(&none, is_dead, timeout).await
    }

    async fn create_secret(&self, run_id: &str, stack: &str, name: &str, value: &[u8]) -> swarm::Result<()> {
        Swarm::create_secret(self, run_id, stack, name, value).await.map(|_| ())
    }

    async fn pull_images(
        &self,
        doc: &serde_norway::Value,
        options: &PullOptions,
        on_event: &mut (dyn FnMut(PullEvent) + Send),
    ) -> swarm::Result<PullReport> {
        Swarm::pull_images(self, doc, options, on_event).await
    }

    async fn deploy(&self, deploy: &Deploy<'_>) -> swarm::Result<String> {
        Swarm::deploy(self, deploy).await.map(|d| d.output)
    }

    async fn deploy_labelled(&self, deploy: &Deploy<'_>, labels: &[(&str, &str)]) -> swarm::Result<String> {
        Swarm::deploy_labelled(self, deploy, labels).await.map(|d| d.output)
    }

    async fn create_infra_secret(&self, app: &str, name: &str, value: &[u8]) -> swarm::Result<()> {
        Swarm::create_infra_secret(self, app, name, value).await
    }

    async fn wait_converged(&self, stack: &str, timeout: Duration, window: Duration) -> swarm::Result<Duration> {
        self.wait_converged_with(stack, timeout, window).await.map(|c| c.elapsed)
    }

    async fn exec(&self, stack: &str, service: &str, cmd: &[&str]) -> swarm::Result<ExecOutput> {
        Swarm::exec(self, stack, service, cmd).await
    }

    async fn service_labels(&self, stack: &str, service: &str) -> swarm::Result<HashMap<String, String>> {
        Swarm::service_labels(self, stack, service).await
    }

    async fn export_volume(&self, run_id: &str, volume: &str, image: &str, out: &mut Writer<'_>) -> swarm::Result<u64> {
        Swarm::export_volume(self, run_id, volume, image, out).await
    }

    async fn import_volume(&self, run_id: &str, volume: &str, image: &str, tar: &mut Reader<'_>) -> swarm::Result<()> {
        Swarm::import_volume(self, run_id, volume, image, tar).await
    }

    async fn empty_volume(&self, volume: &str) -> swarm::Result<()> {
        Swarm::empty_volume(self, volume).await
    }

    async fn tasks(&self, stack: &str) -> swarm::Result<Vec<TaskInfo>> {
        Swarm::tasks(self, stack).await
    }

    async fn stack_logs(&self, stack: &str, tail: usize) -> swarm::Result<Vec<(String, Vec<String>)>> {
        Swarm::stack_logs(self, stack, tail).await
    }

    async fn teardown(
        &self,
        stack: &str,
        run_id: &str,
        timeout: Duration,
        mode: TeardownMode,
    ) -> swarm::Result<TornDown> {
        Swarm::teardown_as(self, stack, run_id, timeout, mode).await
    }

    async fn residual_check(&self, run_id: &str, stack: Option<&str>) -> swarm::Result<()> {
        Swarm::residual_check(self, run_id, stack).await
    }

    async fn keep_until(&self, run_id: &str, until: u64) -> swarm::Result<()> {
        Swarm::keep_until(self, run_id, until).await
    }

    async fn undeploy(&self, stack: &str, run_id: &str, timeout: Duration) -> swarm::Result<()> {
        Swarm::undeploy(self, stack, run_id, timeout).await
    }

    async fn create_canonical_secret(&self, copy: &str, name: &str, value: &[u8]) -> swarm::Result<()> {
        Swarm::create_canonical_secret(self, copy, name, value).await
    }

    async fn create_canonical_volume(&self, copy: &str, name: &str) -> swarm::Result<()> {
        Swarm::create_canonical_volume(self, copy, name).await
    }

    async fn canonical_objects(&self, copy: &str) -> swarm::Result<Vec<Leftover>> {
        Swarm::canonical_objects(self, copy).await
    }

    async fn drop_canonical(&self, copy: &str) -> swarm::Result<Vec<Leftover>> {
        Swarm::drop_canonical(self, copy).await
    }
}
