//! One run's private workspace: a work directory (recipe checkout, tests snapshot, env file,
//! rendered compose document) that no other run shares, and an output directory for what is kept
//! (result.json, JUnit, log, events, artifacts).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Environment variable naming cc-ci's data directory.
pub const DATA_DIR_ENV: &str = "CCCI_DATA_DIR";

/// The data directory: `$CCCI_DATA_DIR`, else `$XDG_DATA_HOME/ccci`, else `~/.local/share/ccci`.
pub fn data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(DATA_DIR_ENV) {
        return PathBuf::from(dir);
    }
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME") {
        return PathBuf::from(xdg).join("ccci");
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
    home.join(".local").join("share").join("ccci")
}

/// The directories of one run.
#[derive(Debug, Clone)]
pub struct Workspace {
    work: PathBuf,
    out: PathBuf,
}

impl Workspace {
    /// Create `<data>/work/<run>` and the output directory (`out`, or `<data>/runs/<run>`).
    pub fn create(data: &Path, run: &str, out: Option<&Path>) -> io::Result<Self> {
        let work = data.join("work").join(run);
        let out = out.map(Path::to_path_buf).unwrap_or_else(|| data.join("runs").join(run));
        fs::create_dir_all(&work)?;
        fs::create_dir_all(out.join("artifacts"))?;
        Ok(Self { work, out })
    }

    pub fn work_dir(&self) -> &Path {
        &self.work
    }
    /// Where the recipe is checked out for this run only.
    pub fn checkout_dir(&self) -> PathBuf {
        self.work.join("recipe")
    }
    pub fn out_dir(&self) -> &Path {
        &self.out
    }
    pub fn artifacts_dir(&self) -> PathBuf {
        self.out.join("artifacts")
    }
    /// The directories the tiers see.
    pub fn dirs(&self) -> crate::context::RunDirs {
        crate::context::RunDirs { work: self.work.clone(), artifacts: self.artifacts_dir() }
    }
    pub fn events_path(&self) -> PathBuf {
        self.out.join(crate::report::EVENTS_FILE)
    }
    pub fn log_path(&self) -> PathBuf {
        self.out.join("log.txt")
    }
    pub fn result_path(&self) -> PathBuf {
        self.out.join("result.json")
    }
    pub fn junit_path(&self) -> PathBuf {
        self.out.join("junit.xml")
    }

    /// Remove the work directory (the output directory stays).
    pub fn discard_work(&self) -> io::Result<()> {
        match fs::remove_dir_all(&self.work) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}
