//! The fake forge's world: users, repositories with pull requests, comments, statuses and tags,
//! organisations, the clock, injected faults and the log of every request served.
//!
//! Times are whole Unix seconds, as Gitea stores them (the one-second resolution of `since`).

use std::collections::{BTreeMap, BTreeSet};

/// One repository.
#[derive(Debug, Clone)]
pub(crate) struct Repo {
    pub owner: String,
    pub name: String,
    pub id: i64,
    pub pulls: BTreeMap<u64, Pull>,
    pub issues: BTreeSet<u64>,
    pub tags: Vec<TagRec>,
}

/// One pull request.
#[derive(Debug, Clone)]
pub(crate) struct Pull {
    pub number: u64,
    pub id: i64,
    pub title: String,
    pub author: String,
    pub head_sha: String,
    pub head_ref: String,
    /// `false` once the head fork was deleted: `head.repo` is then `null`.
    pub head_repo: bool,
    pub base_ref: String,
    pub base_sha: String,
    pub open: bool,
    pub created: i64,
    pub updated: i64,
}

/// One comment, on an issue or a pull request.
#[derive(Debug, Clone)]
pub(crate) struct CommentRec {
    pub id: u64,
    pub repo: String,
    pub number: u64,
    pub is_pull: bool,
    pub author: String,
    pub body: String,
    pub created: i64,
    pub updated: i64,
    /// Posted through the API (by the client under test) rather than set up by the test.
    pub via_api: bool,
}

/// One tag.
#[derive(Debug, Clone)]
pub(crate) struct TagRec {
    pub name: String,
    pub sha: String,
    pub created: i64,
}

/// One commit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostedStatus {
    pub id: u64,
    /// `owner/name`.
    pub repo: String,
    pub sha: String,
    pub state: String,
    pub context: String,
    pub description: String,
    pub target_url: String,
    pub creator: String,
    pub created: i64,
}

/// One comment edit made through the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub repo: String,
    pub comment_id: u64,
    pub body: String,
    pub at: i64,
}

/// A comment as the test sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentView {
    pub id: u64,
    /// `owner/name`.
    pub repo: String,
    pub number: u64,
    pub author: String,
    pub body: String,
    pub created: i64,
    pub updated: i64,
    pub via_api: bool,
}

impl From<&CommentRec> for CommentView {
    fn from(c: &CommentRec) -> Self {
        CommentView {
            id: c.id,
            repo: c.repo.clone(),
            number: c.number,
            author: c.author.clone(),
            body: c.body.clone(),
            created: c.created,
            updated: c.updated,
            via_api: c.via_api,
        }
    }
}

/// An organisation: its members and which of them are public.
#[derive(Debug, Clone, Default)]
pub(crate) struct Org {
    pub members: BTreeSet<String>,
    pub public: BTreeSet<String>,
}

/// An injected fault: the next `remaining` requests (all of them while `None`) get `status`.
#[derive(Debug, Clone)]
pub(crate) struct Fault {
    pub status: u16,
    pub retry_after: Option<u64>,
    pub remaining: Option<u64>,
}

/// One request the fake served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    pub method: String,
    /// The route's name in [`super::ROUTES`], or `"unmatched"`.
    pub route: String,
    /// Path and query exactly as received.
    pub uri: String,
    /// The `Authorization` header as received.
    pub authorization: Option<String>,
    /// The status the fake answered with.
    pub status: u16,
}

/// The whole world behind one fake forge.
#[derive(Debug)]
pub(crate) struct State {
    pub token: String,
    pub bot: String,
    pub offset_secs: i32,
    pub clock: Option<i64>,
    pub users: BTreeMap<String, i64>,
    pub repos: BTreeMap<String, Repo>,
    pub comments: Vec<CommentRec>,
    pub statuses: Vec<PostedStatus>,
    pub edits: Vec<Edit>,
    pub orgs: BTreeMap<String, Org>,
    pub fault: Option<Fault>,
    /// How long every API request waits before it is answered (a slow forge).
    pub latency: std::time::Duration,
    pub log: Vec<RequestRecord>,
    pub next_id: u64,
    pub max_limit: usize,
    pub default_limit: usize,
}

impl State {
    pub fn new(token: String, bot: String, offset_secs: i32) -> State {
        let mut state = State {
            token,
            bot: bot.clone(),
            offset_secs,
            clock: None,
            users: BTreeMap::new(),
            repos: BTreeMap::new(),
            comments: Vec::new(),
            statuses: Vec::new(),
            edits: Vec::new(),
            orgs: BTreeMap::new(),
            fault: None,
            latency: std::time::Duration::ZERO,
            log: Vec::new(),
            next_id: 1,
            max_limit: 50,
            default_limit: 30,
        };
        state.user_id(&bot);
        state
    }

    /// Current time of the fake: the test's clock if set, else the wall clock.
    pub fn now(&self) -> i64 {
        self.clock.unwrap_or_else(|| chrono::Utc::now().timestamp())
    }

    /// A fresh id (comments, statuses, pulls, repos share one counter, as ids are opaque).
    pub fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// The id of `login`, registering the user on first sight.
    pub fn user_id(&mut self, login: &str) -> i64 {
        let next = self.users.len() as i64 + 1;
        *self.users.entry(login.to_string()).or_insert(next)
    }

    /// The repository `owner/name`, if it exists.
    pub fn repo(&self, owner: &str, name: &str) -> Option<&Repo> {
        self.repos.get(&format!("{owner}/{name}"))
    }

    /// Whether `number` is an issue or pull request of the repo, and whether it is a pull.
    pub fn issue_kind(&self, full_name: &str, number: u64) -> Option<bool> {
        let repo = self.repos.get(full_name)?;
        if repo.pulls.contains_key(&number) {
            Some(true)
        } else if repo.issues.contains(&number) {
            Some(false)
        } else {
            None
        }
    }

    /// Takes one request's worth of the injected fault, if any.
    pub fn take_fault(&mut self) -> Option<(u16, Option<u64>)> {
        let fault = self.fault.as_mut()?;
        let answer = (fault.status, fault.retry_after);
        match fault.remaining {
            None => {}
            Some(0) | Some(1) => self.fault = None,
            Some(n) => fault.remaining = Some(n - 1),
        }
        Some(answer)
    }
}
