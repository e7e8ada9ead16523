//! The infrastructure lock of a data dir (SPEC I1, S2): every run holds it **shared** for as long
//! as it lives, an update of the infrastructure apps (the proxy, warm dependencies) holds it
//! **exclusive**. So an update waits until no run is live, and no run starts while one is under
//! way (a run waits for it at its start, saying so). It is an `flock` on `<data dir>/infra/lock`:
//! the kernel releases it when its holder dies, even by `kill -9`, so it never goes stale. Runs
//! and updates of one server share its data dir, which is what ties them together.
//!
//! A waiting update goes first: a run takes the lock through a gate (`<data dir>/infra/gate`,
//! held shared only for the moment of taking the lock), and an update holds the gate exclusive
//! while it waits for the runs that are live, so runs queued behind it never starve it.
//!
//! A process must not take it exclusive while it holds it shared (the two would wait for each
//! other): the server never holds it shared itself, its runs do, in their own processes.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// The lock file of `data_dir`.
pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join("infra").join("lock")
}

/// The gate a run passes to take the lock, which a waiting update closes.
fn gate_path(data_dir: &Path) -> PathBuf {
    data_dir.join("infra").join("gate")
}

/// A held infrastructure lock, shared or exclusive; released on drop.
#[derive(Debug)]
pub struct InfraLock {
    _lock: File,
    /// An update holds the gate too.
    _gate: Option<File>,
}

fn open(path: &Path) -> io::Result<File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    OpenOptions::new().create(true).truncate(false).write(true).open(path)
}

/// The lock shared (a run), unless an update holds it or waits for it: `None` then.
pub fn try_shared(data_dir: &Path) -> io::Result<Option<InfraLock>> {
    let gate = open(&gate_path(data_dir))?;
    if !crate::flock::try_shared(&gate)? {
        return Ok(None);
    }
    let lock = open(&path(data_dir))?;
    Ok(crate::flock::try_shared(&lock)?.then_some(InfraLock { _lock: lock, _gate: None }))
}

/// The lock exclusive (an update), unless a run or another update holds it: `None` then.
pub fn try_exclusive(data_dir: &Path) -> io::Result<Option<InfraLock>> {
    let gate = open(&gate_path(data_dir))?;
    if !crate::flock::try_exclusive(&gate)? {
        return Ok(None);
    }
    let lock = open(&path(data_dir))?;
    Ok(crate::flock::try_exclusive(&lock)?.then_some(InfraLock { _lock: lock, _gate: Some(gate) }))
}

/// The lock shared, waiting as long as an update holds it or waits for it.
pub async fn shared(data_dir: &Path) -> io::Result<InfraLock> {
    let (gate, lock) = (open(&gate_path(data_dir))?, open(&path(data_dir))?);
    blocking(move || {
        crate::flock::shared(&gate)?;
        crate::flock::shared(&lock)?;
        // The gate only orders the taking: dropping it here lets an update close it.
        Ok(InfraLock { _lock: lock, _gate: None })
    })
    .await
}

/// The lock exclusive, waiting as long as any run (or another update) holds it; no run takes it
/// meanwhile.
pub async fn exclusive(data_dir: &Path) -> io::Result<InfraLock> {
    let (gate, lock) = (open(&gate_path(data_dir))?, open(&path(data_dir))?);
    blocking(move || {
        crate::flock::exclusive(&gate)?;
        crate::flock::exclusive(&lock)?;
        Ok(InfraLock { _lock: lock, _gate: Some(gate) })
    })
    .await
}

async fn blocking(take: impl FnOnce() -> io::Result<InfraLock> + Send + 'static) -> io::Result<InfraLock> {
    tokio::task::spawn_blocking(take).await.map_err(io::Error::other)?
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Take the lock of `data` in a task of its own, exclusive (an update) or shared (a run).
    fn spawn_taking(data: &Path, exclusively: bool) -> tokio::task::JoinHandle<io::Result<()>> {
        let data = data.to_path_buf();
        tokio::spawn(async move {
            match exclusively {
                true => exclusive(&data).await.map(drop),
                false => shared(&data).await.map(drop),
            }
        })
    }

    #[tokio::test]
    async fn runs_share_the_lock_and_an_update_excludes_them_both_ways() {
        let data = tempfile::tempdir().unwrap();
        let a = try_shared(data.path()).unwrap().expect("a first run");
        let b = try_shared(data.path()).unwrap().expect("runs share it");
        assert!(try_exclusive(data.path()).unwrap().is_none(), "no update while runs are live");
        let update = spawn_taking(data.path(), true);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!update.is_finished(), "the update waits for the runs");
        let closed = async {
            while try_shared(data.path()).unwrap().is_some() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), closed).await.expect("a waiting update keeps new runs out");
        drop((a, b));
        tokio::time::timeout(Duration::from_secs(10), update).await.expect("runs ended").unwrap().unwrap();

        let held = try_exclusive(data.path()).unwrap().expect("no run is live");
        assert!(try_shared(data.path()).unwrap().is_none(), "no run starts during an update");
        let run = spawn_taking(data.path(), false);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!run.is_finished(), "the run waits for the update");
        drop(held);
        tokio::time::timeout(Duration::from_secs(10), run).await.expect("update ended").unwrap().unwrap();
    }
}
