//! End to end on the real swarm: the upgrade, backup and restore tiers (issue #4) through the
//! `ccci` binary, with data markers, the backup artifact's layout and nothing left behind.

mod support;

use std::process::Command;

use support::{ccci_test, leftovers, testbed, Role, Step, TestRun};

/// Whether the data marker was checked after `when`.
fn marker_checked(steps: &[Step], when: &str) -> bool {
    steps.iter().any(|s| matches!(s, Step::MarkerChecked { after, .. } if after == when))
}

fn log(run: &TestRun) -> String {
    std::fs::read_to_string(run.out_dir.join("log.txt")).expect("log.txt")
}

fn assert_clean(run: &TestRun) {
    assert_eq!(leftovers(run.run_id()), Vec::<String>::new(), "objects of the run remain");
}

fn archive_entries(path: &std::path::Path) -> Vec<String> {
    let out = Command::new("tar").arg("-tzf").arg(path).output().expect("tar runs");
    assert!(out.status.success(), "{} is not a tar.gz", path.display());
    String::from_utf8_lossy(&out.stdout).lines().map(String::from).collect()
}

/// app-db's unreleased branch `next`: install deploys the newest release before it (1.1.0+1.36),
/// upgrade moves to `next` in place, backup runs the db's pre-hook and packs the volume's
/// `backup.tar`, restore puts it back and runs the re-import post-hook. The default file marker
/// sits in the db's live data (`data/`, the only directory of the volume; the backup itself holds
/// only the dump), so it comes back only through the dump and re-import.
#[test]
fn app_db_next_passes_install_upgrade_backup_restore() {
    testbed();
    let work = tempfile::tempdir().unwrap();
    let repo = testbed::fixture("app-db", &work.path().join("app-db")).unwrap();
    let run = ccci_test(work.path(), &repo.path, &["--ref", "next", "--tiers", "install,upgrade,backup,restore"]);
    let log = log(&run);
    for tier in ["install", "upgrade", "backup", "restore"] {
        assert_eq!(run.tier(tier)["outcome"], "pass", "{tier}: {}\nlog:\n{log}", run.tier(tier));
    }
    assert_eq!(run.code(), Some(0), "stderr:\n{}", run.stderr());
    assert_eq!(run.result["level"], 4);
    let steps = run.steps();
    let base = Role::Base { version: "1.1.0+1.36".into() };
    assert!(steps.iter().any(|s| matches!(s, Step::Deploying { role, .. } if *role == base)), "{steps:#?}");
    assert!(steps.iter().any(|s| matches!(s, Step::Upgrading { from, .. } if from == "1.1.0+1.36")), "{steps:#?}");
    let changed = |s: &Step| matches!(s, Step::VersionChanged { from, to } if from == "1.1.0+1.36" && to.starts_with("1.1.0+1.36 (chaos "));
    assert!(steps.iter().any(changed), "{steps:#?}");
    assert!(marker_checked(&steps, "upgrade") && marker_checked(&steps, "restore"), "{steps:#?}");
    let stack = run.result["instance"]["stack"].as_str().unwrap();
    let name = format!("backup-{stack}.tar.gz");
    let archive = run.out_dir.join("artifacts").join(&name);
    assert!(archive.is_file(), "no {}", archive.display());
    let size = std::fs::metadata(&archive).unwrap().len();
    let written =
        |s: &Step| matches!(s, Step::BackupWritten { path, bytes } if path.ends_with(&name) && *bytes == size);
    assert!(steps.iter().any(written), "artifact path and size not told: {steps:#?}");
    let entries = archive_entries(&archive);
    let dump = format!("var/lib/docker/volumes/{stack}_db-data/_data/backup.tar");
    assert!(entries.contains(&dump), "{dump} not in {entries:?}");
    assert!(
        entries.iter().all(|e| e.trim_end_matches('/') == "var"
            || format!("var/lib/docker/volumes/{stack}_db-data/_data/").starts_with(e.as_str())
            || e == &dump),
        "only the listed path is backed up: {entries:?}"
    );
    let artifacts = run.result["artifacts"].as_array().unwrap();
    assert!(artifacts.iter().any(|a| a["kind"] == "backup" && a["path"].as_str().unwrap().ends_with(&name)));
    assert_clean(&run);
}

/// dump-db keeps its live data in `live/` and backs up only `dump.tar`, which its pre-hook writes
/// and its restore post-hook re-imports. No per-recipe marker hooks are configured, so the default
/// file marker lands in `live/` (the backed-up path is a file, so the first directory of the
/// volume holds the marker): only the dump carries it through a backup.
fn dump_db(git_ref: &str) -> (tempfile::TempDir, TestRun) {
    testbed();
    let work = tempfile::tempdir().unwrap();
    let repo = testbed::fixture("dump-db", &work.path().join("dump-db")).unwrap();
    let run = ccci_test(work.path(), &repo.path, &["--ref", git_ref, "--tiers", "install,backup,restore"]);
    (work, run)
}

#[test]
fn dump_db_restores_through_its_hooks() {
    let (_work, run) = dump_db("1.0.0+1.35");
    let log = log(&run);
    for tier in ["install", "backup", "restore"] {
        assert_eq!(run.tier(tier)["outcome"], "pass", "{tier}: {}\nlog:\n{log}", run.tier(tier));
    }
    assert_eq!(run.result["level"], 3);
    let steps = run.steps();
    let hook = |label: &str| {
        steps.iter().any(|s| matches!(s, Step::HookStarted { name, service } if name.starts_with(label) && service.as_deref() == Some("app")))
    };
    assert!(hook("backupbot.backup.pre-hook") && hook("backupbot.restore.post-hook"), "{steps:#?}");
    let in_live_data =
        |s: &Step| matches!(s, Step::MarkerWritten { marker, .. } if marker.contains("/var/lib/db/live/.ccci-marker"));
    assert!(steps.iter().any(in_live_data), "{steps:#?}");
    assert!(marker_checked(&steps, "restore"), "{steps:#?}");
    assert_clean(&run);
}

/// Branch `no-prehook`: the backup holds the stale dump written at boot, so the restore's
/// re-import loses the marker.
#[test]
fn dump_db_without_its_pre_hook_fails_at_restore() {
    let (_work, run) = dump_db("no-prehook");
    let log = log(&run);
    assert_eq!(run.tier("install")["outcome"], "pass", "{log}");
    assert_eq!(run.tier("backup")["outcome"], "pass", "{log}");
    let restore = run.tier("restore");
    assert_eq!(restore["outcome"], "fail", "{restore}\n{log}");
    assert!(restore["reason"].as_str().unwrap().contains("marker missing after restore"), "{restore}");
    assert_eq!(run.code(), Some(1));
    assert_eq!(run.result["level"], 2);
    assert_clean(&run);
}

/// crashloop 1.1.0+1.35 crash-loops; its base 1.0.0+1.35 works: install passes, upgrade fails
/// naming the service, backup and restore are skipped after it.
#[test]
fn crashing_upgrade_fails_naming_the_service() {
    testbed();
    let work = tempfile::tempdir().unwrap();
    let repo = testbed::fixture("crashloop", &work.path().join("crashloop")).unwrap();
    let run = ccci_test(work.path(), &repo.path, &["--ref", "1.1.0+1.35", "--tiers", "install,upgrade,backup,restore"]);
    let log = log(&run);
    assert_eq!(run.tier("install")["outcome"], "pass", "{log}");
    let upgrade = run.tier("upgrade");
    assert_eq!(upgrade["outcome"], "fail", "{upgrade}\n{log}");
    let stack = run.result["instance"]["stack"].as_str().unwrap();
    let reason = upgrade["reason"].as_str().unwrap();
    assert!(reason.contains(&format!("{stack}_app")), "{upgrade}");
    assert!(reason.contains("exit code 3"), "the task's exit code: {reason}");
    assert!(
        reason.contains("crashloop: fatal: cannot read /etc/crashloop/settings.conf"),
        "its last log line: {reason}"
    );
    for tier in ["backup", "restore"] {
        assert_eq!(run.tier(tier)["outcome"], "skipped");
        assert_eq!(run.tier(tier)["reason"], "after upgrade fail", "{}", run.tier(tier));
    }
    assert_eq!(run.code(), Some(1));
    assert_eq!(run.result["level"], 1);
    assert_clean(&run);
}
