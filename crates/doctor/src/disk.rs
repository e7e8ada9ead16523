//! Free space under the data dir: runs, artifacts, backups and warm canonical copies' snapshots
//! live there, and a full disk makes runs error in the middle. Re-seeding a copy writes its new
//! snapshot beside the old one before the old one goes, so the floor grows by the largest
//! snapshot kept.

use std::path::{Path, PathBuf};

use server::disk::{free_bytes, gib};

use crate::Check;

/// The data dir's file system has at least `floor` bytes free, plus room for re-seeding the
/// largest warm snapshot (for unprivileged users, as `df` counts "Avail"). A data dir that does
/// not exist yet is measured on its nearest parent.
pub fn check(data_dir: &Path, floor: u64) -> Check {
    let measured = existing_ancestor(data_dir);
    let snapshots: Vec<u64> =
        harness::warm::canonical::list(data_dir).iter().filter_map(|c| c.snapshot.as_ref().map(|s| s.bytes)).collect();
    match free_bytes(&measured) {
        Ok(free) => verdict(data_dir, free, floor, &snapshots),
        Err(e) => Check::fail(
            "disk",
            format!("cannot measure free space at {}: {e}", measured.display()),
            "check that the data dir is readable",
        ),
    }
}

/// The verdict for `free` bytes against the `floor` and the sizes of the warm snapshots kept.
pub fn verdict(data_dir: &Path, free: u64, floor: u64, snapshots: &[u64]) -> Check {
    let largest = snapshots.iter().copied().max().unwrap_or(0);
    let mut shown = format!("{} free under {} (floor {}", gib(free), data_dir.display(), gib(floor));
    if !snapshots.is_empty() {
        shown.push_str(&format!(
            " + {} to re-seed the largest of {} warm snapshot(s), {} in all",
            size(largest),
            snapshots.len(),
            size(snapshots.iter().sum())
        ));
    }
    shown.push(')');
    if free >= floor.saturating_add(largest) {
        Check::pass("disk", shown)
    } else {
        Check::fail(
            "disk",
            shown,
            "free space there (old run directories under runs/ can go), or move `data_dir` to a larger file system",
        )
    }
}

/// `812 B`, `4.2 MiB`, `1.5 GiB`.
fn size(bytes: u64) -> String {
    match bytes {
        b if b < 1 << 10 => format!("{b} B"),
        b if b < 1 << 20 => format!("{:.1} KiB", b as f64 / 1024.0),
        b if b < 1 << 30 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b => gib(b),
    }
}

fn existing_ancestor(path: &Path) -> PathBuf {
    path.ancestors().find(|p| p.exists()).unwrap_or(Path::new("/")).to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Status;

    #[test]
    fn below_the_floor_fails_naming_the_dir_and_both_sizes() {
        let dir = Path::new("/var/lib/cc-ci");
        let low = verdict(dir, 1 << 30, 5 << 30, &[]);
        assert_eq!(low.status, Status::Fail);
        assert_eq!(low.message, "1.0 GiB free under /var/lib/cc-ci (floor 5.0 GiB)");
        assert_eq!(verdict(dir, 5 << 30, 5 << 30, &[]).status, Status::Pass);
    }

    #[test]
    fn the_largest_warm_snapshot_raises_the_floor() {
        let dir = Path::new("/var/lib/cc-ci");
        let snapshots = [3 << 20, 2 << 30];
        let short = verdict(dir, 6 << 30, 5 << 30, &snapshots);
        assert_eq!(short.status, Status::Fail, "{short}");
        assert_eq!(
            short.message,
            "6.0 GiB free under /var/lib/cc-ci (floor 5.0 GiB + 2.0 GiB to re-seed the largest of 2 warm snapshot(s), \
             2.0 GiB in all)"
        );
        assert_eq!(verdict(dir, 7 << 30, 5 << 30, &snapshots).status, Status::Pass);
    }

    #[test]
    fn a_data_dir_not_created_yet_is_measured_on_its_parent() {
        let tmp = tempfile::tempdir().unwrap();
        let check = check(&tmp.path().join("not/yet"), 0);
        assert_eq!(check.status, Status::Pass, "{check}");
        assert!(free_bytes(tmp.path()).unwrap() > 0);
    }
}
