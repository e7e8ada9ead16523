//! What cc-ci remembers about each infrastructure app between updates (SPEC I1): the release it
//! last saw running, the last-good release (what a failed update rolls back to) and how the last
//! update ended. One JSON record per app, `<data dir>/infra/apps/<app>/state.json`, replaced
//! atomically; the app's snapshots (a stateful app's volumes before an update) live beside it.
//! The running release itself is read from the app's service label when the engine answers;
//! the record is what survives the app being down.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// How an update of one app ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Already at the target: nothing was done.
    UpToDate,
    /// The target was deployed and passed its health check; it is the last-good release now.
    Updated,
    /// Not deployed before: the target was deployed and is healthy.
    Installed,
    /// The safety gate held it (SPEC I2): nothing was deployed or snapshotted.
    Held,
    /// The target failed its deploy or health check; the last-good release runs again, healthy.
    RolledBack,
    /// The target failed, and so did the rollback: a person must look.
    RollbackFailed,
    /// It could not even be tried (its recipe unreachable, no such release), or a first install
    /// failed and was removed.
    Failed,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::UpToDate => "up_to_date",
            Outcome::Updated => "updated",
            Outcome::Installed => "installed",
            Outcome::Held => "held",
            Outcome::RolledBack => "rolled_back",
            Outcome::RollbackFailed => "rollback_failed",
            Outcome::Failed => "failed",
        }
    }

    /// Whether a person has something to look at (an alert was raised).
    pub fn needs_attention(self) -> bool {
        matches!(self, Outcome::Held | Outcome::RolledBack | Outcome::RollbackFailed | Outcome::Failed)
    }
}

/// The last update of an app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastUpdate {
    /// RFC 3339.
    pub at: String,
    pub from: Option<String>,
    pub to: String,
    pub outcome: Outcome,
    pub message: String,
}

/// The record of one infrastructure app.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppState {
    pub app: String,
    /// The release last seen running.
    pub running: Option<String>,
    /// The release a failed update rolls back to.
    pub last_good: Option<String>,
    pub last_update: Option<LastUpdate>,
}

/// `<data>/infra/apps/<app>`: the app's record and snapshots.
pub fn app_dir(data_dir: &Path, app: &str) -> PathBuf {
    data_dir.join("infra").join("apps").join(app)
}

fn record_path(data_dir: &Path, app: &str) -> PathBuf {
    app_dir(data_dir, app).join("state.json")
}

/// The record of `app` (an empty one when there is none yet).
pub fn load(data_dir: &Path, app: &str) -> io::Result<AppState> {
    let path = record_path(data_dir, app);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| io::Error::other(format!("{} is unreadable: {e}", path.display()))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(AppState { app: app.to_string(), ..Default::default() }),
        Err(e) => Err(io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
    }
}

/// Replace the record of `state.app` atomically.
pub fn save(data_dir: &Path, state: &AppState) -> io::Result<()> {
    let dir = app_dir(data_dir, &state.app);
    std::fs::create_dir_all(&dir)?;
    let json = serde_json::to_vec_pretty(state).map_err(io::Error::other)?;
    harness::durable::write_atomically(&record_path(data_dir, &state.app), &json, 0o644)
}

/// The current time as RFC 3339.
pub fn now() -> String {
    harness::warm::canonical::now_rfc3339()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_round_trips_and_a_missing_one_is_empty() {
        let data = tempfile::tempdir().unwrap();
        let empty = load(data.path(), "proxy").unwrap();
        assert_eq!(empty, AppState { app: "proxy".into(), ..Default::default() });
        let state = AppState {
            app: "proxy".into(),
            running: Some("1.1.0+v3.7.15".into()),
            last_good: Some("1.1.0+v3.7.15".into()),
            last_update: Some(LastUpdate {
                at: now(),
                from: Some("1.0.0+v3.6.15".into()),
                to: "1.1.0+v3.7.15".into(),
                outcome: Outcome::Updated,
                message: "healthy".into(),
            }),
        };
        save(data.path(), &state).unwrap();
        assert_eq!(load(data.path(), "proxy").unwrap(), state);
        let text = std::fs::read_to_string(data.path().join("infra/apps/proxy/state.json")).unwrap();
        assert!(text.contains("\"outcome\": \"updated\""), "{text}");
    }
}
