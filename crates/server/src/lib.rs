//! The cc-ci server (SPEC V): `!testme` on a pull request becomes a queued run, the run executes on
//! the local swarm, the pull request hears the result, the dashboard shows everything.
//!
//! - [`config`]: the one TOML file (SPEC O1), loaded with defaults and secrets resolved from files
//!   or the environment; printable with secrets masked; [`infra_config`] its `[tls]`,
//!   `[registry]` and `[infra]` sections (what `ccci server init` and every run's pulls use).
//! - [`store`]: the SQLite store with its single writer — runs and their queue states, comments and
//!   webhook deliveries already seen (so a comment fires at most once, ever), poll high-water marks.
//! - [`intake`] (fed by [`poller`] and [`webhook`]): commands, authorisation, queueing.
//! - [`worker`] and [`runner`]: the queue's consumers, each run a `ccci test` child under a timeout.
//! - [`feedback`]: the run's comment and commit status on the pull request.
//! - [`web`]: dashboard, JSON API, badges, metrics; [`serve`] wires it all; [`events`] is its log.

pub mod config;
pub mod events;
pub mod feedback;
pub mod infra_config;
pub mod intake;
pub mod paths;
pub mod poller;
pub mod runner;
pub mod serve;
pub mod store;
pub mod web;
pub mod webhook;
pub mod worker;

pub use config::{effective, load, load_machine, Config, ConfigError, MachineConfig};
pub use store::{Enqueued, Mode, NewRun, Run, RunFilter, RunId, RunState, Store, StoreError};
