//! Helpers of the server's end-to-end tests: a fake forge with a fixture recipe enrolled, a
//! `ccci serve` child process configured against it and the testbed's swarm and real proxy (its
//! wildcard certificate and CA as the server's `[tls]`), and small readers of what the server and
//! the forge did.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use testbed::fake_forge::FakeForge;

/// The org whose members may trigger runs.
pub const ORG: &str = "coop-cloud";
/// The org member who comments `!testme`.
pub const MEMBER: &str = "maintainer";
/// The webhook secret configured on both sides.
pub const HOOK_SECRET: &str = "hook-secret-7f3a9c";

/// Knobs of the server's configuration.
pub struct Knobs {
    pub poll_seconds: u64,
    pub max_tests: u32,
    /// `run_timeout_seconds` (the default of 60 minutes otherwise).
    pub timeout_seconds: Option<u64>,
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs { poll_seconds: 1, max_tests: 1, timeout_seconds: None }
    }
}

/// A fake forge with `coop-cloud/<fixture>` enrolled, and the files of a server configured for it.
pub struct World {
    pub forge: FakeForge,
    pub work: tempfile::TempDir,
    pub repo: String,
    pub config: PathBuf,
    pub data_dir: PathBuf,
    pub public_url: String,
}

impl World {
    /// `fixture` mirrored on a new fake forge as `coop-cloud/<fixture>`; [`MEMBER`] is in the org.
    pub fn new(fixture: &str, knobs: Knobs) -> World {
        World::with_branches(fixture, fixture, knobs, &[])
    }

    /// [`World::new`] with the repository (and so the recipe) named `name`.
    pub fn named(fixture: &str, name: &str, knobs: Knobs) -> World {
        World::with_branches(fixture, name, knobs, &[])
    }

    /// Like [`World::named`], the fixture's repository given more branches first: each a commit on
    /// the default branch adding its files (a pull request's changes).
    pub fn with_branches(fixture: &str, name: &str, knobs: Knobs, branches: &[(&str, Vec<BranchFile>)]) -> World {
        super::testbed();
        let work = tempfile::tempdir().expect("temp dir");
        let source = testbed::fixture(fixture, &work.path().join("source")).expect("fixture");
        for (branch, files) in branches {
            add_branch(&source.path, branch, files);
        }
        let forge = FakeForge::start();
        let repo = format!("{ORG}/{name}");
        forge.create_repo_from_git(&repo, &source.path);
        forge.set_org_members(ORG, &[MEMBER]);
        let data_dir = work.path().join("data");
        let port = free_port();
        let public_url = format!("http://127.0.0.1:{port}");
        let token_file = work.path().join("token");
        std::fs::write(&token_file, forge.token()).expect("token file");
        let secret_file = work.path().join("hook-secret");
        std::fs::write(&secret_file, HOOK_SECRET).expect("secret file");
        let timeout = knobs.timeout_seconds.map(|s| format!("run_timeout_seconds = {s}\n")).unwrap_or_default();
        let text = format!(
            "base_domain = \"ccci.test\"\npublic_url = \"{public_url}\"\nlisten = \"127.0.0.1:{port}\"\n\
             proxy = \"{proxy}\"\ndnsrr = true\ndata_dir = \"{data}\"\nmax_tests = {max}\n\
             poll_interval_seconds = {poll}\n{timeout}\
             [forge]\nkind = \"gitea\"\nbase_url = \"{forge_url}\"\nbot_login = \"{bot}\"\ntoken_file = \"{token}\"\n\
             [webhook]\nsecret_file = \"{secret}\"\n[auth]\norg = \"{ORG}\"\n\
             [tls]\ncert_file = \"{tls}/wildcard.pem\"\nkey_file = \"{tls}/wildcard.key\"\nca_file = \"{tls}/ca.pem\"\n\
             [[repos]]\nrepo = \"{repo}\"\n",
            proxy = testbed::proxy_addr(),
            data = data_dir.display(),
            max = knobs.max_tests,
            poll = knobs.poll_seconds,
            forge_url = forge.url(),
            bot = forge.bot_login(),
            token = token_file.display(),
            secret = secret_file.display(),
            tls = testbed::tls_dir().display(),
        );
        let config = work.path().join("ccci-server.toml");
        std::fs::write(&config, text).expect("config file");
        World { forge, work, repo, config, data_dir, public_url }
    }

    /// Appends `text` to the configuration file (it ends in the `[[repos]]` entry of the fixture).
    pub fn append_config(&self, text: &str) {
        let mut config = std::fs::read_to_string(&self.config).expect("config file");
        config.push_str(text);
        std::fs::write(&self.config, config).expect("config file");
    }

    /// Starts `ccci serve` and waits until it listens and has read the forge once.
    pub fn serve(&self) -> Server {
        Server::start(&self.config, self.work.path(), &self.public_url, &self.data_dir)
    }

    /// The repository's git URL on the forge (what the server's runs clone).
    pub fn clone_url(&self) -> String {
        format!("{}/{}.git", self.forge.url().trim_end_matches('/'), self.repo)
    }

    /// A comment by `user` on PR `number`, now.
    pub fn comment(&self, number: u64, user: &str, body: &str) -> u64 {
        self.forge.add_comment(&self.repo, number, user, body, self.forge.now())
    }

    /// The bot's comments on PR `number`, newest edit applied.
    pub fn bot_comments(&self, number: u64) -> Vec<String> {
        let bot = self.forge.bot_login();
        self.forge
            .comments(&self.repo)
            .into_iter()
            .filter(|c| c.number == number && c.author == bot)
            .map(|c| c.body)
            .collect()
    }

    /// The commit statuses posted for `sha`, oldest first, as `(state, context, target_url)`.
    pub fn statuses(&self, sha: &str) -> Vec<(String, String, String)> {
        self.forge.statuses().into_iter().filter(|s| s.sha == sha).map(|s| (s.state, s.context, s.target_url)).collect()
    }

    /// The server's event log.
    pub fn server_log(&self) -> String {
        std::fs::read_to_string(self.data_dir.join("server.log")).unwrap_or_default()
    }

    /// The engine's run id of server run `id` (from its log's first line).
    pub fn engine_run_id(&self, id: u64) -> Option<String> {
        super::run_id_in(&self.data_dir.join("runs").join(id.to_string()))
    }
}

/// A file a branch adds: `(path, text, mode)`.
pub type BranchFile<'a> = (&'a str, String, u32);

/// Commits `files` on a new `branch` of the repository at `repo`, off its
/// checked-out branch, which stays checked out.
fn add_branch(repo: &Path, branch: &str, files: &[BranchFile]) {
    use std::os::unix::fs::PermissionsExt;
    let git = |args: &[&str]| {
        let out = Command::new("git").current_dir(repo).args(args).output().expect("git runs");
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    git(&["checkout", "-q", "-b", branch]);
    for (path, text, mode) in files {
        let file = repo.join(path);
        std::fs::create_dir_all(file.parent().expect("a file in the repo")).expect("dir");
        std::fs::write(&file, text).expect("file");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(*mode)).expect("mode");
    }
    git(&["add", "-A"]);
    git(&["-c", "user.name=PR author", "-c", "user.email=pr@example.org", "commit", "-q", "-m", branch]);
    git(&["checkout", "-q", "-"]);
}

/// A running `ccci serve`.
pub struct Server {
    child: Child,
    pub url: String,
    stderr: PathBuf,
}

impl Server {
    fn start(config: &Path, work: &Path, url: &str, data_dir: &Path) -> Server {
        let n = std::fs::read_dir(work).map(|d| d.count()).unwrap_or(0);
        let stderr = work.join(format!("serve-{n}.stderr"));
        let child = Command::new(env!("CARGO_BIN_EXE_ccci"))
            .args(["serve", "--config"])
            .arg(config)
            .env_remove("CCCI_PROXY_ADDR")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).expect("stderr file"))
            .spawn()
            .expect("ccci serve starts");
        let mut server = Server { child, url: url.to_string(), stderr };
        let log = data_dir.join("server.log");
        let starts = |text: &str| text.matches("listening on").count();
        let before = starts(&std::fs::read_to_string(&log).unwrap_or_default());
        // Every enrolled repo's first poll cycle marks existing comments seen: a test comment made
        // before it would never fire.
        wait_for("the server to listen and poll once", Duration::from_secs(60), || {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("ccci serve ended ({status}):\n{}", server.stderr_text());
            }
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            starts(&text) > before
                && text.contains("first cycle")
                && http_get(&format!("{url}/healthz")).is_some_and(|(status, _)| status == 200)
        });
        server
    }

    pub fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// `kill -9` the server.
    pub fn kill9(&mut self) {
        self.child.kill().expect("SIGKILL");
        let _ = self.child.wait();
    }

    /// A run as the JSON API shows it.
    pub fn run(&self, id: u64) -> serde_json::Value {
        let (status, body) = http_get(&format!("{}/api/runs/{id}", self.url)).expect("the API answers");
        assert_eq!(status, 200, "GET /api/runs/{id}: {body}");
        serde_json::from_str(&body).expect("JSON")
    }

    /// Waits until run `id` is in one of `states`; returns it.
    pub fn wait_run(&self, id: u64, states: &[&str], patience: Duration) -> serde_json::Value {
        let mut last = serde_json::Value::Null;
        let deadline = Instant::now() + patience;
        while Instant::now() < deadline {
            if let Some((200, body)) = http_get(&format!("{}/api/runs/{id}", self.url)) {
                last = serde_json::from_str(&body).unwrap_or(serde_json::Value::Null);
                if states.iter().any(|s| run_state(&last) == *s) {
                    return last;
                }
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        panic!("run {id} not {states:?} after {patience:?}: {last}\nserver stderr:\n{}", self.stderr_text());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            super::stop(&mut self.child, Duration::from_secs(10));
        }
    }
}

/// The `state` of a run as the API shows it.
pub fn run_state(run: &serde_json::Value) -> &str {
    run["state"].as_str().or_else(|| run["run"]["state"].as_str()).unwrap_or("")
}

/// Polls `done` every 100 ms until it holds; panics naming `what` after `patience`.
pub fn wait_for(what: &str, patience: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + patience;
    while !done() {
        assert!(Instant::now() < deadline, "timed out after {patience:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A port free on loopback right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}

/// `GET url` (plain HTTP/1.0): status and body, or `None` when nothing answers.
pub fn http_get(url: &str) -> Option<(u16, String)> {
    http("GET", url, &[], b"")
}

/// One HTTP/1.0 request to a loopback `http://host:port/path` URL; status and body, or `None`
/// when nothing answers.
pub fn http(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> Option<(u16, String)> {
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}"))).unwrap_or((rest, "/".into()));
    let addr = host.parse().ok()?;
    let response = testbed::http::request(addr, method, host, &path, headers, body).ok()?;
    Some((response.status, response.body))
}
