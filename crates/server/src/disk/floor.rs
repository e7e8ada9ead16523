//! The disk floor (`[disk] min_free_gib`), checked by the workers before they start a run: the
//! free space under the data dir (workspaces, artifacts, snapshots, the store) and under Docker's
//! data root (images, volumes, containers) must each be at least the floor. Below it, runs stay
//! queued: the first refusal logs an error, raises a `disk_low` alert and shows on `/healthz`,
//! once per episode; the workers look again on their next round (a run queued or ended, or
//! their idle timer), and when there is room again the first run starts and the log says so.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use alerts::{Kind, NewAlert};

use super::{free_bytes, gib, DiskConfig};
use crate::alerting::Alerting;
use crate::events::Events;
use crate::health::Health;

/// The part `/healthz` names while runs wait for disk space.
pub const DISK: &str = "disk";

/// A place whose free space is measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// `data dir` or `Docker's data root`.
    pub name: &'static str,
    pub path: PathBuf,
    /// Bytes free, or why it could not be measured.
    pub free: Result<u64, String>,
}

/// Measures free space where runs need it.
pub struct Floor {
    min_free: u64,
    data_dir: PathBuf,
    /// Docker's data root, once the engine said where it is.
    docker_root: tokio::sync::Mutex<Option<PathBuf>>,
    /// What is short, while runs wait.
    low: Mutex<Option<String>>,
    alerting: Alerting,
    events: Events,
    health: Health,
}

impl Floor {
    pub fn new(config: &DiskConfig, data_dir: &Path, alerting: Alerting, events: Events, health: Health) -> Floor {
        Floor {
            min_free: config.min_free_bytes(),
            data_dir: data_dir.to_path_buf(),
            docker_root: tokio::sync::Mutex::new(None),
            low: Mutex::new(None),
            alerting,
            events,
            health,
        }
    }

    /// The floor in bytes.
    pub fn min_free(&self) -> u64 {
        self.min_free
    }

    /// Docker's data root, asked of the engine until it answers.
    async fn docker_root(&self) -> Option<PathBuf> {
        let mut known = self.docker_root.lock().await;
        if known.is_none() {
            if let Ok(swarm) = swarm::Swarm::connect().await {
                *known = swarm.data_root().await.ok();
            }
        }
        known.clone()
    }

    /// The free space of the data dir and (when the engine says where it is) Docker's data root.
    pub async fn measure(&self) -> Vec<Place> {
        let mut places = vec![("data dir", self.data_dir.clone())];
        if let Some(root) = self.docker_root().await {
            places.push(("Docker's data root", root));
        }
        places
            .into_iter()
            .map(|(name, path)| {
                let free = free_bytes(&path).map_err(|e| e.to_string());
                Place { name, path, free }
            })
            .collect()
    }

    /// Whether there is room for a run now; see the module doc for what a refusal does.
    pub async fn room_for_a_run(&self) -> bool {
        let short = shortfalls(&self.measure().await, self.min_free);
        let mut low = self.low.lock().unwrap_or_else(|e| e.into_inner());
        if short.is_empty() {
            if low.take().is_some() {
                self.health.clear(DISK);
                self.events.log("disk: there is room again; queued runs start");
            }
            return true;
        }
        let message = short.join("; ");
        if low.is_none() {
            self.events.log(format!("error: disk: {message}: runs stay queued until there is room"));
            self.health.report(DISK, format!("{message}: runs stay queued"));
            self.alerting.raise(
                Kind::DiskLow,
                NewAlert { message: format!("{message}; runs stay queued until there is room"), ..Default::default() },
            );
        }
        *low = Some(message);
        false
    }
}

/// What is below `floor` among `places`, one sentence each (a place that could not be measured
/// is not a shortfall: the run itself will say what is wrong with it).
pub fn shortfalls(places: &[Place], floor: u64) -> Vec<String> {
    places
        .iter()
        .filter_map(|p| match p.free {
            Ok(free) if free < floor => Some(format!(
                "{} free under {} ({}), below the floor of {} (`[disk] min_free_gib`)",
                gib(free),
                p.path.display(),
                p.name,
                gib(floor)
            )),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_places_below_the_floor_are_short() {
        let place = |name, free| Place { name, path: PathBuf::from("/x"), free };
        let places =
            [place("data dir", Ok(1 << 30)), place("Docker's data root", Ok(8 << 30)), place("gone", Err("no".into()))];
        let short = shortfalls(&places, 2 << 30);
        assert_eq!(short, ["1.0 GiB free under /x (data dir), below the floor of 2.0 GiB (`[disk] min_free_gib`)"]);
        assert!(shortfalls(&places, 1 << 30).is_empty());
    }
}
