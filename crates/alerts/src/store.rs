//! Alerts on disk: one JSON file per alert in `<data dir>/alerts/`, named so that they list in the
//! order raised, each replaced atomically (write aside, fsync, rename) when its delivery state
//! changes. The store is shared by the server and the `ccci` commands that raise alerts; whoever
//! delivers holds its delivery lock.

use std::io;
use std::path::{Path, PathBuf};

use rand::Rng;

use crate::record::{Alert, Delivery, DeliveryState, Kind, NewAlert};
use crate::sink::Sink;

/// The alert records of a data dir.
#[derive(Debug, Clone)]
pub struct AlertStore {
    dir: PathBuf,
}

impl AlertStore {
    pub fn new(data_dir: &Path) -> Self {
        AlertStore { dir: data_dir.join("alerts") }
    }

    /// Record a new alert, pending for every sink in `sinks`.
    pub fn raise(&self, kind: Kind, about: NewAlert, sinks: &[Sink]) -> io::Result<Alert> {
        let now = time::OffsetDateTime::now_utc();
        let stamp = now
            .format(time::macros::format_description!("[year][month][day]t[hour][minute][second]"))
            .unwrap_or_default();
        let id = format!("{stamp}-{:06x}", rand::rng().random_range(0..0x100_0000u32));
        let deliveries = sinks
            .iter()
            .map(|s| Delivery {
                sink: s.name.clone(),
                state: DeliveryState::Pending,
                attempts: 0,
                next_attempt: 0,
                last_error: None,
            })
            .collect();
        let at = now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
        let alert = Alert { id, kind, at, about, deliveries };
        self.save(&alert)?;
        Ok(alert)
    }

    /// Replace the record of `alert`.
    pub fn save(&self, alert: &Alert) -> io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let path = self.dir.join(format!("{}.json", alert.id));
        let tmp = self.dir.join(format!(".{}.{}.tmp", alert.id, std::process::id()));
        let bytes = serde_json::to_vec_pretty(alert).map_err(io::Error::other)?;
        {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &path)?;
        std::fs::File::open(&self.dir)?.sync_all()
    }

    /// Every alert, newest first (unreadable files left out).
    pub fn list(&self) -> Vec<Alert> {
        let mut all: Vec<Alert> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
            .filter_map(|e| std::fs::read(e.path()).ok())
            .filter_map(|b| serde_json::from_slice(&b).ok())
            .collect();
        all.sort_by(|a, b| b.id.cmp(&a.id));
        all
    }

    /// The delivery lock of this store, waited for (see [`crate::Deliverer`]); released on drop.
    pub async fn delivery_lock(&self) -> io::Result<std::fs::File> {
        std::fs::create_dir_all(&self.dir)?;
        let path = self.dir.join(".delivery.lock");
        tokio::task::spawn_blocking(move || {
            let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path)?;
            rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)?;
            Ok(file)
        })
        .await
        .map_err(io::Error::other)?
    }

    /// How many alerts of each kind there are (for `/metrics`).
    pub fn counts(&self) -> Vec<(Kind, usize)> {
        let all = self.list();
        Kind::ALL.iter().map(|k| (*k, all.iter().filter(|a| a.kind == *k).count())).collect()
    }
}
