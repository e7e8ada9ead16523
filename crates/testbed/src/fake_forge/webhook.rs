//! Webhook deliveries as Gitea sends them for a comment: the `IssueCommentPayload` JSON and the
//! headers (`X-Gitea-Event: issue_comment`, `X-Gitea-Event-Type: pull_request_comment` on pull
//! requests, a delivery UUID, the body's HMAC-SHA256 in `X-Gitea-Signature`, `X-Gogs-Signature`
//! and `X-Hub-Signature-256`, its HMAC-SHA1 in `X-Hub-Signature`), plus Forgejo's `X-Forgejo-*`
//! copies (Forgejo sends both sets). A hook without a secret sends the signature headers empty.
//!
//! [`super::FakeForge::set_webhook`] makes the fake send them by itself: each delivery is
//! recorded ([`Delivery`]) and POSTed from the fake's runtime, so the caller never waits for the
//! receiver (which may run on the caller's own runtime).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha1::Sha1;
use sha2::Sha256;

use super::state::State;

/// What happened to the comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookAction {
    Created,
    /// Edited; `from` is the previous body.
    Edited {
        from: String,
    },
    Deleted,
}

/// The facts a comment delivery is built from ([`super::FakeForge::comment_hook`] fills them in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentHook {
    /// The forge's web root, for the URLs in the payload.
    pub forge_url: String,
    /// `owner/name`.
    pub repo: String,
    pub number: u64,
    pub is_pull: bool,
    /// The pull request's head, when on a pull request.
    pub head_sha: Option<String>,
    pub comment_id: u64,
    pub author: String,
    pub body: String,
    pub sender: String,
    pub action: HookAction,
    pub created: i64,
    pub updated: i64,
}

/// A delivery ready to send or to hand to a handler directly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRequest {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

fn time(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0).expect("valid unix time").to_rfc3339()
}

fn user(forge: &str, login: &str) -> Value {
    json!({ "id": 0, "login": login, "login_name": "", "full_name": "", "email": format!("{login}@noreply.localhost"),
            "avatar_url": "", "html_url": format!("{forge}/{login}") })
}

fn payload(hook: &CommentHook) -> Value {
    let forge = hook.forge_url.trim_end_matches('/');
    let (owner, name) = hook.repo.split_once('/').unwrap_or((&hook.repo, ""));
    let kind = if hook.is_pull { "pulls" } else { "issues" };
    let web = format!("{forge}/{}/{kind}/{}", hook.repo, hook.number);
    let pull_meta =
        hook.is_pull.then(|| json!({ "merged": false, "merged_at": null, "draft": false, "html_url": web }));
    let mut payload = json!({
        "action": match hook.action { HookAction::Created => "created", HookAction::Edited { .. } => "edited", HookAction::Deleted => "deleted" },
        "issue": {
            "id": hook.number,
            "url": format!("{forge}/api/v1/repos/{}/issues/{}", hook.repo, hook.number),
            "html_url": web,
            "number": hook.number,
            "user": user(forge, "contributor"),
            "original_author": "",
            "original_author_id": 0,
            "title": format!("#{}", hook.number),
            "body": "",
            "ref": "",
            "labels": [],
            "milestone": null,
            "assignee": null,
            "assignees": null,
            "state": "open",
            "is_locked": false,
            "comments": 1,
            "created_at": time(hook.created),
            "updated_at": time(hook.updated),
            "closed_at": null,
            "due_date": null,
            "pull_request": pull_meta,
            "repository": { "id": 1, "name": name, "owner": owner, "full_name": hook.repo },
            "pin_order": 0
        },
        "comment": {
            "id": hook.comment_id,
            "html_url": format!("{web}#issuecomment-{}", hook.comment_id),
            "pull_request_url": if hook.is_pull { web.clone() } else { String::new() },
            "issue_url": if hook.is_pull { String::new() } else { web.clone() },
            "user": user(forge, &hook.author),
            "original_author": "",
            "original_author_id": 0,
            "body": hook.body,
            "assets": [],
            "created_at": time(hook.created),
            "updated_at": time(hook.updated)
        },
        "repository": {
            "id": 1,
            "owner": user(forge, owner),
            "name": name,
            "full_name": hook.repo,
            "html_url": format!("{forge}/{}", hook.repo),
            "clone_url": format!("{forge}/{}.git", hook.repo),
            "default_branch": "main",
            "private": false
        },
        "sender": user(forge, &hook.sender),
        "is_pull": hook.is_pull
    });
    if hook.is_pull {
        payload["pull_request"] = json!({
            "number": hook.number,
            "html_url": web,
            "state": "open",
            "head": { "sha": hook.head_sha.clone().unwrap_or_default() }
        });
    }
    if let HookAction::Edited { from } = &hook.action {
        payload["changes"] = json!({ "body": { "from": from } });
    }
    payload
}

fn delivery_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let hex = format!("{:016x}{:016x}", t as u64, n ^ ((std::process::id() as u64) << 32));
    format!("{}-{}-4{}-8{}-{}", &hex[0..8], &hex[8..12], &hex[13..16], &hex[17..20], &hex[20..32])
}

/// The request Gitea would send for `hook`, signed with `secret` (empty: unsigned, headers empty).
pub fn comment_webhook_request(secret: &str, hook: &CommentHook) -> WebhookRequest {
    let body = serde_json::to_vec(&payload(hook)).expect("payload serialises");
    let (sha256, sha1) = if secret.is_empty() {
        (String::new(), String::new())
    } else {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
        mac.update(&body);
        let mut mac1 = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("any key length");
        mac1.update(&body);
        (hex::encode(mac.finalize().into_bytes()), hex::encode(mac1.finalize().into_bytes()))
    };
    let event_type = if hook.is_pull { "pull_request_comment" } else { "issue_comment" };
    let delivery = delivery_id();
    let mut headers = Vec::new();
    for prefix in ["X-Forgejo", "X-Gitea", "X-Gogs", "X-GitHub"] {
        headers.push((format!("{prefix}-Delivery"), delivery.clone()));
        headers.push((format!("{prefix}-Event"), "issue_comment".to_string()));
        headers.push((format!("{prefix}-Event-Type"), event_type.to_string()));
    }
    for name in ["X-Forgejo-Signature", "X-Gitea-Signature", "X-Gogs-Signature"] {
        headers.push((name.into(), sha256.clone()));
    }
    let prefixed =
        |algorithm: &str, hex: &str| if hex.is_empty() { String::new() } else { format!("{algorithm}={hex}") };
    headers.push(("X-Hub-Signature".into(), prefixed("sha1", &sha1)));
    headers.push(("X-Hub-Signature-256".into(), prefixed("sha256", &sha256)));
    headers.push(("Content-Type".into(), "application/json".into()));
    headers.push(("User-Agent".into(), "Go-http-client/1.1".into()));
    WebhookRequest { headers, body }
}

impl WebhookRequest {
    /// The value of header `name` (case-insensitive), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The delivery id (`X-Gitea-Delivery`).
    pub fn delivery_id(&self) -> &str {
        self.header("X-Gitea-Delivery").unwrap_or_default()
    }
}

/// POSTs the delivery for `hook` to `url` (a loopback address in tests); returns the status.
pub async fn send_comment_webhook(url: &str, secret: &str, hook: &CommentHook) -> Result<u16, String> {
    post(url, &comment_webhook_request(secret, hook)).await
}

/// How long Gitea waits for the receiver to answer a delivery.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(5);

async fn post(url: &str, request: &WebhookRequest) -> Result<u16, String> {
    let client =
        reqwest::Client::builder().timeout(DELIVERY_TIMEOUT).build().map_err(|e| format!("webhook client: {e}"))?;
    let mut builder = client.post(url).body(request.body.clone());
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    let response = builder.send().await.map_err(|e| format!("webhook to {url}: {e}"))?;
    Ok(response.status().as_u16())
}

/// What became of a delivery the fake sent by itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// Not answered yet.
    Pending,
    /// The receiver answered with this status.
    Answered(u16),
    /// No answer: connection refused, timeout (5 s, as Gitea), ... Gitea does not retry.
    Failed(String),
}

/// One delivery the fake sent by itself ([`super::FakeForge::set_webhook`]), in sending order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The delivery id (`X-Gitea-Delivery`); a redelivery repeats it.
    pub id: String,
    pub url: String,
    /// `created`, `edited` or `deleted`.
    pub action: String,
    pub comment_id: u64,
    /// Exactly what was sent.
    pub request: WebhookRequest,
    pub outcome: DeliveryOutcome,
}

/// The webhook the fake sends by itself, and every delivery so far.
#[derive(Debug, Default)]
pub(crate) struct Hooks {
    /// `(url, secret)` once set.
    pub target: Option<(String, String)>,
    pub deliveries: Vec<Delivery>,
}

pub(crate) type SharedHooks = Arc<Mutex<Hooks>>;

pub(crate) fn lock(hooks: &SharedHooks) -> std::sync::MutexGuard<'_, Hooks> {
    hooks.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The facts of comment `id` in `world` for a delivery with `action` (`None`: no such comment).
pub(crate) fn hook_for(world: &State, forge_url: &str, id: u64, action: HookAction) -> Option<CommentHook> {
    let c = world.comments.iter().find(|c| c.id == id)?;
    let pull = world.repos.get(&c.repo).and_then(|r| r.pulls.get(&c.number));
    Some(CommentHook {
        forge_url: forge_url.to_string(),
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
    })
}

/// If a webhook is set, records the delivery for `hook` and sends it from `runtime`.
pub(crate) fn deliver(
    hooks: &SharedHooks,
    runtime: &tokio::runtime::Handle,
    sender: Option<&str>,
    mut hook: CommentHook,
) {
    let Some((url, secret)) = lock(hooks).target.clone() else { return };
    if let Some(sender) = sender {
        hook.sender = sender.to_string();
    }
    let action = match hook.action {
        HookAction::Created => "created",
        HookAction::Edited { .. } => "edited",
        HookAction::Deleted => "deleted",
    };
    let request = comment_webhook_request(&secret, &hook);
    let delivery = Delivery {
        id: request.delivery_id().to_string(),
        url,
        action: action.into(),
        comment_id: hook.comment_id,
        request,
        outcome: DeliveryOutcome::Pending,
    };
    send(hooks, runtime, delivery);
}

/// Sends delivery `id` again, byte for byte (same id, body and URL). Returns false if unknown.
pub(crate) fn redeliver(hooks: &SharedHooks, runtime: &tokio::runtime::Handle, id: &str) -> bool {
    let Some(first) = lock(hooks).deliveries.iter().find(|d| d.id == id).cloned() else { return false };
    send(hooks, runtime, Delivery { outcome: DeliveryOutcome::Pending, ..first });
    true
}

fn send(hooks: &SharedHooks, runtime: &tokio::runtime::Handle, delivery: Delivery) {
    let (url, request) = (delivery.url.clone(), delivery.request.clone());
    let index = {
        let mut hooks = lock(hooks);
        hooks.deliveries.push(delivery);
        hooks.deliveries.len() - 1
    };
    let hooks = hooks.clone();
    runtime.spawn(async move {
        let outcome = match post(&url, &request).await {
            Ok(status) => DeliveryOutcome::Answered(status),
            Err(error) => DeliveryOutcome::Failed(error),
        };
        lock(&hooks).deliveries[index].outcome = outcome;
    });
}
