//! Snapshots of a canonical copy's volumes (SPEC W2): a raw copy of every volume, taken while the
//! copy is undeployed, each streamed from the engine through zstd into its own file (no volume is
//! ever held in memory), with a manifest of sizes and checksums.
//!
//! Replacing the last-known-good snapshot is atomic: a new one is written into
//! `snapshots/<id>.partial/`, every file fsynced, sealed by renaming the directory to
//! `snapshots/<id>/`, and made current by atomically replacing the `snapshot` symlink. Interrupted
//! at any point — killed, or the disk full — the link still names the previous snapshot, whole.
//! Restoring checks every checksum first (a damaged snapshot never empties a volume), then
//! replaces each volume's contents exactly: files added since the snapshot are gone.

use std::io::Read;
use std::path::{Path, PathBuf};

use async_compression::tokio::bufread::ZstdDecoder;
use async_compression::tokio::write::ZstdEncoder;
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::canonical::{now_rfc3339, WarmDir};
use crate::durable::sync_dir;
use crate::engine::Engine;

/// The manifest's file name inside a snapshot.
const MANIFEST: &str = "manifest.json";

/// One volume in a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapVolume {
    /// The volume's key in the compose file (`db-data`): volumes are matched by key, so a
    /// snapshot of one stack's volumes restores into another stack's.
    pub key: String,
    /// Its file in the snapshot (`<key>.tar.zst`).
    pub file: String,
    /// Compressed size.
    pub bytes: u64,
    /// SHA-256 of the compressed file.
    pub sha256: String,
}

/// What a snapshot holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub id: String,
    pub taken_at: String,
    pub volumes: Vec<SnapVolume>,
}

impl Manifest {
    /// Compressed size of the whole snapshot.
    pub fn bytes(&self) -> u64 {
        self.volumes.iter().map(|v| v.bytes).sum()
    }
}

/// A volume to copy from or into: its compose key, its Docker name, an image for the engine's
/// helper container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeRef {
    pub key: String,
    pub volume: String,
    pub image: String,
}

/// Where writing a snapshot has got to (told as it happens).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Point {
    /// A volume's stream starts.
    Volume { key: String },
    /// A volume's file is complete and on disk.
    Written { key: String, bytes: u64 },
    /// Every file and the manifest are on disk; the directory is not renamed yet.
    Sealing,
    /// The snapshot's directory is final; the link does not name it yet.
    Linking,
    /// The snapshot is the current one.
    Current,
}

/// Take a snapshot of `volumes` (undeployed) and make it `dir`'s current one.
pub async fn take(
    engine: &dyn Engine,
    run_id: &str,
    dir: &WarmDir,
    volumes: &[VolumeRef],
    on: &mut (dyn FnMut(&Point) + Send),
) -> Result<Manifest, String> {
    let io = |what: &str, path: &Path| {
        let what = format!("{what} {}", path.display());
        move |e: std::io::Error| format!("snapshot: {what}: {e}")
    };
    let snapshots = dir.snapshots_dir();
    let id = format!("{}-{:06x}", stamp(), rand::rng().random_range(0..0x100_0000u32));
    let partial = snapshots.join(format!("{id}.partial"));
    std::fs::create_dir_all(&partial).map_err(io("cannot create", &partial))?;
    let mut manifest = Manifest { id: id.clone(), taken_at: now_rfc3339(), volumes: Vec::new() };
    for v in volumes {
        on(&Point::Volume { key: v.key.clone() });
        let file = format!("{}.tar.zst", v.key);
        let path = partial.join(&file);
        let out = tokio::fs::File::create(&path).await.map_err(io("cannot create", &path))?;
        let mut encoder = ZstdEncoder::new(out);
        engine
            .export_volume(run_id, &v.volume, &v.image, &mut encoder)
            .await
            .map_err(|e| format!("snapshot of {}: {e}", v.volume))?;
        encoder.shutdown().await.map_err(io("cannot finish", &path))?;
        encoder.into_inner().sync_all().await.map_err(io("cannot sync", &path))?;
        let (bytes, sha256) = checksum(&path).map_err(io("cannot read back", &path))?;
        on(&Point::Written { key: v.key.clone(), bytes });
        manifest.volumes.push(SnapVolume { key: v.key.clone(), file, bytes, sha256 });
    }
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| e.to_string())?;
    crate::durable::write_atomically(&partial.join(MANIFEST), &json, 0o644).map_err(io("cannot write", &partial))?;
    on(&Point::Sealing);
    let sealed = snapshots.join(&id);
    std::fs::rename(&partial, &sealed).map_err(io("cannot seal", &sealed))?;
    sync_dir(&snapshots).map_err(io("cannot sync", &snapshots))?;
    on(&Point::Linking);
    let link = dir.snapshot_link();
    let staged = dir.root.join(format!(".snapshot.{}.new", std::process::id()));
    let _ = std::fs::remove_file(&staged);
    std::os::unix::fs::symlink(Path::new("snapshots").join(&id), &staged).map_err(io("cannot link", &staged))?;
    std::fs::rename(&staged, &link).map_err(io("cannot replace", &link))?;
    sync_dir(&dir.root).map_err(io("cannot sync", &dir.root))?;
    on(&Point::Current);
    prune(dir);
    Ok(manifest)
}

/// The current snapshot of `dir` and its manifest, if there is one.
pub fn current(dir: &WarmDir) -> Result<Option<(PathBuf, Manifest)>, String> {
    let link = dir.snapshot_link();
    let Ok(target) = std::fs::read_link(&link) else { return Ok(None) };
    let path = dir.root.join(target);
    let text = std::fs::read(path.join(MANIFEST)).map_err(|e| format!("snapshot {}: {e}", path.display()))?;
    let manifest = serde_json::from_slice(&text).map_err(|e| format!("snapshot {}: manifest: {e}", path.display()))?;
    Ok(Some((path, manifest)))
}

/// Replace the contents of `volumes` (undeployed) exactly with `dir`'s current snapshot.
pub async fn restore(
    engine: &dyn Engine,
    run_id: &str,
    dir: &WarmDir,
    volumes: &[VolumeRef],
) -> Result<Manifest, String> {
    let (path, manifest) =
        current(dir)?.ok_or_else(|| format!("the canonical copy of {} has no snapshot", dir.recipe))?;
    let mut plan = Vec::new();
    for v in volumes {
        let entry = manifest
            .volumes
            .iter()
            .find(|s| s.key == v.key)
            .ok_or_else(|| format!("snapshot {} holds no volume {}", manifest.id, v.key))?;
        let file = path.join(&entry.file);
        let (_, sha256) = checksum(&file).map_err(|e| format!("snapshot {}: {e}", file.display()))?;
        if sha256 != entry.sha256 {
            return Err(format!("snapshot {} is damaged: {} does not match its checksum", manifest.id, entry.file));
        }
        plan.push((v, file));
    }
    for (v, file) in plan {
        engine.empty_volume(&v.volume).await.map_err(|e| format!("restoring {}: {e}", v.volume))?;
        let input = tokio::fs::File::open(&file).await.map_err(|e| format!("snapshot {}: {e}", file.display()))?;
        let mut decoder = ZstdDecoder::new(tokio::io::BufReader::new(input));
        engine
            .import_volume(run_id, &v.volume, &v.image, &mut decoder)
            .await
            .map_err(|e| format!("restoring {}: {e}", v.volume))?;
    }
    Ok(manifest)
}

/// Remove every snapshot of `dir` but the current one (partial ones of killed writers too).
pub fn prune(dir: &WarmDir) {
    let keep = std::fs::read_link(dir.snapshot_link()).ok().and_then(|t| t.file_name().map(|n| n.to_owned()));
    for entry in std::fs::read_dir(dir.snapshots_dir()).into_iter().flatten().flatten() {
        if Some(entry.file_name()) != keep {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Size and SHA-256 (hex) of a file.
fn checksum(path: &Path) -> std::io::Result<(u64, String)> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((total, hex::encode(hasher.finalize())))
}

fn stamp() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.format(time::macros::format_description!("[year][month][day]t[hour][minute][second]")).unwrap_or_default()
}
