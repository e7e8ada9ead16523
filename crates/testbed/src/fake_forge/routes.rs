//! The route table (the single list of what the fake serves, checked against Gitea's spec by the
//! contract test), the request gate (fault injection, token auth, undeclared query parameters,
//! request log, webhooks for comments posted or edited through the API) and the router built from
//! the table, with git over HTTP ([`super::git`]) outside the table and the gate.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::extract::{MatchedPath, Query, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodFilter;
use axum::{Json, Router};

use super::json::{self, Urls};
use super::state::{RequestRecord, State as World};
use super::webhook::{self, HookAction, SharedHooks};
use super::{git, handlers};

/// One operation the fake serves, in Gitea's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// Our name for it (used in request counts).
    pub name: &'static str,
    /// HTTP method, upper case.
    pub method: &'static str,
    /// Path template under `/api/v1`, spelled as in the spec.
    pub path: &'static str,
    /// Query parameters the fake accepts (any other is answered 400): exactly what the client sends.
    pub query: &'static [&'static str],
    /// The spec definition of the JSON body, if the operation takes one.
    pub body: Option<&'static str>,
    /// The status of a successful answer.
    pub success: u16,
}

/// Every operation the fake serves.
pub const ROUTES: &[Route] = &[
    Route {
        name: "list_pulls",
        method: "GET",
        path: "/repos/{owner}/{repo}/pulls",
        query: &["state", "page", "limit"],
        body: None,
        success: 200,
    },
    Route {
        name: "get_pull",
        method: "GET",
        path: "/repos/{owner}/{repo}/pulls/{index}",
        query: &[],
        body: None,
        success: 200,
    },
    Route {
        name: "edit_pull",
        method: "PATCH",
        path: "/repos/{owner}/{repo}/pulls/{index}",
        query: &[],
        body: Some("EditPullRequestOption"),
        success: 201,
    },
    Route {
        name: "repo_comments",
        method: "GET",
        path: "/repos/{owner}/{repo}/issues/comments",
        query: &["since", "page", "limit"],
        body: None,
        success: 200,
    },
    Route {
        name: "issue_comments",
        method: "GET",
        path: "/repos/{owner}/{repo}/issues/{index}/comments",
        query: &["since"],
        body: None,
        success: 200,
    },
    Route {
        name: "post_comment",
        method: "POST",
        path: "/repos/{owner}/{repo}/issues/{index}/comments",
        query: &[],
        body: Some("CreateIssueCommentOption"),
        success: 201,
    },
    Route {
        name: "edit_comment",
        method: "PATCH",
        path: "/repos/{owner}/{repo}/issues/comments/{id}",
        query: &[],
        body: Some("EditIssueCommentOption"),
        success: 200,
    },
    Route {
        name: "org_member",
        method: "GET",
        path: "/orgs/{org}/members/{username}",
        query: &[],
        body: None,
        success: 204,
    },
    Route {
        name: "org_public_member",
        method: "GET",
        path: "/orgs/{org}/public_members/{username}",
        query: &[],
        body: None,
        success: 204,
    },
    Route {
        name: "create_status",
        method: "POST",
        path: "/repos/{owner}/{repo}/statuses/{sha}",
        query: &[],
        body: Some("CreateStatusOption"),
        success: 201,
    },
    Route {
        name: "list_tags",
        method: "GET",
        path: "/repos/{owner}/{repo}/tags",
        query: &["page", "limit"],
        body: None,
        success: 200,
    },
];

/// What every handler gets: the world, the fake's URLs, its webhook and where its git mirrors live.
#[derive(Clone)]
pub(crate) struct Shared {
    pub world: Arc<Mutex<World>>,
    pub urls: Arc<Urls>,
    pub hooks: SharedHooks,
    /// `GIT_PROJECT_ROOT`: the mirror of `owner/name` is `owner/name.git` below it (created on
    /// the first [`super::FakeForge::create_repo_from_git`]).
    pub git_root: Arc<PathBuf>,
}

impl Shared {
    pub fn lock(&self) -> std::sync::MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn route_for(method: &str, matched: &str) -> Option<&'static Route> {
    let path = matched.strip_prefix("/api/v1")?;
    ROUTES.iter().find(|r| r.method == method && r.path == path)
}

/// A JSON answer with extra headers.
pub(crate) fn answer(status: u16, body: Option<serde_json::Value>, headers: &[(&'static str, String)]) -> Response {
    let status = StatusCode::from_u16(status).expect("valid status");
    let mut response = match body {
        Some(body) => (status, Json(body)).into_response(),
        None => status.into_response(),
    };
    for (name, value) in headers {
        let value = HeaderValue::from_str(value).expect("header values we build are ASCII");
        response.headers_mut().insert(*name, value);
    }
    response
}

fn authorised(header: Option<&str>, token: &str) -> bool {
    let Some((scheme, value)) = header.and_then(|h| h.split_once(' ')) else { return false };
    (scheme.eq_ignore_ascii_case("token") || scheme.eq_ignore_ascii_case("bearer")) && value.trim() == token
}

/// Runs before every handler: the injected latency and faults, then auth, then the query check;
/// logs the request.
async fn gate(State(shared): State<Shared>, request: Request, next: Next) -> Response {
    let method = request.method().as_str().to_string();
    let route = request.extensions().get::<MatchedPath>().and_then(|m| route_for(&method, m.as_str()));
    let uri = request.uri().path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default();
    let authorization = request.headers().get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string);
    let query: BTreeMap<String, String> = Query::try_from_uri(request.uri()).map(|Query(q)| q).unwrap_or_default();
    let latency = shared.lock().latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let early = {
        let mut world = shared.lock();
        if let Some((status, retry_after)) = world.take_fault() {
            let headers: Vec<(&'static str, String)> =
                retry_after.map(|s| ("retry-after", s.to_string())).into_iter().collect();
            Some(answer(status, Some(json::error(&shared.urls, "fake forge: injected fault")), &headers))
        } else if !authorised(authorization.as_deref(), &world.token) {
            Some(answer(401, Some(json::error(&shared.urls, "token is required")), &[]))
        } else if let Some(bad) = query.keys().find(|k| !route.is_some_and(|r| r.query.contains(&k.as_str()))) {
            let message = format!("fake forge: query parameter {bad:?} is not one the client is declared to send");
            Some(answer(400, Some(json::error(&shared.urls, &message)), &[]))
        } else {
            None
        }
    };
    // Gitea sends webhooks for the bot's own comments and edits too: snapshot the comments to see
    // what the request changed.
    let hooked = early.is_none()
        && route.is_some_and(|r| matches!(r.name, "post_comment" | "edit_comment"))
        && webhook::lock(&shared.hooks).target.is_some();
    let before: BTreeMap<u64, String> =
        if hooked { shared.lock().comments.iter().map(|c| (c.id, c.body.clone())).collect() } else { BTreeMap::new() };
    let response = match early {
        Some(response) => response,
        None => next.run(request).await,
    };
    if hooked && response.status().is_success() {
        let hooks: Vec<_> = {
            let world = shared.lock();
            let changed: Vec<(u64, HookAction)> = world
                .comments
                .iter()
                .filter_map(|c| match before.get(&c.id) {
                    None if c.via_api => Some((c.id, HookAction::Created)),
                    None => None,
                    Some(old) if *old != c.body => Some((c.id, HookAction::Edited { from: old.clone() })),
                    Some(_) => None,
                })
                .collect();
            let bot = world.bot.clone();
            changed
                .into_iter()
                .filter_map(|(id, action)| webhook::hook_for(&world, &shared.urls.web, id, action))
                .map(|hook| (hook, bot.clone()))
                .collect()
        };
        let runtime = tokio::runtime::Handle::current();
        for (hook, bot) in hooks {
            webhook::deliver(&shared.hooks, &runtime, Some(&bot), hook);
        }
    }
    shared.lock().log.push(RequestRecord {
        method,
        route: route.map(|r| r.name).unwrap_or("unmatched").to_string(),
        uri,
        authorization,
        status: response.status().as_u16(),
    });
    response
}

/// Whether `header` is HTTP basic authentication with the token as the password (any user name),
/// which is how Gitea takes a token for git over HTTP.
fn basic_with_token(header: Option<&str>, token: &str) -> bool {
    use base64::Engine as _;
    let Some(("Basic" | "basic", encoded)) = header.and_then(|h| h.split_once(' ')) else { return false };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else { return false };
    String::from_utf8(decoded).ok().and_then(|d| d.split_once(':').map(|(_, p)| p == token)).unwrap_or(false)
}

/// Everything outside the table: git over HTTP, else 404. Logged, not gated.
async fn fallback(State(shared): State<Shared>, request: Request) -> Response {
    let method = request.method().as_str().to_string();
    let uri = request.uri().path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default();
    let authorization = request.headers().get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string);
    let may_push = basic_with_token(authorization.as_deref(), &shared.lock().token);
    let (route, response) = match git::parse_path(request.uri().path()) {
        Some(target) => {
            (target.route(request.uri().query()), git::serve(&shared.git_root, &target, request, may_push).await)
        }
        None => ("unmatched", answer(404, Some(json::error(&shared.urls, "fake forge: no such route")), &[])),
    };
    shared.lock().log.push(RequestRecord {
        method,
        route: route.into(),
        uri,
        authorization,
        status: response.status().as_u16(),
    });
    response
}

/// The router: one entry per [`ROUTES`] row, behind the gate; git and 404s in the fallback.
pub(crate) fn router(shared: Shared) -> Router {
    let mut router = Router::new();
    for route in ROUTES {
        let filter = match route.method {
            "GET" => MethodFilter::GET,
            "POST" => MethodFilter::POST,
            "PATCH" => MethodFilter::PATCH,
            other => panic!("route table: unsupported method {other}"),
        };
        router = router.route(&format!("/api/v1{}", route.path), handlers::method_router(route.name, filter));
    }
    router.route_layer(middleware::from_fn_with_state(shared.clone(), gate)).fallback(fallback).with_state(shared)
}
