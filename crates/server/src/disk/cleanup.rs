//! The scheduled clean-up (run at the end of every sweep): removes only what no run, canonical
//! copy or infrastructure app needs —
//!
//! - the Docker objects of runs that are not live (stopped containers of finished runs and the
//!   rest of what they left; the janitor's own rule, which spares live and kept runs);
//! - dangling images (no tag), except an image a container or a service uses and an image an
//!   enrolled recipe names (a recipe pinned by digest pulls an image without a tag). Tagged
//!   images are never removed: old releases are what pull requests upgrade from, and pulling them
//!   again is what ran into Docker Hub's rate limit. When the enrolled recipes' images cannot all
//!   be read, no image is removed;
//! - snapshots nothing points at: those of canonical copies that were dropped, and old or partial
//!   ones of live copies (each copy's lock is taken first; a copy in use is left for next time).

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::usage::tree_size;
use super::{gib, DiskConfig};

/// What the clean-up did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CleanupReport {
    /// Docker objects of runs that are not live.
    pub reaped_objects: usize,
    /// Image ids removed, and the bytes they held.
    pub images_removed: Vec<String>,
    pub image_bytes: u64,
    /// Dangling images kept because something uses or names them.
    pub images_kept: usize,
    /// Snapshot directories removed (relative to the data dir), and their bytes.
    pub snapshots_removed: Vec<String>,
    pub snapshot_bytes: u64,
    /// What was not done, and why.
    pub notes: Vec<String>,
}

impl CleanupReport {
    /// One line for people.
    pub fn summary(&self) -> String {
        let mut line = format!(
            "{} object(s) of dead runs, {} dangling image(s) ({}; {} kept: in use or named by an enrolled \
             recipe), {} snapshot(s) ({}) removed",
            self.reaped_objects,
            self.images_removed.len(),
            gib(self.image_bytes),
            self.images_kept,
            self.snapshots_removed.len(),
            gib(self.snapshot_bytes)
        );
        for note in &self.notes {
            line.push_str("; ");
            line.push_str(note);
        }
        line
    }
}

/// The forms under which `reference` (as a compose file, `RepoTags` or `RepoDigests` writes it)
/// can match another: Docker Hub's implicit `docker.io/` and `library/` dropped, `:latest` when
/// it names neither tag nor digest, and a `name:tag@digest` as both `name:tag` and `name@digest`.
pub fn reference_forms(reference: &str) -> Vec<String> {
    let (named, digest) = match reference.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (reference, None),
    };
    let slash = named.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match named[slash..].rfind(':') {
        Some(i) => (&named[..slash + i], Some(&named[slash + i + 1..])),
        None => (named, None),
    };
    let name = name.strip_prefix("docker.io/").unwrap_or(name);
    let name = match name.strip_prefix("library/") {
        Some(rest) if !rest.contains('/') => rest,
        _ => name,
    };
    let mut forms = Vec::new();
    if let Some(tag) = tag {
        forms.push(format!("{name}:{tag}"));
    }
    if let Some(digest) = digest {
        forms.push(format!("{name}@{digest}"));
    }
    if forms.is_empty() {
        forms.push(format!("{name}:latest"));
    }
    forms
}

fn all_forms<'a>(references: impl IntoIterator<Item = &'a String>) -> BTreeSet<String> {
    references.into_iter().flat_map(|r| reference_forms(r)).collect()
}

/// Runs the clean-up; `named` is every image the enrolled recipes use, or why it is not known.
pub async fn run(
    data_dir: &Path,
    node_hosts: &[String],
    config: &DiskConfig,
    named: Result<BTreeSet<String>, String>,
) -> CleanupReport {
    let mut report = CleanupReport::default();
    match crate::runner::reap_report(node_hosts, data_dir).await {
        Ok(reaped) => report.reaped_objects = reaped.removed.len(),
        Err(e) => report.notes.push(format!("dead runs not reaped: {e}")),
    }
    match named {
        Ok(named) => images(config, &named, &mut report).await,
        Err(why) => report.notes.push(format!("no image removed: {why}")),
    }
    let dir = data_dir.to_path_buf();
    let snapshots = tokio::task::spawn_blocking(move || snapshots(&dir)).await.unwrap_or_default();
    report.snapshot_bytes = snapshots.iter().map(|(_, bytes)| bytes).sum();
    report.snapshots_removed = snapshots.into_iter().map(|(path, _)| path).collect();
    report
}

/// Removes the dangling images nothing uses or names (only those with the configured label).
async fn images(config: &DiskConfig, named: &BTreeSet<String>, report: &mut CleanupReport) {
    let swarm = match swarm::Swarm::connect().await {
        Ok(swarm) => swarm,
        Err(e) => return report.notes.push(format!("no image removed: {e}")),
    };
    let (dangling, (used_ids, used_names)) =
        match (swarm.dangling_images(config.cleanup_label.as_deref()).await, swarm.images_in_use().await) {
            (Ok(d), Ok(u)) => (d, u),
            (Err(e), _) | (_, Err(e)) => return report.notes.push(format!("no image removed: {e}")),
        };
    let keep = all_forms(named.iter().chain(&used_names));
    for image in dangling {
        if is_needed(&image, &used_ids, &keep) {
            report.images_kept += 1;
            continue;
        }
        match swarm.remove_image(&image.id).await {
            Ok(()) => {
                report.image_bytes += image.size;
                report.images_removed.push(image.id);
            }
            // Another user's container may have taken it meanwhile: its turn comes next time.
            Err(e) => report.notes.push(format!("image {} kept: {e}", image.id)),
        }
    }
}

/// Whether dangling `image` must stay: a container uses it (`used_ids`), or it is known under a
/// reference in `keep` (the forms of what containers, services and enrolled recipes name).
fn is_needed(image: &swarm::disk::ImageInfo, used_ids: &BTreeSet<String>, keep: &BTreeSet<String>) -> bool {
    used_ids.contains(&image.id) || !all_forms(image.tags.iter().chain(&image.digests)).is_disjoint(keep)
}

/// Removes snapshots nothing points at; returns each removed directory (relative to `data_dir`)
/// and its bytes.
fn snapshots(data_dir: &Path) -> Vec<(String, u64)> {
    let mut removed = Vec::new();
    for entry in std::fs::read_dir(data_dir.join("warm")).into_iter().flatten().flatten() {
        let Some(recipe) = entry.file_name().to_str().map(str::to_string) else { continue };
        let Ok(dir) = harness::warm::canonical::WarmDir::new(data_dir, &recipe) else { continue };
        // A copy in use is left alone (its lock is held); the lock is released on return.
        let Ok(Some(_lock)) = harness::locks::try_acquire(&dir.lock_path()) else { continue };
        let kept = match dir.load() {
            Ok(Some(_)) => {
                std::fs::read_link(dir.snapshot_link()).ok().and_then(|t| t.file_name().map(|n| n.to_owned()))
            }
            Ok(None) => None,
            Err(_) => continue,
        };
        for snapshot in std::fs::read_dir(dir.snapshots_dir()).into_iter().flatten().flatten() {
            if Some(snapshot.file_name()) == kept {
                continue;
            }
            let bytes = tree_size(&snapshot.path());
            if std::fs::remove_dir_all(snapshot.path()).is_ok() {
                let relative = snapshot.path().strip_prefix(data_dir).map(|p| p.display().to_string());
                removed.push((relative.unwrap_or_default(), bytes));
            }
        }
        if kept.is_none() {
            let _ = std::fs::remove_file(dir.snapshot_link());
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_match_in_docker_forms() {
        assert_eq!(reference_forms("nginx"), ["nginx:latest"]);
        assert_eq!(reference_forms("docker.io/library/nginx:1.27"), ["nginx:1.27"]);
        assert_eq!(reference_forms("library/nginx:1.27"), ["nginx:1.27"]);
        assert_eq!(reference_forms("127.0.0.1:5000/ccci/app:1.0"), ["127.0.0.1:5000/ccci/app:1.0"]);
        assert_eq!(reference_forms("127.0.0.1:5000/ccci/app"), ["127.0.0.1:5000/ccci/app:latest"]);
        assert_eq!(
            reference_forms("git.coopcloud.tech/coop-cloud/app:2.1@sha256:abc"),
            ["git.coopcloud.tech/coop-cloud/app:2.1", "git.coopcloud.tech/coop-cloud/app@sha256:abc"]
        );
        assert_eq!(reference_forms("busybox@sha256:abc"), ["busybox@sha256:abc"]);
        let named = all_forms(&["nginx:1.27@sha256:abc".to_string()]);
        assert!(!all_forms(&["docker.io/library/nginx@sha256:abc".to_string()]).is_disjoint(&named));
    }

    #[test]
    fn a_dangling_image_an_enrolled_recipe_pins_or_a_container_uses_stays() {
        let image = |id: &str, digests: &[&str]| swarm::disk::ImageInfo {
            id: id.into(),
            tags: Vec::new(),
            digests: digests.iter().map(|d| d.to_string()).collect(),
            size: 1,
        };
        // What the enrolled recipes name (one pinned by tag and digest) and what containers use.
        let keep = all_forms(&["git.example.org/app:2.1@sha256:aaa".to_string(), "busybox:1.36".to_string()]);
        let used = BTreeSet::from(["sha256:in-use".to_string()]);
        assert!(is_needed(&image("sha256:1", &["git.example.org/app@sha256:aaa"]), &used, &keep), "pinned by a recipe");
        assert!(is_needed(&image("sha256:in-use", &[]), &used, &keep), "a container's");
        assert!(!is_needed(&image("sha256:2", &["git.example.org/app@sha256:old"]), &used, &keep), "an old pull");
        assert!(!is_needed(&image("sha256:3", &[]), &used, &keep), "a build leftover");
    }

    #[test]
    fn only_snapshots_nothing_points_at_are_removed() {
        let data = tempfile::tempdir().unwrap();
        // A live copy with its current snapshot and an old one; a dropped copy's leftovers.
        let live = harness::warm::canonical::WarmDir::new(data.path(), "live").unwrap();
        let record = serde_json::json!({
            "recipe": "live", "source": "s", "domain": "d", "stack": "s", "version": "1.0.0", "commit": "c",
            "status": "idle", "volumes": [], "snapshot": null, "changed_at": "now", "why": "test"
        });
        std::fs::create_dir_all(live.snapshots_dir().join("new")).unwrap();
        std::fs::create_dir_all(live.snapshots_dir().join("old")).unwrap();
        std::fs::write(live.snapshots_dir().join("old/data.tar.zst"), [0u8; 10]).unwrap();
        std::fs::write(live.record_path(), record.to_string()).unwrap();
        std::os::unix::fs::symlink(live.snapshots_dir().join("new"), live.snapshot_link()).unwrap();
        let dropped = harness::warm::canonical::WarmDir::new(data.path(), "dropped").unwrap();
        std::fs::create_dir_all(dropped.snapshots_dir().join("s1")).unwrap();
        std::fs::write(dropped.snapshots_dir().join("s1/db.tar.zst"), [0u8; 7]).unwrap();
        let mut removed = snapshots(data.path());
        removed.sort();
        assert_eq!(
            removed,
            [("warm/dropped/snapshots/s1".to_string(), 7), ("warm/live/snapshots/old".to_string(), 10)]
        );
        assert!(live.snapshots_dir().join("new").is_dir(), "the current snapshot stays");
    }
}
