//! The cc-ci server (SPEC V): `!testme` on a pull request becomes a queued run, the run executes on
//! the local swarm, the pull request hears the result, the dashboard shows everything.
//!
//! - [`config`]: the one TOML file (SPEC O1), loaded with defaults and secrets resolved from files
//!   or the environment; printable with secrets masked; [`infra_config`] its `[tls]`,
//!   `[registry]` and `[infra]` sections (what `ccci server init` and every run's pulls use),
//!   [`alerts_config`] its `[alerts]` sinks; [`infra_setup`] turns them into what the
//!   infrastructure crate acts on (`ccci server init`, `ccci infra`, alert delivery).
//! - [`store`]: the SQLite store with its single writer — runs and their queue states, comments and
//!   webhook deliveries already seen (so a comment fires at most once, ever), poll high-water marks.
//! - [`intake`] (fed by [`poller`] and [`webhook`]): [`command`]s, authorisation, queueing.
//! - [`worker`] and [`runner`]: the queue's consumers, each run a `ccci test` child under a timeout;
//!   [`persist`] retries the store writes they must not lose.
//! - [`feedback`]: the run's comment and commit status on the pull request, [`redact`]ed.
//! - [`web`]: dashboard (alerts included), JSON API, badges, metrics, served by [`http`] under its
//!   limits.
//! - [`sweep`]: the scheduled sweep (infrastructure, mirrors, new releases, clean-up); [`disk`]
//!   the free-space floor before runs, the clean-up and disk use by kind; [`alerting`] raises
//!   alerts, pushed to the sinks of [`alerts_config`].
//! - [`serve`] wires it all and [`supervise`]s its tasks; [`events`] is its log, [`health`] what
//!   `/healthz` reports.

pub mod alerting;
pub mod alerts_config;
pub mod command;
pub mod config;
pub mod disk;
pub mod events;
pub mod feedback;
pub mod health;
pub mod http;
pub mod infra_config;
pub mod infra_setup;
pub mod intake;
pub mod paths;
pub mod persist;
pub mod poller;
pub mod redact;
pub mod runner;
pub mod serve;
pub mod store;
pub mod supervise;
pub mod sweep;
pub mod web;
pub mod webhook;
pub mod worker;

pub use config::{effective, load, load_machine, Config, ConfigError, MachineConfig};
pub use store::{Enqueued, Mode, NewRun, Run, RunFilter, RunId, RunState, Store, StoreError};
