//! Shared by the server's in-process tests (`tests/intake.rs`, `tests/http_limits.rs`): the fake
//! forge with one enrolled repository (PR #1, issue #2, an org member), the server's parts
//! assembled from a configuration parsed like `ccci serve` parses it (workers not started, so
//! queued runs stay queued), and its HTTP side served on a loopback port.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use server::serve::Parts;
use testbed::fake_forge::FakeForge;

pub const ORG: &str = "coop-cloud";
pub const MEMBER: &str = "maintainer";
pub const SECRET: &str = "intake-test-hook-secret-4b1d";
pub const REPO: &str = "coop-cloud/app-db";
pub const HEAD: &str = "0123456789abcdef0123456789abcdef01234567";
pub const PUBLIC_URL: &str = "https://ci.example.test";

/// A server's parts against a fake forge, served on `addr`.
pub struct Served {
    pub forge: FakeForge,
    pub parts: Parts,
    pub config: server::Config,
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    _dir: tempfile::TempDir,
}

impl Served {
    /// Starts it; `tables` is appended to the configuration (e.g. an `[http]` table).
    pub async fn start(tables: &str) -> Served {
        Served::start_with("", tables, None).await
    }

    /// [`Served::start`] with `top` added to the configuration's top level and the data dir at
    /// `data_dir` (default: in a fresh temporary directory).
    pub async fn start_with(top: &str, tables: &str, data_dir: Option<PathBuf>) -> Served {
        let dir = tempfile::tempdir().unwrap();
        let forge = FakeForge::start();
        forge.create_repo(REPO);
        forge.add_pr(REPO, 1, HEAD, "feature");
        forge.add_issue(REPO, 2);
        forge.set_org_members(ORG, &[MEMBER]);
        let data_dir = data_dir.unwrap_or_else(|| dir.path().join("data"));
        let text = format!(
            "base_domain = \"ci.test\"\npublic_url = \"{PUBLIC_URL}\"\ndata_dir = \"{data}\"\n{top}\n\
             [forge]\nkind = \"gitea\"\nbase_url = \"{url}\"\nbot_login = \"{bot}\"\ntoken_env = \"TOKEN\"\n\
             [webhook]\nsecret_env = \"SECRET\"\n[auth]\norg = \"{ORG}\"\n[[repos]]\nrepo = \"{REPO}\"\n{tables}\n",
            data = data_dir.display(),
            url = forge.url(),
            bot = forge.bot_login(),
        );
        let token = forge.token();
        let env = move |name: &str| match name {
            "TOKEN" => Some(token.clone()),
            "SECRET" => Some(SECRET.to_string()),
            _ => None,
        };
        let config = server::config::parse(Path::new("server-test.toml"), &text, &env).unwrap();
        let parts = server::serve::assemble(&config, PathBuf::from("/bin/false")).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(server::http::serve(listener, parts.app.clone(), config.http, parts.events.clone()));
        Served { forge, parts, config, addr, data_dir, _dir: dir }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn server_log(&self) -> String {
        std::fs::read_to_string(self.data_dir.join("server.log")).unwrap_or_default()
    }
}
