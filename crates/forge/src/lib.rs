//! Everything cc-ci says to or hears from a Gitea/Forgejo forge, and nothing about Docker.
//!
//! - [`Client`]: the REST API subset the CI uses (pull requests, repo-wide comments since a mark,
//!   posting and editing comments, org membership, commit statuses, tags), with timeouts, bounded
//!   retries and the forge's quirks handled (see docs/forge.md).
//! - [`webhook`]: HMAC signature verification on the raw body and `issue_comment` payload parsing.
//!
//! What a comment asks for (`!testme`) is the server's business (its intake), not the client's.

mod client;
mod comments;
mod config;
mod error;
mod orgs;
mod paging;
mod pulls;
mod retry;
mod statuses;
mod tags;
pub mod text;
mod types;
pub mod webhook;

pub use client::Client;
pub use config::{Config, RetryPolicy};
pub use error::Error;
pub use orgs::Membership;
pub use secrecy::SecretString;
pub use types::{
    high_water_mark, Branch, Comment, CommitStatus, NewStatus, PullRequest, RepoRef, StatusState, Tag, TagCommit, User,
};
