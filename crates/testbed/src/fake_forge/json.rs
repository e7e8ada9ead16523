//! Rendering the fake's records as Gitea renders them: times in the server's own offset (not
//! UTC), `issue_url`/`pull_request_url` as web URLs, the commit status state named `status`,
//! `null` where Gitea sends `null` (deleted head repo, unmerged PR fields).

use chrono::{FixedOffset, TimeZone};
use serde_json::{json, Value};

use super::state::{CommentRec, PostedStatus, Pull, Repo, State, TagRec};

/// Where the fake is reachable, to build web and API URLs.
pub(crate) struct Urls {
    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub web: String,
}

impl Urls {
    pub fn api(&self) -> String {
        format!("{}/api/v1", self.web)
    }
}

/// RFC 3339 in the fake server's local offset, e.g. `2024-05-01T12:00:00+02:00`.
pub(crate) fn time(state: &State, unix: i64) -> String {
    let offset = FixedOffset::east_opt(state.offset_secs).expect("offset within a day");
    offset.timestamp_opt(unix, 0).single().expect("valid unix time").to_rfc3339()
}

pub(crate) fn user(state: &State, urls: &Urls, login: &str) -> Value {
    let id = state.users.get(login).copied().unwrap_or(0);
    json!({
        "id": id,
        "login": login,
        "login_name": "",
        "source_id": 0,
        "full_name": "",
        "email": format!("{login}@noreply.localhost"),
        "avatar_url": format!("{}/avatars/{id}", urls.web),
        "html_url": format!("{}/{login}", urls.web),
        "language": "",
        "is_admin": false,
        "last_login": time(state, 0),
        "created": time(state, 0),
        "restricted": false,
        "active": true,
        "prohibit_login": false,
        "location": "",
        "website": "",
        "description": "",
        "visibility": "public",
        "followers_count": 0,
        "following_count": 0,
        "starred_repos_count": 0
    })
}

pub(crate) fn repository(state: &State, urls: &Urls, repo: &Repo) -> Value {
    let full = format!("{}/{}", repo.owner, repo.name);
    json!({
        "id": repo.id,
        "owner": user(state, urls, &repo.owner),
        "name": repo.name,
        "full_name": full,
        "description": "",
        "empty": false,
        "private": false,
        "fork": false,
        "template": false,
        "parent": null,
        "mirror": false,
        "size": 0,
        "html_url": format!("{}/{full}", urls.web),
        "url": format!("{}/repos/{full}", urls.api()),
        "clone_url": format!("{}/{full}.git", urls.web),
        "ssh_url": "",
        "website": "",
        "default_branch": "main",
        "archived": false,
        "created_at": time(state, 0),
        "updated_at": time(state, 0),
        "has_issues": true,
        "has_pull_requests": true,
        "open_issues_count": repo.issues.len(),
        "open_pr_counter": repo.pulls.values().filter(|p| p.open).count(),
        "object_format_name": "sha1"
    })
}

fn branch(state: &State, urls: &Urls, repo: &Repo, git_ref: &str, sha: &str, with_repo: bool) -> Value {
    json!({
        "label": git_ref,
        "ref": git_ref,
        "sha": sha,
        "repo_id": if with_repo { repo.id } else { 0 },
        "repo": if with_repo { repository(state, urls, repo) } else { Value::Null },
    })
}

pub(crate) fn pull(state: &State, urls: &Urls, repo: &Repo, pull: &Pull) -> Value {
    let full = format!("{}/{}", repo.owner, repo.name);
    let web = format!("{}/{full}/pulls/{}", urls.web, pull.number);
    let comments = state.comments.iter().filter(|c| c.repo == full && c.number == pull.number).count();
    json!({
        "id": pull.id,
        "url": web,
        "number": pull.number,
        "user": user(state, urls, &pull.author),
        "title": pull.title,
        "body": "",
        "labels": [],
        "milestone": null,
        "assignee": null,
        "assignees": null,
        "requested_reviewers": null,
        "state": if pull.open { "open" } else { "closed" },
        "draft": false,
        "is_locked": false,
        "comments": comments,
        "review_comments": 0,
        "additions": 1,
        "deletions": 0,
        "changed_files": 1,
        "html_url": web,
        "diff_url": format!("{web}.diff"),
        "patch_url": format!("{web}.patch"),
        "mergeable": true,
        "merged": false,
        "merged_at": null,
        "merge_commit_sha": null,
        "merged_by": null,
        "allow_maintainer_edit": false,
        "base": branch(state, urls, repo, &pull.base_ref, &pull.base_sha, true),
        "head": branch(state, urls, repo, &pull.head_ref, &pull.head_sha, pull.head_repo),
        "merge_base": pull.base_sha,
        "due_date": null,
        "created_at": time(state, pull.created),
        "updated_at": time(state, pull.updated),
        "closed_at": if pull.open { Value::Null } else { json!(time(state, pull.updated)) },
        "pin_order": 0
    })
}

pub(crate) fn comment(state: &State, urls: &Urls, c: &CommentRec) -> Value {
    let kind = if c.is_pull { "pulls" } else { "issues" };
    let web = format!("{}/{}/{kind}/{}", urls.web, c.repo, c.number);
    json!({
        "id": c.id,
        "html_url": format!("{web}#issuecomment-{}", c.id),
        "pull_request_url": if c.is_pull { web.clone() } else { String::new() },
        "issue_url": if c.is_pull { String::new() } else { web },
        "user": user(state, urls, &c.author),
        "original_author": "",
        "original_author_id": 0,
        "body": c.body,
        "assets": [],
        "created_at": time(state, c.created),
        "updated_at": time(state, c.updated)
    })
}

pub(crate) fn status(state: &State, urls: &Urls, s: &PostedStatus) -> Value {
    json!({
        "id": s.id,
        "status": s.state,
        "target_url": s.target_url,
        "description": s.description,
        "url": format!("{}/repos/{}/statuses/{}", urls.api(), s.repo, s.sha),
        "context": s.context,
        "creator": user(state, urls, &s.creator),
        "created_at": time(state, s.created),
        "updated_at": time(state, s.created)
    })
}

pub(crate) fn tag(state: &State, urls: &Urls, repo: &Repo, t: &TagRec) -> Value {
    let full = format!("{}/{}", repo.owner, repo.name);
    json!({
        "name": t.name,
        "message": "",
        "id": t.sha,
        "commit": {
            "url": format!("{}/repos/{full}/git/commits/{}", urls.api(), t.sha),
            "sha": t.sha,
            "created": time(state, t.created)
        },
        "zipball_url": format!("{}/{full}/archive/{}.zip", urls.web, t.name),
        "tarball_url": format!("{}/{full}/archive/{}.tar.gz", urls.web, t.name)
    })
}

/// Gitea's error body.
pub(crate) fn error(urls: &Urls, message: &str) -> Value {
    json!({ "message": message, "url": format!("{}/swagger", urls.api()) })
}
