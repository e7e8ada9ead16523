//! Shared by the dashboard tests (`tests/web.rs`, `tests/dashboard_browser.rs`): a store on disk
//! with a hand-driven clock, run directories, and the dashboard served on a loopback port.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use harness::redact::Redactor;
use harness::result::Outcome;
use server::web::{router, WebState};
use server::{Mode, NewRun, RunId, Store};

/// A secret of the server (say, its forge token) that must never be shown.
pub const SECRET: &str = "tok3n-SECRET-f00d";
/// One that HTML and JSON would escape; its tail is what the tests look for.
pub const SECRET2: &str = "we<b>\"hook&s3cr3t-77tail";
pub const SECRET2_TAIL: &str = "77tail";

/// A 4×3 red PNG.
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x04, 0x00, 0x00, 0x00, 0x03, 0x08, 0x02, 0x00, 0x00, 0x00, 0x3b, 0x96, 0x39, 0x91, 0x00, 0x00, 0x00, 0x10, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xb8, 0xe0, 0xe0, 0x00, 0x47, 0x0c, 0x38, 0x39, 0x00, 0x3a, 0x16, 0x0f, 0xc1,
    0x32, 0x3b, 0x3e, 0xf3, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

pub struct Fixture {
    _dir: tempfile::TempDir,
    pub data: PathBuf,
    pub store: Arc<Store>,
    pub now: Arc<AtomicI64>,
    comments: AtomicU64,
    pub addr: SocketAddr,
    pub base: String,
    pub http: reqwest::Client,
}

/// One tier of a result: name, outcome, reason.
pub type TierSpec<'a> = (&'a str, &'a str, &'a str);

impl Fixture {
    /// A store in a fresh data dir and the dashboard serving it on 127.0.0.1.
    pub async fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().to_path_buf();
        let wall = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
        // Starts a few minutes ago, so that runs look recent and a running run's time is sensible.
        let now = Arc::new(AtomicI64::new(wall - 10 * 60_000));
        let read = now.clone();
        let store = Arc::new(
            Store::open_with_clock(&server::paths::store_file(&data), Arc::new(move || read.load(Ordering::SeqCst)))
                .unwrap(),
        );
        let redactor = Redactor::new();
        redactor.register(SECRET);
        redactor.register(SECRET2);
        let state = WebState::new(store.clone(), data.clone(), "https://ci.example.test/", redactor);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router(state)).await.unwrap() });
        Fixture {
            _dir: dir,
            data,
            store,
            now,
            comments: AtomicU64::new(1),
            addr,
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
        }
    }

    pub fn tick(&self, ms: i64) {
        self.now.fetch_add(ms, Ordering::SeqCst);
    }

    /// Queues a run of `recipe` (repo `coop-cloud/<recipe>`).
    pub fn enqueue(&self, recipe: &str, pr: Option<u64>, mode: Mode) -> RunId {
        let comment = self.comments.fetch_add(1, Ordering::SeqCst);
        self.tick(10);
        self.store
            .enqueue(&NewRun {
                repo: format!("coop-cloud/{recipe}"),
                recipe: recipe.into(),
                pr,
                commit: Some(format!("{comment:040x}")),
                git_ref: pr.map(|p| format!("refs/pull/{p}/head")),
                mode,
                tiers: None,
                trigger_comment_id: Some(comment),
            })
            .unwrap()
            .id()
    }

    pub fn start(&self, id: RunId) {
        self.tick(1000);
        self.store.start(id).unwrap();
    }

    /// Finishes a running run after `took_ms`, with a `result.json` of these tiers (in the store
    /// and in the run dir); returns the JSON.
    pub fn finish(&self, id: RunId, took_ms: i64, tiers: &[TierSpec], level_of: usize) -> String {
        let run = self.store.get_run(id).unwrap().unwrap();
        let level = tiers.iter().take_while(|t| t.1 == "pass").count();
        let outcome = if tiers.iter().any(|t| t.1 == "error") {
            Outcome::Error
        } else if tiers.iter().any(|t| t.1 == "fail") {
            Outcome::Fail
        } else {
            Outcome::Pass
        };
        let json = serde_json::json!({
            "schema_version": 1,
            "run_id": format!("20260102t150405-{:06x}", id.0),
            "recipe": run.recipe,
            "ref": run.git_ref,
            "commit": run.commit,
            "mode": run.mode.as_str(),
            "instance": {"domain": format!("{}.ci.test", run.recipe), "stack": format!("{}_ci_test", run.recipe)},
            "started_at": "2026-01-02T15:04:05Z",
            "finished_at": "2026-01-02T15:05:05Z",
            "duration_ms": took_ms,
            "tiers": tiers.iter().enumerate().map(|(i, (tier, outcome, reason))| serde_json::json!({
                "tier": tier, "outcome": outcome, "reason": reason, "duration_ms": 1500 * (i as u64 + 1),
            })).collect::<Vec<_>>(),
            "level": level,
            "level_of": level_of,
            "outcome": outcome.name(),
            "artifacts": [],
        })
        .to_string();
        self.tick(took_ms);
        std::fs::create_dir_all(self.run_dir(id)).unwrap();
        std::fs::write(self.run_dir(id).join("result.json"), &json).unwrap();
        self.store.finish(id, outcome, level as u32, &json).unwrap();
        json
    }

    pub fn run_dir(&self, id: RunId) -> PathBuf {
        server::paths::run_dir(&self.data, id)
    }

    /// Writes `rel` under the run dir (creating directories).
    pub fn write(&self, id: RunId, rel: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.run_dir(id).join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// Appends to the run's log.
    pub fn append_log(&self, id: RunId, text: &str) {
        append(&server::paths::run_log(&self.data, id), text);
    }

    pub async fn get(&self, path: &str) -> (u16, reqwest::header::HeaderMap, String) {
        let res = self.http.get(format!("{}{path}", self.base)).send().await.unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        (status, headers, res.text().await.unwrap())
    }

    pub async fn json(&self, path: &str) -> (u16, serde_json::Value) {
        let res = self.http.get(format!("{}{path}", self.base)).send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap())
    }
}

pub fn append(path: &Path, text: &str) {
    use std::io::Write;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f.flush().unwrap();
}
