//! Test support for the harness's unit tests: small recipes written into temporary git
//! repositories (annotated release tags), a loopback HTTP server standing in for the proxy, and
//! a whole run driven through the fake engine with every event collected. No Docker anywhere.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::context::{Limits, RunOptions};
use crate::engine::fake::FakeEngine;
use crate::events::{Event, Step};
use crate::report::Sink;
use crate::result::{Outcome, RunResult, Tier, TierResult};
use crate::run::{run_on, RunReport};

/// A web app with a data volume, a generated secret and backups on; `{version}` is its label.
pub const WEB_COMPOSE: &str = r#"version: "3.8"
services:
  app:
    image: example/web:1.0
    volumes: ["data:/srv/data"]
    secrets: [api_key]
    deploy:
      labels:
        - traefik.enable=true
        - coop-cloud.${STACK_NAME}.version={version}
        - coop-cloud.${STACK_NAME}.timeout=2
        - backupbot.backup=true
volumes:
  data:
secrets:
  api_key:
    external: true
    name: ${STACK_NAME}_api_key_${SECRET_API_KEY_VERSION}
"#;

/// The env sample of [`WEB_COMPOSE`].
pub const WEB_ENV: &str = "TYPE=web\nDOMAIN=web.example.com\nSECRET_API_KEY_VERSION=v1 # length=20\n";

/// An app of stack `s` at domain `d` rendered as `doc` (YAML), without secrets.
pub fn app_from(doc: &str) -> crate::app::App {
    crate::app::App {
        domain: "d".into(),
        stack: "s".into(),
        env: std::collections::BTreeMap::new(),
        doc: serde_norway::from_str(doc).expect("a YAML document"),
        secrets: vec![],
    }
}

/// A recipe in a temporary git repository.
pub struct TestRecipe {
    dir: tempfile::TempDir,
    name: String,
}

impl TestRecipe {
    /// An empty repository whose directory is named `name` (the recipe's name).
    pub fn new(name: &str) -> Self {
        let dir = tempfile::Builder::new().prefix("harness-test-").tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join(name)).expect("recipe dir");
        let recipe = TestRecipe { dir, name: name.to_string() };
        recipe.git(&["init", "-q", "-b", "main"]);
        recipe
    }

    /// The web recipe ([`WEB_COMPOSE`]) at `version`, committed.
    pub fn web(version: &str) -> Self {
        let r = Self::new("web");
        r.write("compose.yml", &WEB_COMPOSE.replace("{version}", version));
        r.write(".env.sample", WEB_ENV);
        r.commit("initial");
        r
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().join(&self.name)
    }

    /// Write `contents` to `rel` in the working tree.
    pub fn write(&self, rel: &str, contents: &str) -> &Self {
        let path = self.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, contents).unwrap();
        self
    }

    /// Write an executable script (mode 0755).
    pub fn script(&self, rel: &str, body: &str) -> &Self {
        use std::os::unix::fs::PermissionsExt;
        self.write(rel, body);
        std::fs::set_permissions(self.path().join(rel), std::fs::Permissions::from_mode(0o755)).unwrap();
        self
    }

    pub fn commit(&self, message: &str) -> &Self {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self
    }

    /// An annotated release tag on HEAD.
    pub fn tag(&self, tag: &str) -> &Self {
        self.git(&["tag", "-a", tag, "-m", &format!("release {tag}")]);
        self
    }

    fn git(&self, args: &[&str]) {
        let status = Command::new("git")
            .args(args)
            .current_dir(self.path())
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", self.dir.path())
            .status()
            .expect("git runs");
        assert!(status.success(), "git {args:?}");
    }
}

/// A loopback HTTP server answering every request with `status` (the proxy, routing to a healthy
/// app); it lives as long as the test process.
pub fn serve(status: u16) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf);
            let _ = write!(conn, "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    addr
}

/// An address where nothing listens.
pub fn closed_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

/// Options for a run of `recipe` at `git_ref` through the proxy at `proxy`, data under `data`.
pub fn options(recipe: &Path, git_ref: Option<&str>, proxy: SocketAddr, data: &Path) -> RunOptions {
    RunOptions {
        source: recipe.to_string_lossy().into_owned(),
        git_ref: git_ref.map(String::from),
        tiers: Tier::ALL.to_vec(),
        mode: Default::default(),
        out: None,
        data_dir: data.to_path_buf(),
        base_domain: "ccci.test".into(),
        proxy: Some(proxy),
        scheme: "http".into(),
        ca_bundle: None,
        pull: swarm::PullOptions::default(),
        dnsrr: false,
        keep_on_failure: None,
        pr: None,
        config_dir: None,
        limits: Limits { command: Duration::from_secs(20), teardown: Duration::from_secs(5) },
        node_hosts: Vec::new(),
        sandbox: Default::default(),
    }
}

/// Keeps every event.
#[derive(Default)]
pub struct Collect(pub Mutex<Vec<Event>>);

impl Sink for Collect {
    fn event(&self, _: Duration, event: &Event) {
        self.0.lock().unwrap().push(event.clone());
    }
}

/// A finished run and what it told.
pub struct Ran {
    pub report: RunReport,
    pub events: Vec<Event>,
    _data: tempfile::TempDir,
}

impl Ran {
    pub fn result(&self) -> &RunResult {
        &self.report.result
    }

    pub fn tier(&self, tier: Tier) -> &TierResult {
        self.result().tiers.iter().find(|t| t.tier == tier).unwrap_or_else(|| panic!("no {tier} in the result"))
    }

    /// `(outcome, reason)` of `tier`.
    pub fn outcome(&self, tier: Tier) -> (Outcome, &str) {
        let t = self.tier(tier);
        (t.outcome, t.reason.as_str())
    }

    /// Every step told, in order.
    pub fn steps(&self) -> Vec<&Step> {
        self.events.iter().filter_map(|e| if let Event::Step { step, .. } = e { Some(step) } else { None }).collect()
    }
}

/// Run `options` (its data dir replaced by a fresh one) on `engine`, collecting every event.
pub async fn run(engine: &FakeEngine, mut options: RunOptions) -> Ran {
    let data = tempfile::tempdir().unwrap();
    options.data_dir = data.path().to_path_buf();
    let collect = Arc::new(Collect::default());
    let report = run_on(engine, options, vec![collect.clone()]).await.expect("the run starts");
    let events = collect.0.lock().unwrap().clone();
    Ran { report, events, _data: data }
}
