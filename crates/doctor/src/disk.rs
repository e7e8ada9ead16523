//! Free space under the data dir: runs, artifacts, backups and (later) warm-copy snapshots live
//! there, and a full disk makes runs error in the middle.

use std::path::{Path, PathBuf};

use server::disk::{free_bytes, gib};

use crate::Check;

/// The data dir's file system has at least `floor` bytes free (for unprivileged users, as
/// `df` counts "Avail"). A data dir that does not exist yet is measured on its nearest parent.
pub fn check(data_dir: &Path, floor: u64) -> Check {
    let measured = existing_ancestor(data_dir);
    match free_bytes(&measured) {
        Ok(free) => verdict(data_dir, free, floor),
        Err(e) => Check::fail(
            "disk",
            format!("cannot measure free space at {}: {e}", measured.display()),
            "check that the data dir is readable",
        ),
    }
}

/// The verdict for `free` bytes against the `floor`.
pub fn verdict(data_dir: &Path, free: u64, floor: u64) -> Check {
    let shown = format!("{} free under {} (floor {})", gib(free), data_dir.display(), gib(floor));
    if free >= floor {
        Check::pass("disk", shown)
    } else {
        Check::fail(
            "disk",
            shown,
            "free space there (old run directories under runs/ can go), or move `data_dir` to a larger file system",
        )
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
        let low = verdict(dir, 1 << 30, 5 << 30);
        assert_eq!(low.status, Status::Fail);
        assert_eq!(low.message, "1.0 GiB free under /var/lib/cc-ci (floor 5.0 GiB)");
        assert_eq!(verdict(dir, 5 << 30, 5 << 30).status, Status::Pass);
    }

    #[test]
    fn a_data_dir_not_created_yet_is_measured_on_its_parent() {
        let tmp = tempfile::tempdir().unwrap();
        let check = check(&tmp.path().join("not/yet"), 0);
        assert_eq!(check.status, Status::Pass, "{check}");
        assert!(free_bytes(tmp.path()).unwrap() > 0);
    }
}
