//! Locks that serialise runs touching the same warm app (SPEC W5): a canonical copy, a warm
//! dependency, the infrastructure. Across processes each is an `flock` on its own file, which the
//! kernel releases when the holder dies (no stale lock after `kill -9`). Within one process a
//! lock is re-entrant: taking a lock the process already holds returns another guard on it at
//! once instead of waiting for itself forever (the earlier Python CI deadlocked exactly so during
//! promotion). One `ccci` process carries one run, so sharing within a process never lets two
//! runs in.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, Weak};

/// A held lock; released when the last guard of this process on it drops.
#[derive(Debug, Clone)]
pub struct LockGuard {
    _held: Arc<Held>,
}

#[derive(Debug)]
struct Held {
    path: PathBuf,
    _file: File,
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut map = registry().lock().unwrap_or_else(|e| e.into_inner());
        if map.get(&self.path).is_some_and(|w| w.upgrade().is_none()) {
            map.remove(&self.path);
        }
    }
}

/// The locks this process holds, by path.
fn registry() -> &'static Mutex<HashMap<PathBuf, Weak<Held>>> {
    static HELD: OnceLock<Mutex<HashMap<PathBuf, Weak<Held>>>> = OnceLock::new();
    HELD.get_or_init(Default::default)
}

/// The lock file `path` (created if missing), waiting as long as another process holds it.
pub async fn acquire(path: &Path) -> io::Result<LockGuard> {
    if let Some(guard) = already_held(path) {
        return Ok(guard);
    }
    let owned = path.to_path_buf();
    let file = tokio::task::spawn_blocking(move || {
        let file = open(&owned)?;
        crate::flock::exclusive(&file)?;
        Ok::<_, io::Error>(file)
    })
    .await
    .map_err(io::Error::other)??;
    Ok(register(path, file))
}

/// The lock `path` if nobody else holds it now; `None` when another process does.
pub fn try_acquire(path: &Path) -> io::Result<Option<LockGuard>> {
    if let Some(guard) = already_held(path) {
        return Ok(Some(guard));
    }
    let file = open(path)?;
    Ok(crate::flock::try_exclusive(&file)?.then(|| register(path, file)))
}

/// Whether any process (this one included) holds the lock `path`.
pub fn is_locked(path: &Path) -> bool {
    already_held(path).is_some() || File::open(path).is_ok_and(|f| crate::flock::is_held(&f).unwrap_or(false))
}

fn open(path: &Path) -> io::Result<File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    OpenOptions::new().create(true).truncate(false).write(true).open(path)
}

fn already_held(path: &Path) -> Option<LockGuard> {
    let map = registry().lock().unwrap_or_else(|e| e.into_inner());
    map.get(path).and_then(Weak::upgrade).map(|held| LockGuard { _held: held })
}

fn register(path: &Path, file: File) -> LockGuard {
    let held = Arc::new(Held { path: path.to_path_buf(), _file: file });
    registry().lock().unwrap_or_else(|e| e.into_inner()).insert(path.to_path_buf(), Arc::downgrade(&held));
    LockGuard { _held: held }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[tokio::test]
    async fn a_process_taking_a_lock_it_holds_does_not_wait_for_itself() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("canonical.lock");
        let outer = acquire(&path).await.unwrap();
        let inner = tokio::time::timeout(Duration::from_secs(5), acquire(&path)).await.expect("no deadlock").unwrap();
        assert!(is_locked(&path));
        drop(outer);
        assert!(is_locked(&path), "still held by the inner guard");
        drop(inner);
        assert!(!is_locked(&path));
        assert!(try_acquire(&path).unwrap().is_some());
    }

    #[tokio::test]
    async fn another_process_holding_the_lock_is_waited_for_and_its_death_releases_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("canonical.lock");
        let mut child = std::process::Command::new("flock")
            .arg("--no-fork")
            .arg(&path)
            .args(["sleep", "30"])
            .spawn()
            .expect("flock(1) from util-linux");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !is_locked(&path) {
            assert!(Instant::now() < deadline, "the child never took the lock");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(try_acquire(&path).unwrap().is_none(), "held by the child");
        let waiting = tokio::spawn({
            let path = path.clone();
            async move { acquire(&path).await.map(|_| ()) }
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!waiting.is_finished(), "it must wait while the child holds the lock");
        child.kill().unwrap();
        child.wait().unwrap();
        tokio::time::timeout(Duration::from_secs(10), waiting).await.expect("released by kill -9").unwrap().unwrap();
    }
}
