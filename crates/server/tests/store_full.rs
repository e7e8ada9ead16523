//! The store on a full disk (a size-limited tmpfs filled to the last byte; needs root, as the rest
//! of the suite does): a comment that cannot be recorded is not lost (the next poll cycle takes it
//! up once there is room), the queue is not wedged (a run that cannot be claimed waits, one whose
//! result cannot be recorded is retried), and `/healthz` says why meanwhile. Runs use the stand-in
//! engine `tests/stub-engine.sh`, which writes a passing `result.json` and then waits on a FIFO
//! the test opens (its path is in the environment, which this one-test binary owns).

mod support;

use std::io::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use server::{poller, RunFilter, RunId, RunState};
use support::{Served, MEMBER, REPO};

const PATIENCE: Duration = Duration::from_secs(60);

/// A tmpfs of a few MiB mounted for the test; unmounted on drop.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount() -> SmallDisk {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=8m", "ccci-test-small-disk"])
            .arg(dir.path())
            .status()
            .expect("mount(8) runs");
        assert!(status.success(), "mounting a tmpfs needs root (this suite runs as root, like its Docker tests)");
        SmallDisk { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills the disk to the last byte; the filler is removed by [`SmallDisk::free`].
    fn fill(&self) {
        let mut filler = std::fs::File::create(self.path().join("filler")).unwrap();
        let block = vec![0u8; 64 << 10];
        while filler.write_all(&block).is_ok() {}
        let byte = [0u8; 1];
        while filler.write_all(&byte).is_ok() {}
    }

    fn free(&self) {
        std::fs::remove_file(self.path().join("filler")).unwrap();
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn healthz(served: &Served) -> (u16, String) {
    let response = reqwest::get(served.url("/healthz")).await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn a_full_disk_neither_loses_a_trigger_nor_wedges_the_queue() {
    let disk = SmallDisk::mount();
    let tools = tempfile::tempdir().unwrap();
    let gate = tools.path().join("gate");
    assert!(Command::new("mkfifo").arg(&gate).status().unwrap().success());
    std::env::set_var("CCCI_STUB_GATE", &gate);
    let top = format!("engine = \"{}/tests/stub-engine.sh\"", env!("CARGO_MANIFEST_DIR"));
    // The disk floor off: this is about the store's writes failing, which the floor would hide.
    let served = Served::start_with(&top, "[disk]\nmin_free_gib = 0\n", Some(disk.path().join("data"))).await;
    let intake = &served.parts.intake;
    poller::poll_repo(intake, REPO).await.unwrap();

    // 1. A !testme while the disk is full: the cycle fails, /healthz says so, nothing is lost.
    disk.fill();
    served.forge.add_comment(REPO, 1, MEMBER, "!testme", served.forge.now());
    let failed = poller::poll_repo(intake, REPO).await;
    assert!(matches!(failed, Err(poller::PollError::Store(_))), "{failed:?}");
    poller::poll_all(intake).await;
    let (code, why) = healthz(&served).await;
    assert_eq!(code, 503, "{why}");
    assert!(why.contains("store writes: polling coop-cloud/app-db failed") && why.contains("full"), "{why}");
    disk.free();
    poller::poll_all(intake).await;
    assert_eq!(healthz(&served).await.0, 200);
    let runs = served.parts.store.list_runs(&RunFilter::default(), 10, 0).unwrap();
    assert_eq!(runs.len(), 1, "the comment was taken up once there was room: {runs:?}");
    let id = runs[0].id;

    // 2. The run cannot be claimed while the disk is full: it waits, queued, and /healthz says why.
    disk.fill();
    tokio::spawn(served.parts.workers.clone().run());
    wait_for("the claim to fail", || {
        served.parts.health.problems().iter().any(|p| p.contains("taking a run from the queue failed"))
    })
    .await;
    assert_eq!(state(&served, id), RunState::Queued);
    disk.free();
    let result = served.data_dir.join("runs").join(id.to_string()).join("result.json");
    wait_for("the engine to write its result", || std::fs::metadata(&result).is_ok_and(|m| m.len() > 0)).await;
    assert_eq!(state(&served, id), RunState::Running);

    // 3. Its result cannot be recorded: tried again until there is room; never left `running`.
    disk.fill();
    std::fs::OpenOptions::new().write(true).open(&gate).unwrap(); // the engine ends
    wait_for("the result write to fail", || {
        served.parts.health.problems().iter().any(|p| p.contains(&format!("recording run {id}'s result failed")))
    })
    .await;
    let (code, why) = healthz(&served).await;
    assert_eq!(code, 503, "{why}");
    disk.free();
    wait_for("the run to finish", || state(&served, id) == RunState::Finished).await;
    wait_for("the problem to clear", || served.parts.health.problems().is_empty()).await;
    assert_eq!(healthz(&served).await.0, 200);
    let run = served.parts.store.get_run(id).unwrap().unwrap();
    assert_eq!(run.level, Some(1));
}

fn state(served: &Served, id: RunId) -> RunState {
    served.parts.store.get_run(id).unwrap().unwrap().state
}
