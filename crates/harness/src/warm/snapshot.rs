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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::fake::FakeEngine;
    use std::collections::BTreeMap;
    use std::time::{Duration, Instant};

    const VOLUMES: [(&str, &str); 2] = [("data", "s_data"), ("db", "s_db")];

    fn refs() -> Vec<VolumeRef> {
        VOLUMES
            .iter()
            .map(|(k, v)| VolumeRef { key: k.to_string(), volume: v.to_string(), image: "x:1".into() })
            .collect()
    }

    /// A fake engine whose two volumes hold `tag`-specific files.
    fn engine_with(tag: &str) -> FakeEngine {
        let engine = FakeEngine::new();
        for (_, volume) in VOLUMES {
            engine.put_file(volume, "app/state.txt", &format!("{tag} state of {volume}\n"));
            engine.put_file(volume, "big.bin", &tag.repeat(20_000));
        }
        engine
    }

    fn contents(engine: &FakeEngine) -> Vec<BTreeMap<String, String>> {
        VOLUMES.iter().map(|(_, v)| engine.volume(v)).collect()
    }

    #[tokio::test]
    async fn a_restore_gives_back_exactly_what_was_snapshotted() {
        let data = tempfile::tempdir().unwrap();
        let dir = WarmDir::new(data.path(), "web").unwrap();
        let engine = engine_with("good");
        let before = contents(&engine);
        let mut points = Vec::new();
        let manifest = take(&engine, "r1", &dir, &refs(), &mut |p| points.push(p.clone())).await.unwrap();
        assert_eq!(points.last(), Some(&Point::Current));
        assert_eq!(manifest.volumes.len(), 2);
        assert!(manifest.bytes() > 0 && manifest.bytes() < 40_000, "compressed: {} bytes", manifest.bytes());
        engine.put_file("s_data", "app/state.txt", "corrupted\n");
        engine.put_file("s_data", "added-later.txt", "must go\n");
        restore(&engine, "r2", &dir, &refs()).await.unwrap();
        assert_eq!(contents(&engine), before, "files added since are gone, changed ones are back");
    }

    #[tokio::test]
    async fn a_new_snapshot_replaces_the_old_one_and_a_damaged_one_is_refused() {
        let data = tempfile::tempdir().unwrap();
        let dir = WarmDir::new(data.path(), "web").unwrap();
        let first = take(&engine_with("one"), "r1", &dir, &refs(), &mut |_| {}).await.unwrap();
        let engine = engine_with("two");
        let second = take(&engine, "r2", &dir, &refs(), &mut |_| {}).await.unwrap();
        assert_ne!(first.id, second.id);
        assert_eq!(current(&dir).unwrap().unwrap().1, second);
        let kept: Vec<_> = std::fs::read_dir(dir.snapshots_dir()).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(kept.len(), 1, "only the current snapshot stays: {kept:?}");
        let (path, _) = current(&dir).unwrap().unwrap();
        let file = path.join("data.tar.zst");
        let mut bytes = std::fs::read(&file).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(&file, bytes).unwrap();
        engine.put_file("s_data", "app/state.txt", "live data\n");
        let err = restore(&engine, "r3", &dir, &refs()).await.unwrap_err();
        assert!(err.contains("damaged") && err.contains("data.tar.zst"), "{err}");
        assert_eq!(engine.volume("s_data")["app/state.txt"], "live data\n", "a damaged snapshot empties nothing");
    }

    /// Set by the parent test when this test binary runs as the child that is killed.
    const CHILD_POINT: &str = "CCCI_TEST_SNAPSHOT_KILL_AT";
    const CHILD_DIR: &str = "CCCI_TEST_SNAPSHOT_DIR";

    /// The child: takes a new snapshot and stops forever at the named point (a file `ready` in the
    /// data dir says it got there). Run only by the kill test.
    #[tokio::test]
    async fn child_taking_a_snapshot_until_killed() {
        let (Ok(point), Ok(data)) = (std::env::var(CHILD_POINT), std::env::var(CHILD_DIR)) else {
            return; // not the child: nothing to do
        };
        let data = PathBuf::from(data);
        let dir = WarmDir::new(&data, "web").unwrap();
        let engine = engine_with("new");
        let ready = data.join("ready");
        if point == "mid-stream" {
            engine.stall_export("s_db", &ready);
        }
        let mut on = |p: &Point| {
            let at = match p {
                Point::Sealing => "sealing",
                Point::Linking => "linking",
                _ => return,
            };
            if at == point {
                std::fs::write(&ready, at).unwrap();
                loop {
                    std::thread::sleep(Duration::from_secs(60));
                }
            }
        };
        take(&engine, "child", &dir, &refs(), &mut on).await.unwrap();
    }

    #[tokio::test]
    async fn a_snapshot_killed_at_any_point_leaves_the_last_known_good_one_whole() {
        for point in ["mid-stream", "sealing", "linking"] {
            let data = tempfile::tempdir().unwrap();
            let dir = WarmDir::new(data.path(), "web").unwrap();
            let good = engine_with("good");
            let last_good = take(&good, "r1", &dir, &refs(), &mut |_| {}).await.unwrap();
            let mut child = std::process::Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "warm::snapshot::tests::child_taking_a_snapshot_until_killed", "--nocapture"])
                .env(CHILD_POINT, point)
                .env(CHILD_DIR, data.path())
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap();
            let deadline = Instant::now() + Duration::from_secs(60);
            while !data.path().join("ready").exists() {
                assert!(Instant::now() < deadline, "{point}: the child never got there");
                assert!(child.try_wait().unwrap().is_none(), "{point}: the child ended");
                std::thread::sleep(Duration::from_millis(20));
            }
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            let (_, manifest) = current(&dir).unwrap().expect("a current snapshot");
            assert_eq!(manifest, last_good, "{point}: the last-known-good snapshot is still current");
            let engine = engine_with("live");
            restore(&engine, "r2", &dir, &refs()).await.unwrap();
            assert_eq!(contents(&engine), contents(&good), "{point}: it restores whole");
            prune(&dir);
            let left: Vec<_> =
                std::fs::read_dir(dir.snapshots_dir()).unwrap().flatten().map(|e| e.file_name()).collect();
            assert_eq!(left.len(), 1, "{point}: the killed writer's snapshot is pruned: {left:?}");
        }
    }

    /// A size-limited tmpfs, unmounted on drop (its mount point, kept until then); `None` (the
    /// test says why) without root.
    struct SmallDisk(PathBuf, #[allow(dead_code)] tempfile::TempDir);

    impl SmallDisk {
        fn mount(kib: u32) -> Option<SmallDisk> {
            let dir = tempfile::tempdir().unwrap();
            let ok = std::process::Command::new("mount")
                .args(["-t", "tmpfs", "-o", &format!("size={kib}k"), "tmpfs"])
                .arg(dir.path())
                .status()
                .is_ok_and(|s| s.success());
            ok.then(|| SmallDisk(dir.path().to_path_buf(), dir))
        }
    }

    impl Drop for SmallDisk {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }

    #[tokio::test]
    async fn a_snapshot_that_fills_the_disk_fails_and_leaves_the_last_known_good_one() {
        let Some(disk) = SmallDisk::mount(512) else {
            eprintln!("SKIPPED: mounting a size-limited tmpfs needs root");
            return;
        };
        let dir = WarmDir::new(&disk.0, "web").unwrap();
        let good = engine_with("good");
        let last_good = take(&good, "r1", &dir, &refs(), &mut |_| {}).await.unwrap();
        let big = engine_with("big");
        let noise: String = (0..1_500_000).map(|_| char::from(b'a' + rand::rng().random_range(0..26u8))).collect();
        big.put_file("s_db", "noise.txt", &noise);
        let err = take(&big, "r2", &dir, &refs(), &mut |_| {}).await.unwrap_err();
        assert!(err.contains("No space left") || err.contains("os error 28"), "{err}");
        assert_eq!(current(&dir).unwrap().unwrap().1, last_good);
        let engine = engine_with("live");
        restore(&engine, "r3", &dir, &refs()).await.unwrap();
        assert_eq!(contents(&engine), contents(&good));
    }
}
