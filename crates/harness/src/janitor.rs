//! Reaping what dead runs left behind (SPEC D6): every Docker object labelled with a run that holds
//! no live lock on this machine is removed, whatever its age.
//!
//! Liveness is asked per run *after* the engine's objects are listed: a run claims its lock before
//! it creates its first object, so any object the listing sees belongs to a run whose lock already
//! exists, and a run that starts during the pass is never taken for dead.

use std::path::Path;
use std::time::Duration;

use swarm::janitor::JanitorReport;

use crate::engine::Engine;
use crate::liveness;

/// How long one janitor pass may take.
pub const JANITOR_TIMEOUT: Duration = Duration::from_secs(120);

/// Remove every object of every run that is not live (kept runs wait for their TTL).
pub async fn reap(engine: &dyn Engine, live_dir: &Path) -> swarm::Result<JanitorReport> {
    engine.reap(&|run: &str| !liveness::is_live(live_dir, run), JANITOR_TIMEOUT).await
}
