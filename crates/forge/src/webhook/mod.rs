//! Incoming webhooks: verify the HMAC signature on the raw body first ([`verify_signature`]), then
//! parse the event ([`parse_event`]). Answer the forge at once: Gitea waits 5 s and never retries.

mod payload;
mod signature;

pub use payload::{parse_event, CommentAction, CommentEvent, PayloadError, WebhookEvent};
pub use signature::{sign, verify_signature, SignatureError, SIGNATURE_HEADERS};

/// Header carrying the event name (`issue_comment` for comments on issues and pull requests).
pub const EVENT_HEADER: &str = "X-Gitea-Event";
/// Header carrying the finer event type (`pull_request_comment` for a comment on a pull request).
pub const EVENT_TYPE_HEADER: &str = "X-Gitea-Event-Type";
/// Forgejo's own name for [`EVENT_HEADER`].
pub const FORGEJO_EVENT_HEADER: &str = "X-Forgejo-Event";
/// Per-delivery UUID: dedupe deliveries on it.
pub const DELIVERY_HEADER: &str = "X-Gitea-Delivery";
/// Forgejo's own name for [`DELIVERY_HEADER`].
pub const FORGEJO_DELIVERY_HEADER: &str = "X-Forgejo-Delivery";
