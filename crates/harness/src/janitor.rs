//! Reaping what dead runs left behind (SPEC D6): every Docker object labelled with a run that holds
//! no live lock on this machine is removed, whatever its age.

use std::path::Path;
use std::time::Duration;

use swarm::janitor::JanitorReport;
use swarm::Swarm;

use crate::liveness;

/// How long one janitor pass may take.
pub const JANITOR_TIMEOUT: Duration = Duration::from_secs(120);

/// The runs live on this machine now.
pub fn live_runs(live_dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(live_dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|id| liveness::is_live(live_dir, id))
        .collect()
}

/// Remove every object of every run that is not live.
pub async fn reap(swarm: &Swarm, live_dir: &Path) -> swarm::Result<JanitorReport> {
    let live = live_runs(live_dir);
    swarm.janitor(&live, JANITOR_TIMEOUT).await
}
