//! The forge's JSON, reduced to the fields the CI uses, plus a repository name type.
//!
//! Unknown fields are ignored (Forgejo adds a few); fields the forge may send as `null` or leave
//! out are `Option`s or default to empty.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Error;

/// `owner/name` of a repository.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepoRef {
    pub owner: String,
    pub name: String,
}

impl RepoRef {
    pub fn new(owner: impl Into<String>, name: impl Into<String>) -> RepoRef {
        RepoRef { owner: owner.into(), name: name.into() }
    }
}

impl fmt::Display for RepoRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

impl FromStr for RepoRef {
    type Err = Error;

    fn from_str(s: &str) -> Result<RepoRef, Error> {
        let valid = |part: &str| !part.is_empty() && part != "." && part != ".." && !part.contains(char::is_whitespace);
        match s.split_once('/') {
            Some((owner, name)) if valid(owner) && valid(name) && !name.contains('/') => Ok(RepoRef::new(owner, name)),
            _ => Err(Error::Config(format!("repository {s:?} is not of the form owner/name"))),
        }
    }
}

/// A forge user (only the login matters to the CI).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct User {
    #[serde(default)]
    pub id: i64,
    pub login: String,
}

/// One side (head or base) of a pull request.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Branch {
    /// Branch name; becomes `refs/pull/{n}/head` once the head branch is deleted.
    #[serde(rename = "ref", default)]
    pub git_ref: String,
    /// The commit; for the head, the commit to test.
    #[serde(default)]
    pub sha: String,
    /// `null` when the head fork was deleted.
    #[serde(default)]
    pub repo: Option<BranchRepo>,
}

/// The repository of a [`Branch`], when it still exists.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BranchRepo {
    #[serde(default)]
    pub full_name: String,
    #[serde(default)]
    pub clone_url: String,
}

/// A pull request.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PullRequest {
    pub number: u64,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub html_url: String,
    pub head: Branch,
    pub base: Branch,
    #[serde(default)]
    pub user: Option<User>,
}

impl PullRequest {
    /// The ref that always exists in the base repository, deleted head branch or not.
    pub fn pull_ref(&self) -> String {
        format!("refs/pull/{}/head", self.number)
    }
}

/// An issue or pull request comment.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Comment {
    pub id: u64,
    #[serde(default)]
    pub body: String,
    pub user: Option<User>,
    #[serde(default)]
    pub html_url: String,
    /// Web URL of the issue, empty when the comment is on a pull request.
    #[serde(default)]
    pub issue_url: String,
    /// Web URL of the pull request, empty when the comment is on an issue.
    #[serde(default)]
    pub pull_request_url: String,
    pub created_at: DateTime<Utc>,
    /// Changes on every edit; the repo-wide `since` filter compares against it.
    pub updated_at: DateTime<Utc>,
}

impl Comment {
    /// The commenter's login (empty when the forge sent no user, e.g. a migrated comment).
    pub fn author(&self) -> &str {
        self.user.as_ref().map(|u| u.login.as_str()).unwrap_or("")
    }

    /// The pull request number, when the comment is on a pull request: the last path segment of
    /// the (web) `pull_request_url`.
    pub fn pull_number(&self) -> Option<u64> {
        last_segment_number(&self.pull_request_url)
    }

    /// The issue or pull request number the comment belongs to.
    pub fn issue_number(&self) -> Option<u64> {
        self.pull_number().or_else(|| last_segment_number(&self.issue_url))
    }

    /// Whether the comment was edited after it was posted.
    pub fn is_edited(&self) -> bool {
        self.updated_at > self.created_at
    }
}

fn last_segment_number(url: &str) -> Option<u64> {
    let url = url.trim();
    if url.is_empty() {
        return None;
    }
    let path = url.split(['?', '#']).next().unwrap_or("");
    path.trim_end_matches('/').rsplit('/').next()?.parse().ok()
}

/// The newest `updated_at` among `comments`, to persist as the next `since` mark. Results are
/// ordered by creation, not update, so this is a maximum, not the last element.
pub fn high_water_mark<'a>(comments: impl IntoIterator<Item = &'a Comment>) -> Option<DateTime<Utc>> {
    comments.into_iter().map(|c| c.updated_at).max()
}

/// State of a commit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusState {
    Pending,
    Success,
    Failure,
    Error,
    /// Newer servers only; never sent by the CI but accepted in answers.
    Warning,
    /// Newer servers only; never sent by the CI but accepted in answers.
    Skipped,
}

impl StatusState {
    pub fn as_str(self) -> &'static str {
        match self {
            StatusState::Pending => "pending",
            StatusState::Success => "success",
            StatusState::Failure => "failure",
            StatusState::Error => "error",
            StatusState::Warning => "warning",
            StatusState::Skipped => "skipped",
        }
    }
}

/// A commit status to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewStatus {
    pub state: StatusState,
    pub context: String,
    pub description: String,
    pub target_url: String,
}

/// A commit status as the forge stored it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CommitStatus {
    #[serde(default)]
    pub id: u64,
    /// Named `status` in the answer although the request calls it `state`.
    #[serde(rename = "status")]
    pub state: StatusState,
    #[serde(default)]
    pub context: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub target_url: String,
}

/// A git tag of a repository.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Tag {
    pub name: String,
    /// The tag object's id (the commit's for a lightweight tag).
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub commit: Option<TagCommit>,
}

/// The commit a [`Tag`] points at.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TagCommit {
    #[serde(default)]
    pub sha: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_ref_parses_owner_slash_name() {
        assert_eq!("coop-cloud/gitea".parse::<RepoRef>().unwrap(), RepoRef::new("coop-cloud", "gitea"));
        for bad in ["", "a", "a/", "/b", "a/b/c", "a b/c", "../x"] {
            assert!(bad.parse::<RepoRef>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn numbers_come_from_web_urls() {
        assert_eq!(last_segment_number("https://git.example.org/o/r/pulls/12"), Some(12));
        assert_eq!(last_segment_number("https://git.example.org/o/r/issues/3/"), Some(3));
        assert_eq!(last_segment_number("https://git.example.org/o/r/pulls/12#issuecomment-5"), Some(12));
        assert_eq!(last_segment_number(""), None);
    }
}
