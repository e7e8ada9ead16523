//! Keeping the sweep and test runs apart (SPEC S2). A sweep holds `<data dir>/sweep.lock`
//! (`flock`, released by the kernel when its process dies) for its whole life and opens a sweep
//! record in the store, which closes the queue: no queued run starts until the sweep ends. It
//! then waits for the runs already in flight to end before it touches anything. The sweep may
//! run in `ccci serve` or in a `ccci sweep` of its own; the lock and the store are what both see.
//!
//! A sweep record left open by a process that died (its lock free) is ended `interrupted` by the
//! next one to look — the next sweep, the workers, a starting server — so the queue never stays
//! closed for nobody.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use harness::flock;

use crate::events::Events;
use crate::store::{Store, StoreError};

/// How often the runs in flight are counted while a sweep waits for them.
const WAIT_POLL: Duration = Duration::from_secs(1);

/// The sweep lock's file.
pub fn lock_path(data_dir: &Path) -> PathBuf {
    data_dir.join("sweep.lock")
}

/// The sweep lock, held.
pub struct SweepLock {
    _file: File,
}

fn open(data_dir: &Path) -> std::io::Result<File> {
    std::fs::create_dir_all(data_dir)?;
    std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(lock_path(data_dir))
}

impl SweepLock {
    /// Takes the lock if no sweep holds it: `Ok(None)` when one does. Tried a few times over a
    /// fifth of a second: [`sweep_running`] holds it shared for an instant when it looks.
    pub fn try_take(data_dir: &Path) -> std::io::Result<Option<SweepLock>> {
        let file = open(data_dir)?;
        for _ in 0..20 {
            if flock::try_exclusive(&file)? {
                return Ok(Some(SweepLock { _file: file }));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(None)
    }
}

/// Whether some process holds the sweep lock (this one included, through another descriptor).
pub fn sweep_running(data_dir: &Path) -> bool {
    open(data_dir).and_then(|f| flock::is_held(&f)).unwrap_or(false)
}

/// The open sweep if a live process runs it; an open sweep nobody runs is ended `interrupted`
/// (and said so in `events`) and `None` returned.
pub fn live_sweep(store: &Store, data_dir: &Path, events: &Events) -> Result<Option<i64>, StoreError> {
    let Some(id) = store.open_sweep()? else { return Ok(None) };
    if sweep_running(data_dir) {
        return Ok(Some(id));
    }
    end_abandoned(store, events, id)?;
    Ok(None)
}

/// Ends open sweep `id`, whose process died, as `interrupted` (saying so in `events`).
pub fn end_abandoned(store: &Store, events: &Events, id: i64) -> Result<(), StoreError> {
    if store.interrupt_sweep(id)? {
        events.log(format!("sweep {id} was left open by a process that stopped: ended as interrupted"));
    }
    Ok(())
}

/// Waits until no run is running; returns how many were when it started, and how long it waited.
/// `sweep` names the sweep in the log.
pub async fn wait_for_runs_in_flight(
    store: &Store,
    events: &Events,
    sweep: i64,
) -> Result<(u64, Duration), StoreError> {
    let started = Instant::now();
    let first = store.count_running()?;
    if first > 0 {
        events.log(format!("sweep {sweep}: waiting for {first} run(s) in flight to end; no new run starts meanwhile"));
    }
    while store.count_running()? > 0 {
        tokio::time::sleep(WAIT_POLL).await;
    }
    if first > 0 {
        events.log(format!("sweep {sweep}: the runs in flight ended after {:.1} s", started.elapsed().as_secs_f64()));
    }
    Ok((first, started.elapsed()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_open_sweep_whose_process_died_is_interrupted_and_a_live_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.sqlite")).unwrap();
        let events = Events::open(dir.path(), harness::redact::Redactor::new());
        let held = SweepLock::try_take(dir.path()).unwrap().expect("free");
        assert!(SweepLock::try_take(dir.path()).unwrap().is_none(), "one sweep at a time");
        let id = store.begin_sweep("hand").unwrap().unwrap();
        assert_eq!(live_sweep(&store, dir.path(), &events).unwrap(), Some(id));
        drop(held);
        assert_eq!(live_sweep(&store, dir.path(), &events).unwrap(), None);
        assert_eq!(store.open_sweep().unwrap(), None, "the queue is open again");
        assert!(std::fs::read_to_string(events.path()).unwrap().contains("ended as interrupted"));
    }
}
