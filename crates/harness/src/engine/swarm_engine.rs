//! The real engine: [`Engine`] over the swarm crate's Docker client. Each method calls the
//! swarm crate's inherent method; mind that a method missing there would resolve to this trait's
//! own and recurse.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use swarm::deploy::Deploy;
use swarm::diagnostics::TaskInfo;
use swarm::exec::ExecOutput;
use swarm::janitor::JanitorReport;
use swarm::teardown::{TeardownMode, TornDown};
use swarm::{PullEvent, PullOptions, PullReport, Swarm};

use super::{Engine, ReapScope};

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

    async fn wait_converged(&self, stack: &str, timeout: Duration, window: Duration) -> swarm::Result<Duration> {
        self.wait_converged_with(stack, timeout, window).await.map(|c| c.elapsed)
    }

    async fn exec(&self, stack: &str, service: &str, cmd: &[&str]) -> swarm::Result<ExecOutput> {
        Swarm::exec(self, stack, service, cmd).await
    }

    async fn service_labels(&self, stack: &str, service: &str) -> swarm::Result<HashMap<String, String>> {
        Swarm::service_labels(self, stack, service).await
    }

    async fn export_volume(&self, run_id: &str, volume: &str, image: &str, dest: &Path) -> swarm::Result<u64> {
        let mut file = tokio::fs::File::create(dest)
            .await
            .map_err(|source| swarm::Error::Io { context: format!("creating {}", dest.display()), source })?;
        Swarm::export_volume(self, run_id, volume, image, &mut file).await
    }

    async fn import_volume(&self, run_id: &str, volume: &str, image: &str, tar: Vec<u8>) -> swarm::Result<()> {
        Swarm::import_volume(self, run_id, volume, image, tar.into()).await
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
}
