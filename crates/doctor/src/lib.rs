//! `ccci doctor` (SPEC O4): checks a host that runs (or is about to run) `ccci serve` and says,
//! one line per check, what is wrong and what to do about it. Each module owns one area:
//!
//! - [`check`]: a check's verdict and how it is printed;
//! - [`docker`]: the engine, swarm manager role, the `proxy` network, the proxy service;
//! - [`tls`]: the proxy answering HTTPS with a verified certificate, and that certificate's
//!   validity and days to expiry;
//! - [`disk`]: free space for snapshots and runs under the data dir;
//! - [`forge`]: the forge reached with the bot's token, the bot's org membership, enrolled repos;
//! - [`secrets`]: the webhook secret;
//! - [`runner`]: the unprivileged user pull-request code runs as;
//! - [`sandbox`]: the capabilities and namespaces that sandboxing that code takes.
//!
//! A warning (a certificate with under [`tls::WARN_DAYS`] days left) is printed but does not fail.

pub mod check;
pub mod disk;
pub mod docker;
pub mod forge;
pub mod runner;
pub mod sandbox;
pub mod secrets;
pub mod tls;

use std::path::PathBuf;

pub use check::{Check, Status};

/// The name of the user pull-request code runs as.
pub const RUNNER_USER: &str = "ccci-runner";
/// Default floor of free space under the data dir, in GiB.
pub const DEFAULT_MIN_FREE_GIB: u64 = 5;

/// What to check.
#[derive(Debug, Clone)]
pub struct Options {
    /// The server's configuration file.
    pub config: PathBuf,
    /// Free space the data dir's file system must have, in bytes.
    pub min_free_bytes: u64,
    /// The user pull-request code runs as.
    pub runner_user: String,
    /// The label (key, value) that marks the proxy's swarm service.
    pub proxy_label: (String, String),
}

impl Options {
    /// The defaults for a configuration file.
    pub fn new(config: PathBuf) -> Options {
        Options {
            config,
            min_free_bytes: DEFAULT_MIN_FREE_GIB << 30,
            runner_user: RUNNER_USER.into(),
            proxy_label: (docker::PROXY_LABEL.0.into(), docker::PROXY_LABEL.1.into()),
        }
    }
}

/// Runs every check, in the order an operator would fix things.
pub async fn run(options: &Options) -> Vec<Check> {
    let mut checks = Vec::new();
    let config = server::load(&options.config);
    checks.push(match &config {
        Ok(_) => Check::pass("config", format!("{} loads", options.config.display())),
        Err(e) => Check::fail(
            "config",
            e.to_string(),
            format!("correct it; `ccci config check --config {}` shows the rest", options.config.display()),
        ),
    });
    let proxy_stack = config.as_ref().ok().map(|c| recipe::app_env::stack_name(&c.infra.proxy.domain));
    checks.extend(docker::checks(&options.proxy_label, proxy_stack.as_deref()).await);
    match &config {
        Ok(config) => {
            checks.push(tls::https(config).await);
            checks.push(tls::certificate(config));
            checks.push(disk::check(&config.data_dir, options.min_free_bytes));
            checks.push(forge::check(config).await);
            checks.push(secrets::webhook(config));
        }
        Err(_) => {
            for name in ["https", "certificate", "disk", "forge", "webhook"] {
                checks.push(Check::not_checked(name, "the configuration does not load"));
            }
        }
    }
    checks.push(runner::check(&options.runner_user));
    checks.push(sandbox::check());
    checks
}

/// Whether no check failed (the exit status of `ccci doctor`; warnings do not fail).
pub fn all_passed(checks: &[Check]) -> bool {
    checks.iter().all(|c| c.status != Status::Fail)
}
