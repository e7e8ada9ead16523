//! How much the disk holds, by kind, for the dashboard and `/metrics`: images, containers,
//! volumes and the build cache as the engine reports them (`docker system df`), snapshots of
//! canonical copies and run directories as their files under the data dir add up, and the free
//! space against the floor. Measured in the background (walking the files is not free) and kept
//! as the latest figures in a [`UsageCache`].

use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::Serialize;

use super::floor::{Floor, Place};

/// How often the figures are measured again.
pub const MEASURE_EVERY: Duration = Duration::from_secs(600);

/// Bytes of one kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KindUsage {
    /// `images`, `containers`, `volumes`, `build cache`, `snapshots`, `runs`.
    pub kind: &'static str,
    pub bytes: u64,
}

/// Free space at one place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FreeSpace {
    pub place: &'static str,
    pub path: String,
    pub free_bytes: Option<u64>,
}

/// The figures at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiskUsage {
    /// Unix milliseconds.
    pub measured_at: i64,
    pub kinds: Vec<KindUsage>,
    pub free: Vec<FreeSpace>,
    pub floor_bytes: u64,
    /// Why the engine's figures are missing, if they are.
    pub engine_error: Option<String>,
}

/// The latest figures, shared by the measuring task and the web side.
#[derive(Debug, Clone, Default)]
pub struct UsageCache(Arc<RwLock<Option<DiskUsage>>>);

impl UsageCache {
    pub fn latest(&self) -> Option<DiskUsage> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn set(&self, usage: DiskUsage) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = Some(usage);
    }
}

/// Measures everything once.
pub async fn measure(floor: &Floor, data_dir: &Path) -> DiskUsage {
    let mut kinds = Vec::new();
    let mut engine_error = None;
    match swarm::Swarm::connect().await {
        Ok(swarm) => match swarm.engine_usage().await {
            Ok(u) => kinds.extend([
                KindUsage { kind: "images", bytes: u.images },
                KindUsage { kind: "containers", bytes: u.containers },
                KindUsage { kind: "volumes", bytes: u.volumes },
                KindUsage { kind: "build cache", bytes: u.build_cache },
            ]),
            Err(e) => engine_error = Some(e.to_string()),
        },
        Err(e) => engine_error = Some(e.to_string()),
    }
    let dir = data_dir.to_path_buf();
    let (snapshots, runs) = tokio::task::spawn_blocking(move || {
        let warm = std::fs::read_dir(dir.join("warm")).into_iter().flatten().flatten();
        let snapshots = warm.map(|recipe| tree_size(&recipe.path().join("snapshots"))).sum::<u64>();
        (snapshots, tree_size(&dir.join("runs")))
    })
    .await
    .unwrap_or((0, 0));
    kinds.push(KindUsage { kind: "snapshots", bytes: snapshots });
    kinds.push(KindUsage { kind: "runs", bytes: runs });
    let free = floor
        .measure()
        .await
        .into_iter()
        .map(|Place { name, path, free }| FreeSpace {
            place: name,
            path: path.display().to_string(),
            free_bytes: free.ok(),
        })
        .collect();
    let measured_at = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    DiskUsage { measured_at, kinds, free, floor_bytes: floor.min_free(), engine_error }
}

/// Measures into `cache` now and every [`MEASURE_EVERY`]; never ends.
pub async fn keep_measuring(floor: Arc<Floor>, data_dir: std::path::PathBuf, cache: UsageCache) -> String {
    loop {
        cache.set(measure(&floor, &data_dir).await);
        tokio::time::sleep(MEASURE_EVERY).await;
    }
}

/// Bytes of the regular files under `path` (symbolic links not followed; 0 when it is absent).
pub fn tree_size(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else { return 0 };
    if meta.is_file() {
        return meta.len();
    }
    if !meta.is_dir() {
        return 0;
    }
    std::fs::read_dir(path).into_iter().flatten().flatten().map(|e| tree_size(&e.path())).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_sizes_add_up_files_and_skip_links() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        std::fs::write(dir.path().join("a/one"), [0u8; 100]).unwrap();
        std::fs::write(dir.path().join("a/b/two"), [0u8; 23]).unwrap();
        std::os::unix::fs::symlink(dir.path().join("a/one"), dir.path().join("a/link")).unwrap();
        assert_eq!(tree_size(dir.path()), 123);
        assert_eq!(tree_size(&dir.path().join("missing")), 0);
    }
}
