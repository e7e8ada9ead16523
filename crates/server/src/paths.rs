//! Where the server keeps things under its data dir: the store, and one directory per run holding
//! what `ccci test --out` writes there (`result.json`, `log.txt` growing while the run is live,
//! `junit.xml`, `artifacts/`).

use std::path::{Path, PathBuf};

use crate::store::RunId;

/// The SQLite store.
pub fn store_file(data_dir: &Path) -> PathBuf {
    data_dir.join("ccci.sqlite")
}

/// The run's output directory.
pub fn run_dir(data_dir: &Path, id: RunId) -> PathBuf {
    data_dir.join("runs").join(id.to_string())
}

/// The run's log, redacted line by line as it is written.
pub fn run_log(data_dir: &Path, id: RunId) -> PathBuf {
    run_dir(data_dir, id).join("log.txt")
}

/// The run's `result.json`, once it finished.
pub fn run_result(data_dir: &Path, id: RunId) -> PathBuf {
    run_dir(data_dir, id).join("result.json")
}

/// The run's artifacts (backup archive, screenshots, diagnostics).
pub fn run_artifacts(data_dir: &Path, id: RunId) -> PathBuf {
    run_dir(data_dir, id).join("artifacts")
}
