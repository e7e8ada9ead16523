//! Which runs are live on this machine. A run holds an exclusive `flock` on its own file in a
//! machine-wide directory for as long as its process lives; the kernel drops the lock when the
//! process dies, even by `kill -9`. The janitor reaps the Docker objects of every run that holds no
//! lock, whatever its age, so any number of concurrent runs stay safe.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use crate::run_id;

/// Environment variable that overrides the directory of live-run locks.
pub const LIVE_DIR_ENV: &str = "CCCI_LIVE_DIR";

/// The machine-wide directory of live-run lock files.
pub fn live_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(LIVE_DIR_ENV) {
        return PathBuf::from(dir);
    }
    let run = Path::new("/run");
    if is_writable_dir(run) {
        return run.join("ccci").join("live");
    }
    std::env::temp_dir().join("ccci-live")
}

fn is_writable_dir(dir: &Path) -> bool {
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()) else {
        return false;
    };
    // SAFETY: `c` is a valid NUL-terminated path; access() only reads it.
    dir.is_dir() && unsafe { libc::access(c.as_ptr(), libc::W_OK) } == 0
}

/// Proof that this process owns a live run; dropping it ends the run's liveness.
#[derive(Debug)]
pub struct LiveGuard {
    path: PathBuf,
    _file: File,
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// Mark `run` live for as long as the returned guard is held by this process.
pub fn claim(dir: &Path, run: &str) -> io::Result<LiveGuard> {
    if !run_id::is_valid(run) {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("invalid run id {run:?}")));
    }
    fs::create_dir_all(dir)?;
    let path = dir.join(run);
    let file = OpenOptions::new().create(true).truncate(false).write(true).open(&path)?;
    crate::flock::exclusive(&file)?;
    Ok(LiveGuard { path, _file: file })
}

/// Whether some process currently holds `run`'s lock.
pub fn is_live(dir: &Path, run: &str) -> bool {
    if !run_id::is_valid(run) {
        return false;
    }
    let Ok(file) = File::open(dir.join(run)) else {
        return false;
    };
    crate::flock::is_held(&file).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claimed_run_is_live_until_its_guard_drops() {
        let dir = tempfile::tempdir().unwrap();
        let id = run_id::new_run_id();
        assert!(!is_live(dir.path(), &id));
        let guard = claim(dir.path(), &id).unwrap();
        assert!(is_live(dir.path(), &id));
        drop(guard);
        assert!(!is_live(dir.path(), &id));
    }

    #[test]
    fn a_killed_process_releases_its_run() {
        let dir = tempfile::tempdir().unwrap();
        let id = run_id::new_run_id();
        let path = dir.path().join(&id);
        // flock(1) takes the lock and execs sleep in the same process, which we then kill -9.
        let mut child = std::process::Command::new("flock")
            .arg("--no-fork")
            .arg(&path)
            .args(["sleep", "30"])
            .spawn()
            .expect("flock(1) from util-linux");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !is_live(dir.path(), &id) {
            assert!(std::time::Instant::now() < deadline, "child never took the lock");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!is_live(dir.path(), &id));
    }
}
