//! cc-ci's own infrastructure apps, what the product needs before any test run can be served:
//! the proxy recipe it ships ([`proxy_recipe`]: Traefik, coop-cloud style, materialised as a git
//! repository with annotated release tags) and the wildcard TLS certificate the proxy serves
//! ([`certs`]: operator-provided, or a local CA on a test machine); `ccci server init`
//! ([`init`]), which sets up the runner user ([`runner_user`]), the swarm, the `proxy` network,
//! the certificate and the proxy ([`proxy`], from [`proxy_source`]) through the same engine as
//! test runs; and keeping the infrastructure apps ([`apps`]: the proxy and the configured warm
//! dependencies, [`shared_app`]) up to date with health-gated, alerted updates ([`update`]), each
//! app's running and last-good release recorded in [`state`] and carried by its containers
//! ([`release_label`]).
//!
//! Every Docker object of an infrastructure app carries [`INFRA_LABEL`]`=<app>` (the proxy:
//! `cc-ci.infra=proxy`) and never `cc-ci.run`, so the janitor never reaps it.

pub mod apps;
pub mod certs;
mod error;
pub mod init;
pub mod proxy;
pub mod proxy_recipe;
pub mod proxy_source;
pub mod release_label;
pub mod runner_user;
pub mod shared_app;
pub mod state;
pub mod update;

pub use error::{Error, Result};

/// Label on every Docker object of an infrastructure app; its value is the app's name.
pub const INFRA_LABEL: &str = swarm::labels::INFRA;
/// The proxy's name as an infrastructure app (`cc-ci.infra=proxy`).
pub const PROXY_APP: &str = "proxy";

/// What an `ensure`-style call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Everything was already as wanted; nothing was written.
    Unchanged,
    /// It did not exist and was made.
    Created,
    /// It existed but was out of date (expired, another version) and was replaced.
    Replaced,
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Change::Unchanged => "unchanged",
            Change::Created => "created",
            Change::Replaced => "replaced",
        })
    }
}
