//! A recipe's canonical copy as cc-ci records it (SPEC W1): a long-lived app at the stable domain
//! `warm-<recipe>.<base domain>`, known-good at a release tag. Idle, it is undeployed with its
//! volumes and secrets kept. Its record, its secret values, its lock and its snapshots live in
//! `<data dir>/warm/<recipe>/`:
//!
//! - `canonical.json`: the record ([`Canonical`]), replaced atomically;
//! - `secrets.json` (0600): the values of its secrets, by compose key and by Docker name;
//! - `lock`: held by whoever touches the copy ([`crate::locks`]);
//! - `snapshots/` and the `snapshot` link: its last-known-good data ([`super::snapshot`]).

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use recipe::instance::Instance;
use serde::{Deserialize, Serialize};

use crate::result::Outcome;

/// What a canonical copy is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Undeployed, its volumes equal to its snapshot.
    Idle,
    /// A run is using it (or one died using it; the next one restores it first).
    Busy,
    /// It could not be brought back to its snapshot: re-seed it.
    Broken,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Idle => "idle",
            Status::Busy => "busy",
            Status::Broken => "broken",
        }
    }
}

/// The last-known-good snapshot of a canonical copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotInfo {
    pub id: String,
    pub taken_at: String,
    /// Compressed size on disk.
    pub bytes: u64,
}

/// How the last quick run on the copy ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastQuick {
    pub run_id: String,
    #[serde(rename = "ref")]
    pub git_ref: Option<String>,
    pub outcome: Outcome,
    pub at: String,
}

/// A volume of the canonical copy: its compose key, Docker name, and an image of the app for
/// the engine's helper container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CanonicalVolume {
    pub key: String,
    pub name: String,
    pub image: String,
}

/// The record of a canonical copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Canonical {
    pub recipe: String,
    /// The recipe directory or git URL it was seeded from.
    pub source: String,
    pub domain: String,
    pub stack: String,
    /// The release tag it is at.
    pub version: String,
    /// The commit of that tag.
    pub commit: String,
    pub status: Status,
    /// Its volumes (created by cc-ci, labelled with the recipe, never reaped).
    pub volumes: Vec<CanonicalVolume>,
    pub snapshot: Option<SnapshotInfo>,
    /// When the record last changed, and why.
    pub changed_at: String,
    pub why: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_quick: Option<LastQuick>,
}

impl Canonical {
    /// Its volumes as snapshot targets.
    pub fn volume_refs(&self) -> Vec<super::snapshot::VolumeRef> {
        self.volumes
            .iter()
            .map(|v| super::snapshot::VolumeRef { key: v.key.clone(), volume: v.name.clone(), image: v.image.clone() })
            .collect()
    }
}

/// The domain and stack of `recipe`'s canonical copy.
pub fn instance(recipe: &str, base_domain: &str) -> Instance {
    let domain = format!("warm-{recipe}.{base_domain}");
    Instance { stack_name: recipe::app_env::stack_name(&domain), domain }
}

/// The directory of `recipe`'s canonical copy under the data dir.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarmDir {
    pub recipe: String,
    pub root: PathBuf,
}

impl WarmDir {
    /// `<data>/warm/<recipe>`; the name must be safe as a path segment and a label value.
    pub fn new(data_dir: &Path, recipe: &str) -> Result<Self, String> {
        let ok = !recipe.is_empty()
            && recipe.len() <= 64
            && recipe.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !ok {
            return Err(format!(
                "recipe name {recipe:?} cannot name a canonical copy: use lowercase letters, digits, `-` and `_`"
            ));
        }
        Ok(WarmDir { recipe: recipe.to_string(), root: data_dir.join("warm").join(recipe) })
    }

    pub fn record_path(&self) -> PathBuf {
        self.root.join("canonical.json")
    }
    pub fn secrets_path(&self) -> PathBuf {
        self.root.join("secrets.json")
    }
    pub fn lock_path(&self) -> PathBuf {
        self.root.join("lock")
    }
    pub fn snapshots_dir(&self) -> PathBuf {
        self.root.join("snapshots")
    }
    /// The link to the last-known-good snapshot.
    pub fn snapshot_link(&self) -> PathBuf {
        self.root.join("snapshot")
    }

    /// The record, if the copy exists.
    pub fn load(&self) -> io::Result<Option<Canonical>> {
        match std::fs::read(self.record_path()) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| io::Error::other(format!("{} is unreadable: {e}", self.record_path().display()))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Replace the record atomically.
    pub fn save(&self, canonical: &Canonical) -> io::Result<()> {
        std::fs::create_dir_all(&self.root)?;
        let json = serde_json::to_vec_pretty(canonical).map_err(io::Error::other)?;
        crate::durable::write_atomically(&self.record_path(), &json, 0o644)
    }

    /// Change the record's status (and why), stamping the time.
    pub fn set_status(&self, canonical: &mut Canonical, status: Status, why: impl Into<String>) -> io::Result<()> {
        canonical.status = status;
        canonical.why = why.into();
        canonical.changed_at = now_rfc3339();
        self.save(canonical)
    }

    /// The copy's secret values (compose key and Docker name → value).
    pub fn load_secrets(&self) -> io::Result<BTreeMap<String, String>> {
        match std::fs::read(self.secrets_path()) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(io::Error::other),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(e),
        }
    }

    /// Replace the copy's secret values (mode 0600).
    pub fn save_secrets(&self, secrets: &BTreeMap<String, String>) -> io::Result<()> {
        std::fs::create_dir_all(&self.root)?;
        let json = serde_json::to_vec(secrets).map_err(io::Error::other)?;
        crate::durable::write_atomically(&self.secrets_path(), &json, 0o600)
    }

    /// Forget the copy: its record, secrets and snapshots (its Docker objects are the caller's).
    pub fn remove(&self) -> io::Result<()> {
        match std::fs::remove_dir_all(&self.root) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// Every canonical copy recorded under `data_dir`, by recipe.
pub fn list(data_dir: &Path) -> Vec<Canonical> {
    let mut all: Vec<Canonical> = std::fs::read_dir(data_dir.join("warm"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| WarmDir::new(data_dir, &e.file_name().to_string_lossy()).ok())
        .filter_map(|dir| dir.load().ok().flatten())
        .collect();
    all.sort_by(|a, b| a.recipe.cmp(&b.recipe));
    all
}

/// The current time as RFC 3339.
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(recipe: &str) -> Canonical {
        Canonical {
            recipe: recipe.into(),
            source: "/src/x".into(),
            domain: instance(recipe, "ccci.test").domain,
            stack: instance(recipe, "ccci.test").stack_name,
            version: "1.0.0+1".into(),
            commit: "0".repeat(40),
            status: Status::Idle,
            volumes: vec![],
            snapshot: None,
            changed_at: now_rfc3339(),
            why: "seeded".into(),
            last_quick: None,
        }
    }

    #[test]
    fn records_round_trip_and_are_listed() {
        let data = tempfile::tempdir().unwrap();
        let dir = WarmDir::new(data.path(), "app-db").unwrap();
        assert_eq!(dir.load().unwrap(), None);
        let mut c = record("app-db");
        dir.save(&c).unwrap();
        dir.set_status(&mut c, Status::Busy, "quick run r1").unwrap();
        assert_eq!(dir.load().unwrap().unwrap().status, Status::Busy);
        assert_eq!(list(data.path()).iter().map(|c| c.recipe.as_str()).collect::<Vec<_>>(), ["app-db"]);
        assert_eq!(c.domain, "warm-app-db.ccci.test");
        assert_eq!(c.stack, "warm-app-db_ccci_test");
    }

    #[test]
    fn unsafe_recipe_names_are_refused_and_secrets_are_private() {
        let data = tempfile::tempdir().unwrap();
        assert!(WarmDir::new(data.path(), "../etc").unwrap_err().contains("cannot name a canonical copy"));
        let dir = WarmDir::new(data.path(), "web").unwrap();
        dir.save_secrets(&BTreeMap::from([("k".to_string(), "v".to_string())])).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(dir.secrets_path()).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(dir.load_secrets().unwrap()["k"], "v");
    }
}
