//! The fake forge's answers, one function per route, each reproducing Gitea's behaviour and quirks
//! for that operation (see FORGE-NOTES.md): `since` on `updated_at`, inclusive, whole seconds;
//! absent PR `state` means all; 303 membership redirect when the bot is not an org member; the
//! commit status answer's `status` field.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::Json;
use serde::Deserialize;

use super::json;
use super::paging::Page;
use super::routes::{answer, Shared};
use super::state::{CommentRec, Edit, PostedStatus};

type Params = Query<BTreeMap<String, String>>;

/// The handler of route `name` as a method router for `filter`.
pub(crate) fn method_router(name: &str, filter: MethodFilter) -> MethodRouter<Shared> {
    match name {
        "list_pulls" => on(filter, list_pulls),
        "get_pull" => on(filter, get_pull),
        "edit_pull" => on(filter, edit_pull),
        "repo_comments" => on(filter, repo_comments),
        "issue_comments" => on(filter, issue_comments),
        "post_comment" => on(filter, post_comment),
        "edit_comment" => on(filter, edit_comment),
        "org_member" => on(filter, org_member),
        "org_public_member" => on(filter, org_public_member),
        "create_status" => on(filter, create_status),
        "list_tags" => on(filter, list_tags),
        other => panic!("route table names {other}, which has no handler"),
    }
}

fn not_found(shared: &Shared, what: &str) -> Response {
    answer(404, Some(json::error(&shared.urls, &format!("{what} does not exist"))), &[])
}

fn unprocessable(shared: &Shared, message: &str) -> Response {
    answer(422, Some(json::error(&shared.urls, message)), &[])
}

async fn list_pulls(
    State(shared): State<Shared>,
    Path((owner, name)): Path<(String, String)>,
    Query(query): Params,
) -> Response {
    let world = shared.lock();
    let Some(repo) = world.repo(&owner, &name) else { return not_found(&shared, "repository") };
    // quirk: an absent `state` means all pull requests, not the spec's default "open".
    let keep: fn(bool) -> bool = match query.get("state").map(String::as_str) {
        None | Some("all") => |_| true,
        Some("open") => |open| open,
        Some("closed") => |open| !open,
        Some(other) => return unprocessable(&shared, &format!("invalid state {other:?}")),
    };
    let mut pulls: Vec<_> = repo.pulls.values().filter(|p| keep(p.open)).collect();
    pulls.sort_by(|a, b| b.updated.cmp(&a.updated).then(b.number.cmp(&a.number)));
    let page = Page::from_query(&query, world.default_limit, world.max_limit);
    let items: Vec<_> = page.slice(&pulls).into_iter().map(|p| json::pull(&world, &shared.urls, repo, p)).collect();
    let url = format!("{}/repos/{owner}/{name}/pulls", shared.urls.api());
    let mut headers = vec![("x-total-count", pulls.len().to_string())];
    if let Some(link) = page.link(&url, &query, pulls.len()) {
        headers.push(("link", link));
    }
    answer(200, Some(items.into()), &headers)
}

async fn get_pull(State(shared): State<Shared>, Path((owner, name, index)): Path<(String, String, u64)>) -> Response {
    let world = shared.lock();
    let Some(repo) = world.repo(&owner, &name) else { return not_found(&shared, "repository") };
    let Some(pull) = repo.pulls.get(&index) else { return not_found(&shared, "pull request") };
    answer(200, Some(json::pull(&world, &shared.urls, repo, pull)), &[])
}

/// `EditPullRequestOption`, of which the fake implements the state (any other field is refused).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EditPullOption {
    state: Option<String>,
}

/// quirk: editing a pull request answers 201, not 200.
async fn edit_pull(
    State(shared): State<Shared>,
    Path((owner, name, index)): Path<(String, String, u64)>,
    Json(option): Json<EditPullOption>,
) -> Response {
    let open = match option.state.as_deref() {
        None => None,
        Some("closed") => Some(false),
        Some("open") => Some(true),
        Some(other) => return unprocessable(&shared, &format!("invalid state {other:?}")),
    };
    let mut world = shared.lock();
    let now = world.now();
    let full = format!("{owner}/{name}");
    let Some(repo) = world.repos.get_mut(&full) else { return not_found(&shared, "repository") };
    let Some(pull) = repo.pulls.get_mut(&index) else { return not_found(&shared, "pull request") };
    if let Some(open) = open {
        pull.open = open;
    }
    pull.updated = now;
    let repo = &world.repos[&full];
    answer(201, Some(json::pull(&world, &shared.urls, repo, &repo.pulls[&index])), &[])
}

/// `since` as whole Unix seconds (the forge's resolution), `None` when absent.
fn since(query: &BTreeMap<String, String>) -> Result<Option<i64>, String> {
    match query.get("since") {
        None => Ok(None),
        Some(text) => chrono::DateTime::parse_from_rfc3339(text)
            .map(|t| Some(t.timestamp()))
            .map_err(|e| format!("invalid since {text:?}: {e}")),
    }
}

async fn repo_comments(
    State(shared): State<Shared>,
    Path((owner, name)): Path<(String, String)>,
    Query(query): Params,
) -> Response {
    let world = shared.lock();
    if world.repo(&owner, &name).is_none() {
        return not_found(&shared, "repository");
    }
    let since = match since(&query) {
        Ok(since) => since,
        Err(message) => return unprocessable(&shared, &message),
    };
    let full = format!("{owner}/{name}");
    // quirk: `since` compares with updated_at, inclusively; results are ordered by creation.
    let mut comments: Vec<&CommentRec> =
        world.comments.iter().filter(|c| c.repo == full && since.is_none_or(|s| c.updated >= s)).collect();
    comments.sort_by_key(|c| (c.created, c.id));
    let page = Page::from_query(&query, world.default_limit, world.max_limit);
    let items: Vec<_> = page.slice(&comments).into_iter().map(|c| json::comment(&world, &shared.urls, c)).collect();
    // quirk: X-Total-Count but no Link header on this listing.
    answer(200, Some(items.into()), &[("x-total-count", comments.len().to_string())])
}

async fn issue_comments(
    State(shared): State<Shared>,
    Path((owner, name, index)): Path<(String, String, u64)>,
    Query(query): Params,
) -> Response {
    let world = shared.lock();
    let full = format!("{owner}/{name}");
    if world.issue_kind(&full, index).is_none() {
        return not_found(&shared, "issue");
    }
    let since = match since(&query) {
        Ok(since) => since,
        Err(message) => return unprocessable(&shared, &message),
    };
    // quirk: not paginated at all.
    let mut comments: Vec<&CommentRec> = world
        .comments
        .iter()
        .filter(|c| c.repo == full && c.number == index && since.is_none_or(|s| c.updated >= s))
        .collect();
    comments.sort_by_key(|c| (c.created, c.id));
    let items: Vec<_> = comments.into_iter().map(|c| json::comment(&world, &shared.urls, c)).collect();
    answer(200, Some(items.into()), &[])
}

/// `CreateIssueCommentOption` / `EditIssueCommentOption`; unknown fields are refused so the client
/// cannot send anything the spec does not declare.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CommentOption {
    body: String,
}

async fn post_comment(
    State(shared): State<Shared>,
    Path((owner, name, index)): Path<(String, String, u64)>,
    Json(option): Json<CommentOption>,
) -> Response {
    let mut world = shared.lock();
    let full = format!("{owner}/{name}");
    let Some(is_pull) = world.issue_kind(&full, index) else { return not_found(&shared, "issue") };
    if option.body.trim().is_empty() {
        return unprocessable(&shared, "body is required");
    }
    let (id, now, author) = (world.next_id(), world.now(), world.bot.clone());
    let comment = CommentRec {
        id,
        repo: full,
        number: index,
        is_pull,
        author,
        body: option.body,
        created: now,
        updated: now,
        via_api: true,
    };
    let body = json::comment(&world, &shared.urls, &comment);
    world.comments.push(comment);
    answer(201, Some(body), &[])
}

async fn edit_comment(
    State(shared): State<Shared>,
    Path((owner, name, id)): Path<(String, String, u64)>,
    Json(option): Json<CommentOption>,
) -> Response {
    let mut world = shared.lock();
    let full = format!("{owner}/{name}");
    let (now, bot) = (world.now(), world.bot.clone());
    let Some(index) = world.comments.iter().position(|c| c.id == id && c.repo == full) else {
        return not_found(&shared, "comment");
    };
    if world.comments[index].author != bot {
        return answer(403, Some(json::error(&shared.urls, "only the poster may edit a comment")), &[]);
    }
    let comment = &mut world.comments[index];
    comment.body = option.body.clone();
    comment.updated = now;
    let comment = comment.clone();
    world.edits.push(Edit { repo: full, comment_id: id, body: option.body, at: now });
    answer(200, Some(json::comment(&world, &shared.urls, &comment)), &[])
}

async fn org_member(State(shared): State<Shared>, Path((org, user)): Path<(String, String)>) -> Response {
    let world = shared.lock();
    let Some(members) = world.orgs.get(&org) else { return not_found(&shared, "organization") };
    if !members.members.contains(&world.bot) {
        // quirk: a bot outside the org is sent to the public-members check.
        let location = format!("{}/orgs/{org}/public_members/{user}", shared.urls.api());
        return answer(303, None, &[("location", location)]);
    }
    answer(if members.members.contains(&user) { 204 } else { 404 }, None, &[])
}

async fn org_public_member(State(shared): State<Shared>, Path((org, user)): Path<(String, String)>) -> Response {
    let world = shared.lock();
    let Some(members) = world.orgs.get(&org) else { return not_found(&shared, "organization") };
    answer(if members.public.contains(&user) { 204 } else { 404 }, None, &[])
}

/// `CreateStatusOption`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusOption {
    state: String,
    #[serde(default)]
    target_url: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    context: String,
}

async fn create_status(
    State(shared): State<Shared>,
    Path((owner, name, sha)): Path<(String, String, String)>,
    Json(option): Json<StatusOption>,
) -> Response {
    let mut world = shared.lock();
    if world.repo(&owner, &name).is_none() {
        return not_found(&shared, "repository");
    }
    if !["pending", "success", "error", "failure", "warning", "skipped"].contains(&option.state.as_str()) {
        return answer(400, Some(json::error(&shared.urls, "invalid commit status state")), &[]);
    }
    let status = PostedStatus {
        id: world.next_id(),
        repo: format!("{owner}/{name}"),
        sha,
        state: option.state,
        context: option.context,
        description: option.description,
        target_url: option.target_url,
        creator: world.bot.clone(),
        created: world.now(),
    };
    let body = json::status(&world, &shared.urls, &status);
    world.statuses.push(status);
    answer(201, Some(body), &[])
}

async fn list_tags(
    State(shared): State<Shared>,
    Path((owner, name)): Path<(String, String)>,
    Query(query): Params,
) -> Response {
    let world = shared.lock();
    let Some(repo) = world.repo(&owner, &name) else { return not_found(&shared, "repository") };
    // Newest tag first, by tag date (not by version).
    let mut tags: Vec<_> = repo.tags.iter().collect();
    tags.sort_by(|a, b| b.created.cmp(&a.created).then(b.name.cmp(&a.name)));
    let page = Page::from_query(&query, world.default_limit, world.max_limit);
    let items: Vec<_> = page.slice(&tags).into_iter().map(|t| json::tag(&world, &shared.urls, repo, t)).collect();
    // quirk: X-Total-Count but no Link header.
    answer(200, Some(items.into()), &[("x-total-count", tags.len().to_string())])
}
