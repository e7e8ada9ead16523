//! The cc-ci server (SPEC V): what it is configured with, and the persisted run queue it works from.
//!
//! - [`config`]: the one TOML file (SPEC O1), loaded with defaults and secrets resolved from files
//!   or the environment; printable with secrets masked.
//! - [`store`]: the SQLite store with its single writer — runs and their queue states, comments and
//!   webhook deliveries already seen (so a comment fires at most once, ever), poll high-water marks.
//!
//! Not here yet: the poller, the webhook endpoint, workers, the dashboard and API (docs/operators.md).

pub mod config;
pub mod paths;
pub mod store;
pub mod web;

pub use config::{effective, load, Config, ConfigError};
pub use store::{Enqueued, Mode, NewRun, Run, RunFilter, RunId, RunState, Store, StoreError};
