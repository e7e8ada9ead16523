//! The disk floor end to end (issue 11, "Disk"): `ccci serve` with its data dir on a small tmpfs
//! of its own and `[disk] min_free_gib` between what is free with and without a ballast file. With
//! the ballast in, a `!testme` stays queued, the log says why, a `disk_low` alert is recorded and
//! `/healthz` names the disk, and a sweep does not cold-test a new release; once the ballast is
//! gone the run starts and passes on its own.
//! Needs root (it mounts the tmpfs).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use support::server::{http_get, wait_for, Knobs, World, MEMBER};

/// A tmpfs mounted at a directory for the test's life.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, mib: u64) -> Tmpfs {
        std::fs::create_dir_all(at).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "ccci-test-disk"])
            .arg(at)
            .output()
            .expect("mount runs");
        assert!(
            out.status.success(),
            "this test mounts a tmpfs as the server's data dir and needs root: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs(at.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("--lazy").arg(&self.0).status();
    }
}

/// The kinds of the alerts recorded under `data_dir`.
fn alert_kinds(data_dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(data_dir.join("alerts")) else { return Vec::new() };
    entries
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
        .filter_map(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .filter_map(|alert| alert["kind"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn below_the_floor_a_run_stays_queued_with_an_alert_and_starts_once_there_is_room() {
    let world = World::new("simple", Knobs::default());
    // 96 MiB of tmpfs, a floor of 64 MiB: a 48 MiB ballast puts it below, removing it above.
    let _tmpfs = Tmpfs::mount(&world.data_dir, 96);
    world.append_config("[disk]\nmin_free_gib = 0.0625\ncleanup = false\n");
    world.forge.open_pr_from_branch(&world.repo, 1, "main");
    let server = world.serve();
    // The disk figures are measured at start and shown on /metrics and the sweeps page.
    wait_for("the disk figures on /metrics", Duration::from_secs(60), || {
        let metrics = http_get(&format!("{}/metrics", server.url)).map(|(_, m)| m).unwrap_or_default();
        metrics.contains("ccci_disk_floor_bytes 67108864")
            && metrics.contains("ccci_disk_free_bytes{place=\"data dir\"")
            && metrics.contains("ccci_disk_bytes{kind=\"runs\"}")
    });
    let (_, page) = http_get(&format!("{}/sweeps", server.url)).unwrap();
    assert!(page.contains("floor (runs wait below it)"), "{page}");

    let ballast = world.data_dir.join("ballast");
    std::fs::write(&ballast, vec![1u8; 48 << 20]).expect("the ballast fits");
    world.comment(1, MEMBER, "!testme tiers=install");
    wait_for("the floor's refusal in the log", Duration::from_secs(30), || {
        world.server_log().contains("runs stay queued until there is room")
    });
    let (status, health) = http_get(&format!("{}/healthz", server.url)).unwrap();
    assert!(status == 503 && health.contains("below the floor"), "{status} {health}");
    assert_eq!(alert_kinds(&world.data_dir), ["disk_low"], "one alert for the episode");
    // An absence can only be watched for a while: the workers look again every 2 s.
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(server.run(1)["state"], "queued", "no run starts below the floor");

    // A sweep meanwhile does not cold-test (and snapshot, and promote) the new release either.
    let out = Command::new(env!("CARGO_BIN_EXE_ccci"))
        .args(["sweep", "--once", "--json", "--config"])
        .arg(&world.config)
        .output()
        .expect("ccci sweep runs");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no report ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(out.status.code(), Some(1), "it needs attention: {report:#}");
    let simple = &report["recipes"][0];
    assert_eq!(simple["action"], "failed", "{simple}");
    assert!(simple["error"].as_str().unwrap().contains("below the floor"), "{simple}");
    assert_eq!(alert_kinds(&world.data_dir), ["disk_low", "disk_low"], "the sweep's process raised its own");
    assert_eq!(server.run(1)["state"], "queued");

    std::fs::remove_file(&ballast).unwrap();
    let run = server.wait_run(1, &["finished", "error"], Duration::from_secs(300));
    assert_eq!(run["outcome"], "pass", "{run}\n{}", world.server_log());
    assert!(world.server_log().contains("there is room again"), "{}", world.server_log());
    let (status, _) = http_get(&format!("{}/healthz", server.url)).unwrap();
    assert_eq!(status, 200);
    assert_eq!(alert_kinds(&world.data_dir).len(), 2, "no further alert");
}
