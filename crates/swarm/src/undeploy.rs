//! Undeploying a stack while keeping its data (SPEC W2): its services, networks and configs go
//! (waiting, on events, until the containers are gone), its volumes and secrets stay, so the
//! volumes can be snapshotted with nothing writing to them, or deployed again later.

use std::time::Duration;

use crate::error::Result;
use crate::labels::{filter_stack, STACK_NAMESPACE};
use crate::objects::{Kind, Object};
use crate::Swarm;

impl Swarm {
    /// Remove `stack`'s services, networks and configs (and helper containers of run `run_id`);
    /// its volumes and secrets stay. [`crate::Error::TeardownTimeout`] past `timeout`.
    pub async fn undeploy(&self, stack: &str, run_id: &str, timeout: Duration) -> Result<()> {
        let selectors = vec![filter_stack(stack), crate::labels::filter_run(run_id)];
        let st = stack.to_string();
        let run = run_id.to_string();
        let ours = move |o: &Object| {
            let mine = o.labels.get(STACK_NAMESPACE) == Some(&st) || o.labels.get(crate::labels::RUN) == Some(&run);
            mine && !matches!(o.kind, Kind::Volume | Kind::Secret)
        };
        self.reap(&selectors, &ours, stack, timeout, crate::teardown::TeardownMode::Graceful).await.map(drop)
    }
}
