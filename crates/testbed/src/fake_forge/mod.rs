//! A fake Gitea/Forgejo server for tests: a stateful HTTP server on loopback serving the API subset
//! the forge client uses ([`ROUTES`]), with Gitea's quirks (FORGE-NOTES.md), a programmatic API
//! to set the world up and read what the client did, fault injection, per-route request counts,
//! signed webhook deliveries (built by [`comment_webhook_request`], or sent by the fake itself
//! after [`FakeForge::set_webhook`]) and real git repositories over smart HTTP
//! ([`FakeForge::create_repo_from_git`], with `refs/pull/N/head` as Gitea keeps them; pushes
//! with the token, as Gitea takes them). A second fake serves as an upstream git server.
//!
//! The server runs on its own thread and runtime, so it works from sync and async tests alike; it
//! stops when the [`FakeForge`] is dropped.

mod git;
mod handlers;
mod json;
mod paging;
mod routes;
mod state;
pub mod swagger;
mod webhook;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

pub use routes::{Route, ROUTES};
pub use state::{CommentView, Edit, PostedStatus, RequestRecord};
pub use webhook::{
    comment_webhook_request, send_comment_webhook, CommentHook, Delivery, DeliveryOutcome, HookAction, WebhookRequest,
};

use json::Urls;
use routes::Shared;
use state::{CommentRec, Fault, Org, Pull, Repo, State, TagRec};

/// Token the fake accepts unless told otherwise.
pub const DEFAULT_TOKEN: &str = "fake-forge-token-0123456789";
/// The bot's login unless told otherwise.
pub const DEFAULT_BOT: &str = "ccci-bot";

/// Options for [`FakeForge::start_with`].
#[derive(Debug, Clone)]
pub struct Options {
    pub token: String,
    pub bot_login: String,
    /// The server's time zone offset in seconds: Gitea renders times in its local zone; the default
    /// (+02:00) catches clients that assume UTC.
    pub utc_offset_secs: i32,
}

impl Default for Options {
    fn default() -> Self {
        Options { token: DEFAULT_TOKEN.into(), bot_login: DEFAULT_BOT.into(), utc_offset_secs: 2 * 3600 }
    }
}

/// A pull request to add.
#[derive(Debug, Clone)]
pub struct PullSpec {
    pub number: u64,
    pub head_sha: String,
    pub head_ref: String,
    pub base_ref: String,
    pub author: String,
    pub open: bool,
}

impl PullSpec {
    /// An open PR from branch `head_ref` at `head_sha` into `main`, by `contributor`.
    pub fn new(number: u64, head_sha: &str, head_ref: &str) -> PullSpec {
        PullSpec {
            number,
            head_sha: head_sha.into(),
            head_ref: head_ref.into(),
            base_ref: "main".into(),
            author: "contributor".into(),
            open: true,
        }
    }
}

/// A running fake forge.
pub struct FakeForge {
    addr: SocketAddr,
    shared: Shared,
    /// The fake's own runtime, where webhook deliveries are sent from.
    runtime: tokio::runtime::Handle,
    /// The local repository each git-backed repo was mirrored from (for [`FakeForge::push_to_pr`]).
    sources: Mutex<BTreeMap<String, PathBuf>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// A fresh path for a fake's git mirrors (created on first use, removed on drop).
fn git_root_path(addr: SocketAddr) -> PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    std::env::temp_dir().join(format!("ccci-fake-forge-{}-{}-{nanos}", std::process::id(), addr.port()))
}

impl FakeForge {
    /// Starts a fake forge with [`Options::default`].
    pub fn start() -> FakeForge {
        FakeForge::start_with(Options::default())
    }

    /// Starts a fake forge on `127.0.0.1:0`.
    pub fn start_with(options: Options) -> FakeForge {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("non-blocking listener");
        let addr = listener.local_addr().expect("local address");
        let world = State::new(options.token, options.bot_login, options.utc_offset_secs);
        let shared = Shared {
            world: Arc::new(Mutex::new(world)),
            urls: Arc::new(Urls { web: format!("http://{addr}") }),
            hooks: Default::default(),
            git_root: Arc::new(git_root_path(addr)),
        };
        let app = routes::router(shared.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (handle_tx, handle_rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("fake-forge".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                let _ = handle_tx.send(runtime.handle().clone());
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                    // Not a graceful shutdown: idle keep-alive connections of clients under test
                    // must not keep the test waiting; dropping the runtime ends them.
                    tokio::select! {
                        _ = axum::serve(listener, app) => {}
                        _ = stopped => {}
                    }
                });
            })
            .expect("spawn the fake forge thread");
        let runtime = handle_rx.recv().expect("the fake forge's runtime started");
        FakeForge { addr, shared, runtime, sources: Mutex::default(), stop: Some(stop), thread: Some(thread) }
    }

    fn world(&self) -> MutexGuard<'_, State> {
        self.shared.lock()
    }

    /// The forge's root (web) URL, `http://127.0.0.1:PORT`: what a client is configured with.
    pub fn url(&self) -> String {
        self.shared.urls.web.clone()
    }

    /// The API root, `http://127.0.0.1:PORT/api/v1`.
    pub fn api_url(&self) -> String {
        self.shared.urls.api()
    }

    /// The socket the fake listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The token the fake accepts.
    pub fn token(&self) -> String {
        self.world().token.clone()
    }

    /// The login API calls are made as (the author of posted comments and statuses).
    pub fn bot_login(&self) -> String {
        self.world().bot.clone()
    }

    // ----- clock -----

    /// Freezes the fake's clock at `unix` seconds (posted comments, edits and statuses get it).
    pub fn set_now(&self, unix: i64) {
        self.world().clock = Some(unix);
    }

    /// Back to the wall clock.
    pub fn clear_now(&self) {
        self.world().clock = None;
    }

    /// The fake's current time in Unix seconds.
    pub fn now(&self) -> i64 {
        self.world().now()
    }

    // ----- repositories -----

    /// Creates `owner/name` (idempotent).
    pub fn create_repo(&self, full_name: &str) {
        let (owner, name) = full_name.split_once('/').expect("repository as owner/name");
        let mut world = self.world();
        if world.repos.contains_key(full_name) {
            return;
        }
        world.user_id(owner);
        let id = world.next_id() as i64;
        let repo = Repo {
            owner: owner.into(),
            name: name.into(),
            id,
            pulls: BTreeMap::new(),
            issues: Default::default(),
            tags: Vec::new(),
        };
        world.repos.insert(full_name.to_string(), repo);
    }

    fn with_repo<T>(&self, full_name: &str, f: impl FnOnce(&mut State, &mut Repo) -> T) -> T {
        let mut world = self.world();
        let mut repo = world.repos.remove(full_name).unwrap_or_else(|| panic!("fake forge: no repository {full_name}"));
        let out = f(&mut world, &mut repo);
        world.repos.insert(full_name.to_string(), repo);
        out
    }

    // ----- git repositories -----

    /// Creates `owner/name` like [`FakeForge::create_repo`], backed by a bare mirror of the local
    /// git repository `source` (every branch and tag), served at the repo's `clone_url` (pushes with the token),
    /// `http://127.0.0.1:PORT/owner/name.git`. The mirror lives in a temporary directory owned by
    /// the fake. Panics if git fails or the repo already has a mirror.
    pub fn create_repo_from_git(&self, full_name: &str, source: &Path) {
        self.create_repo(full_name);
        let dest = git::mirror_dir(&self.shared.git_root, full_name);
        assert!(!dest.exists(), "fake forge: {full_name} already has a git repository");
        git::mirror(source, &dest).unwrap_or_else(|e| panic!("fake forge: mirroring {}: {e}", source.display()));
        let source = source.canonicalize().unwrap_or_else(|_| source.to_path_buf());
        self.sources.lock().unwrap_or_else(|p| p.into_inner()).insert(full_name.to_string(), source);
    }

    /// The bare mirror behind a repo made by [`FakeForge::create_repo_from_git`].
    pub fn git_dir(&self, full_name: &str) -> PathBuf {
        let dir = git::mirror_dir(&self.shared.git_root, full_name);
        assert!(dir.join("HEAD").is_file(), "fake forge: {full_name} has no git repository");
        dir
    }

    /// The clone URL of `owner/name` (the repo JSON's `clone_url`).
    pub fn clone_url(&self, full_name: &str) -> String {
        format!("{}/{full_name}.git", self.shared.urls.web)
    }

    /// Opens pull request `number` from `branch` of a git-backed repo, as Gitea does: writes
    /// `refs/pull/{number}/head` at the branch's tip and adds the PR ([`PullSpec::new`], base
    /// `main` at its tip). Returns the head commit.
    pub fn open_pr_from_branch(&self, repo: &str, number: u64, branch: &str) -> String {
        let dir = self.git_dir(repo);
        let head = git::commit_of(&dir, &format!("refs/heads/{branch}")).unwrap_or_else(|e| panic!("fake forge: {e}"));
        git::run(&dir, &["update-ref", &format!("refs/pull/{number}/head"), &head])
            .unwrap_or_else(|e| panic!("fake forge: {e}"));
        self.add_pull(repo, PullSpec::new(number, &head, branch));
        if let Ok(base) = git::commit_of(&dir, "refs/heads/main") {
            self.with_repo(repo, |_, r| r.pulls.get_mut(&number).expect("just added").base_sha = base);
        }
        head
    }

    /// A push to pull request `number`'s branch: fetches `branch` again from the local repository
    /// the repo was mirrored from, moves `refs/pull/{number}/head` and the PR's head
    /// ([`FakeForge::set_pr_head`]) to its tip. Returns the new head commit.
    pub fn push_to_pr(&self, repo: &str, number: u64, branch: &str) -> String {
        let dir = self.git_dir(repo);
        let source = self.sources.lock().unwrap_or_else(|p| p.into_inner()).get(repo).cloned().expect("mirrored repo");
        let refspec = format!("+refs/heads/{branch}:refs/heads/{branch}");
        git::run(&dir, &["fetch", "--quiet", "--no-tags", &source.to_string_lossy(), &refspec])
            .unwrap_or_else(|e| panic!("fake forge: {e}"));
        let head = git::commit_of(&dir, &format!("refs/heads/{branch}")).unwrap_or_else(|e| panic!("fake forge: {e}"));
        git::run(&dir, &["update-ref", &format!("refs/pull/{number}/head"), &head])
            .unwrap_or_else(|e| panic!("fake forge: {e}"));
        self.set_pr_head(repo, number, &head);
        head
    }

    /// A push of every branch and tag of the local repository `source` to git-backed `repo`, as
    /// `git push --mirror` would do it: refs moved (forced where rewritten), added and removed
    /// (pull request refs stay), `HEAD` following `source`'s. What a maintainer's push to an
    /// upstream looks like.
    pub fn push_from(&self, repo: &str, source: &Path) {
        let dir = self.git_dir(repo);
        let source = source.to_string_lossy();
        git::run(
            &dir,
            &[
                "fetch",
                "--quiet",
                "--prune",
                "--force",
                "--",
                &source,
                "+refs/heads/*:refs/heads/*",
                "+refs/tags/*:refs/tags/*",
            ],
        )
        .unwrap_or_else(|e| panic!("fake forge: {e}"));
        let head = git::run(Path::new(source.as_ref()), &["symbolic-ref", "HEAD"])
            .unwrap_or_else(|e| panic!("fake forge: {e}"));
        git::run(&dir, &["symbolic-ref", "HEAD", &head]).unwrap_or_else(|e| panic!("fake forge: {e}"));
    }

    // ----- pull requests, issues, tags -----

    /// Whether pull request `number` of `repo` is open.
    pub fn pull_is_open(&self, repo: &str, number: u64) -> bool {
        self.with_repo(repo, |_, r| r.pulls.get(&number).expect("fake forge: no such pull request").open)
    }

    /// Adds an open pull request `number` with head `head_sha` on branch `head_ref`.
    pub fn add_pr(&self, repo: &str, number: u64, head_sha: &str, head_ref: &str) {
        self.add_pull(repo, PullSpec::new(number, head_sha, head_ref));
    }

    /// Adds a pull request.
    pub fn add_pull(&self, repo: &str, spec: PullSpec) {
        self.with_repo(repo, |world, r| {
            assert!(!r.issues.contains(&spec.number), "fake forge: #{} is an issue", spec.number);
            world.user_id(&spec.author);
            let (id, now) = (world.next_id() as i64, world.now());
            r.pulls.insert(
                spec.number,
                Pull {
                    number: spec.number,
                    id,
                    title: format!("Pull request {}", spec.number),
                    author: spec.author,
                    head_sha: spec.head_sha,
                    head_ref: spec.head_ref,
                    head_repo: true,
                    base_ref: spec.base_ref,
                    base_sha: "0".repeat(40),
                    open: spec.open,
                    created: now,
                    updated: now,
                },
            );
        })
    }

    /// Adds a plain issue `number`.
    pub fn add_issue(&self, repo: &str, number: u64) {
        self.with_repo(repo, |_, r| {
            assert!(!r.pulls.contains_key(&number), "fake forge: #{number} is a pull request");
            r.issues.insert(number);
        })
    }

    /// Moves a pull request's head to `sha` (a push to the branch).
    pub fn set_pr_head(&self, repo: &str, number: u64, sha: &str) {
        self.with_repo(repo, |world, r| {
            let now = world.now();
            let pull = r.pulls.get_mut(&number).expect("fake forge: no such pull request");
            pull.head_sha = sha.into();
            pull.updated = now;
        })
    }

    /// Opens or closes a pull request.
    pub fn set_pr_open(&self, repo: &str, number: u64, open: bool) {
        self.with_repo(repo, |_, r| r.pulls.get_mut(&number).expect("fake forge: no such pull request").open = open)
    }

    /// The head branch (or fork) was deleted: `head.ref` becomes `refs/pull/N/head`, `head.repo` null.
    /// In a git-backed repo the branch is deleted too: the head is then only reachable through
    /// `refs/pull/N/head`, as for a pull request from a fork.
    pub fn delete_pr_head_branch(&self, repo: &str, number: u64) {
        let branch = self.with_repo(repo, |_, r| {
            let pull = r.pulls.get_mut(&number).expect("fake forge: no such pull request");
            pull.head_repo = false;
            std::mem::replace(&mut pull.head_ref, format!("refs/pull/{number}/head"))
        });
        let dir = git::mirror_dir(&self.shared.git_root, repo);
        if dir.join("HEAD").is_file() && !branch.starts_with("refs/") {
            git::run(&dir, &["update-ref", "-d", &format!("refs/heads/{branch}")])
                .unwrap_or_else(|e| panic!("fake forge: {e}"));
        }
    }

    /// Adds tag `name` on `sha`, dated `at` (Unix seconds).
    pub fn add_tag(&self, repo: &str, name: &str, sha: &str, at: i64) {
        self.with_repo(repo, |_, r| r.tags.push(TagRec { name: name.into(), sha: sha.into(), created: at }))
    }

    // ----- comments -----

    /// Adds a comment by `user` on issue or PR `number`, posted at `at` (Unix seconds). Returns its id.
    /// With a webhook set ([`FakeForge::set_webhook`]), also sends its `created` delivery.
    pub fn add_comment(&self, repo: &str, number: u64, user: &str, body: &str, at: i64) -> u64 {
        let id = self.insert_comment(repo, number, user, body, at);
        self.deliver(id, HookAction::Created);
        id
    }

    fn insert_comment(&self, repo: &str, number: u64, user: &str, body: &str, at: i64) -> u64 {
        let mut world = self.world();
        let is_pull = world.issue_kind(repo, number).unwrap_or_else(|| panic!("fake forge: no #{number} in {repo}"));
        world.user_id(user);
        let id = world.next_id();
        world.comments.push(CommentRec {
            id,
            repo: repo.into(),
            number,
            is_pull,
            author: user.into(),
            body: body.into(),
            created: at,
            updated: at,
            via_api: false,
        });
        id
    }

    /// Edits comment `id` (as its author would in the web UI) at `at`: new body, new `updated_at`.
    /// With a webhook set, also sends its `edited` delivery (with the previous body).
    pub fn edit_comment(&self, id: u64, body: &str, at: i64) {
        let from = {
            let mut world = self.world();
            let comment = world.comments.iter_mut().find(|c| c.id == id).expect("fake forge: no such comment");
            comment.updated = at;
            std::mem::replace(&mut comment.body, body.into())
        };
        self.deliver(id, HookAction::Edited { from });
    }

    /// Every comment of `repo`, in creation order.
    pub fn comments(&self, repo: &str) -> Vec<CommentView> {
        let world = self.world();
        let mut out: Vec<CommentView> =
            world.comments.iter().filter(|c| c.repo == repo).map(CommentView::from).collect();
        out.sort_by_key(|c| (c.created, c.id));
        out
    }

    /// The comments posted through the API (by the client), in order, as they are now.
    pub fn posted_comments(&self) -> Vec<CommentView> {
        self.world().comments.iter().filter(|c| c.via_api).map(CommentView::from).collect()
    }

    /// Every edit made through the API, in order.
    pub fn edits(&self) -> Vec<Edit> {
        self.world().edits.clone()
    }

    /// Every commit status posted, in order.
    pub fn statuses(&self) -> Vec<PostedStatus> {
        self.world().statuses.clone()
    }

    // ----- organisations -----

    /// Sets the members of `org` (creating it). The bot stays a member unless
    /// [`FakeForge::set_bot_membership`] says otherwise.
    pub fn set_org_members(&self, org: &str, members: &[&str]) {
        let mut world = self.world();
        let bot = world.bot.clone();
        let entry = world.orgs.entry(org.to_string()).or_insert_with(|| {
            let mut org = Org::default();
            org.members.insert(bot.clone());
            org
        });
        let bot_member = entry.members.contains(&bot);
        entry.members = members.iter().map(|m| m.to_string()).collect();
        if bot_member {
            entry.members.insert(bot);
        }
    }

    /// Makes the bot a member of `org` or not (when not, membership checks answer 303).
    pub fn set_bot_membership(&self, org: &str, member: bool) {
        let mut world = self.world();
        let bot = world.bot.clone();
        let entry = world.orgs.entry(org.to_string()).or_default();
        if member {
            entry.members.insert(bot);
        } else {
            entry.members.remove(&bot);
        }
    }

    /// Sets which members of `org` are public.
    pub fn set_public_members(&self, org: &str, public: &[&str]) {
        let mut world = self.world();
        world.orgs.entry(org.to_string()).or_default().public = public.iter().map(|m| m.to_string()).collect();
    }

    // ----- faults -----

    /// The next `count` requests are answered `status` (503 for an outage, 429 for rate limiting),
    /// with `Retry-After: retry_after` seconds if given.
    pub fn fail_next(&self, count: u64, status: u16, retry_after: Option<u64>) {
        self.world().fault = (count > 0).then_some(Fault { status, retry_after, remaining: Some(count) });
    }

    /// Every API request waits `latency` before it is answered (a slow forge); zero to stop.
    pub fn set_latency(&self, latency: Duration) {
        self.world().latency = latency;
    }

    /// Every request is answered 503 until [`FakeForge::clear_outage`].
    pub fn start_outage(&self) {
        self.world().fault = Some(Fault { status: 503, retry_after: None, remaining: None });
    }

    /// Ends an outage or the rest of [`FakeForge::fail_next`].
    pub fn clear_outage(&self) {
        self.world().fault = None;
    }

    // ----- request log -----

    /// Every request served, in order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.world().log.clone()
    }

    /// Requests served per route name (`"unmatched"` for paths outside the table; git requests are
    /// `git_info_refs`, `git_upload_pack`, `git_receive_pack` or `git`).
    pub fn request_counts(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for record in &self.world().log {
            *counts.entry(record.route.clone()).or_insert(0) += 1;
        }
        counts
    }

    /// Requests served for one route.
    pub fn request_count(&self, route: &str) -> usize {
        self.world().log.iter().filter(|r| r.route == route).count()
    }

    /// Forgets the request log (e.g. between poll cycles of a benchmark).
    pub fn reset_requests(&self) {
        self.world().log.clear();
    }

    // ----- webhooks -----

    /// The webhook Gitea would send for comment `id` with `action` (its current body and author).
    pub fn comment_hook(&self, id: u64, action: HookAction) -> CommentHook {
        webhook::hook_for(&self.world(), &self.shared.urls.web, id, action).expect("fake forge: no such comment")
    }

    /// From now on, every comment added or edited (by [`FakeForge::add_comment`] and
    /// [`FakeForge::edit_comment`], or by the client through the API: Gitea sends the bot's own
    /// comments too) is POSTed to `url` as Gitea's signed `issue_comment` delivery, from the fake's
    /// runtime (the caller does not wait; see [`FakeForge::deliveries`]).
    pub fn set_webhook(&self, url: &str, secret: &str) {
        webhook::lock(&self.shared.hooks).target = Some((url.to_string(), secret.to_string()));
    }

    /// Stops sending webhooks.
    pub fn clear_webhook(&self) {
        webhook::lock(&self.shared.hooks).target = None;
    }

    /// Every delivery sent by the fake itself, in sending order, with what became of it so far.
    pub fn deliveries(&self) -> Vec<Delivery> {
        webhook::lock(&self.shared.hooks).deliveries.clone()
    }

    /// Waits (asynchronously) until at least `count` deliveries were sent and none is pending, or
    /// `timeout` passes; returns [`FakeForge::deliveries`] either way.
    pub async fn wait_for_deliveries(&self, count: usize, timeout: Duration) -> Vec<Delivery> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let deliveries = self.deliveries();
            let settled = deliveries.iter().all(|d| d.outcome != DeliveryOutcome::Pending);
            if (deliveries.len() >= count && settled) || tokio::time::Instant::now() >= deadline {
                return deliveries;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Sends delivery `delivery_id` again, byte for byte (same id, body and URL), as a new entry of
    /// [`FakeForge::deliveries`]. Panics if the fake never sent it.
    pub fn redeliver(&self, delivery_id: &str) {
        assert!(
            webhook::redeliver(&self.shared.hooks, &self.runtime, delivery_id),
            "fake forge: no delivery {delivery_id}"
        );
    }

    fn deliver(&self, id: u64, action: HookAction) {
        if webhook::lock(&self.shared.hooks).target.is_none() {
            return;
        }
        let hook = self.comment_hook(id, action);
        webhook::deliver(&self.shared.hooks, &self.runtime, None, hook);
    }
}

impl Drop for FakeForge {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        if self.shared.git_root.exists() {
            let _ = std::fs::remove_dir_all(self.shared.git_root.as_path());
        }
    }
}
