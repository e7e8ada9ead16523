//! A fake Gitea/Forgejo server for tests: a stateful HTTP server on loopback serving the API subset
//! the forge client uses ([`ROUTES`]), with Gitea's quirks (FORGE-NOTES.md), a programmatic API
//! to set the world up and read what the client did, fault injection, per-route request counts,
//! and signed webhook deliveries ([`send_comment_webhook`]).
//!
//! The server runs on its own thread and runtime, so it works from sync and async tests alike; it
//! stops when the [`FakeForge`] is dropped.

mod handlers;
mod json;
mod paging;
mod routes;
mod state;
pub mod swagger;
mod webhook;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

pub use routes::{Route, ROUTES};
pub use state::{CommentView, Edit, PostedStatus, RequestRecord};
pub use webhook::{comment_webhook_request, send_comment_webhook, CommentHook, HookAction, WebhookRequest};

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
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
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
        let shared =
            Shared { world: Arc::new(Mutex::new(world)), urls: Arc::new(Urls { web: format!("http://{addr}") }) };
        let app = routes::router(shared.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("fake-forge".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
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
        FakeForge { addr, shared, stop: Some(stop), thread: Some(thread) }
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

    // ----- repositories, pulls, issues, tags -----

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
    pub fn delete_pr_head_branch(&self, repo: &str, number: u64) {
        self.with_repo(repo, |_, r| {
            let pull = r.pulls.get_mut(&number).expect("fake forge: no such pull request");
            pull.head_ref = format!("refs/pull/{number}/head");
            pull.head_repo = false;
        })
    }

    /// Adds tag `name` on `sha`, dated `at` (Unix seconds).
    pub fn add_tag(&self, repo: &str, name: &str, sha: &str, at: i64) {
        self.with_repo(repo, |_, r| r.tags.push(TagRec { name: name.into(), sha: sha.into(), created: at }))
    }

    // ----- comments -----

    /// Adds a comment by `user` on issue or PR `number`, posted at `at` (Unix seconds). Returns its id.
    pub fn add_comment(&self, repo: &str, number: u64, user: &str, body: &str, at: i64) -> u64 {
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
    pub fn edit_comment(&self, id: u64, body: &str, at: i64) {
        let mut world = self.world();
        let comment = world.comments.iter_mut().find(|c| c.id == id).expect("fake forge: no such comment");
        comment.body = body.into();
        comment.updated = at;
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

    /// Requests served per route name (`"unmatched"` for paths outside the table).
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
        let world = self.world();
        let c = world.comments.iter().find(|c| c.id == id).expect("fake forge: no such comment");
        let pull = world.repos.get(&c.repo).and_then(|r| r.pulls.get(&c.number));
        CommentHook {
            forge_url: self.shared.urls.web.clone(),
            repo: c.repo.clone(),
            number: c.number,
            is_pull: c.is_pull,
            head_sha: pull.map(|p| p.head_sha.clone()),
            comment_id: c.id,
            author: c.author.clone(),
            body: c.body.clone(),
            sender: c.author.clone(),
            action,
            created: c.created,
            updated: c.updated,
        }
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
    }
}
