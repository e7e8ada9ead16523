//! `ccci test`: run the CI's tiers on a recipe against the local swarm, with live progress, a
//! summary table, result.json/JUnit/log in the output directory, and an exit code for scripts.
//!
//! Exit codes: 0 every tier that ran passed; 1 a tier failed (the recipe is at fault); 3 a tier
//! errored (the CI or infrastructure is at fault); 2 the input is unusable and nothing ran.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use harness::context::{RunMode, RunOptions};
use harness::result::{Outcome, Tier};
use harness::run::run as run_recipe;

/// Arguments of `ccci test`.
#[derive(clap::Args)]
pub struct Args {
    /// A recipe directory or git URL.
    pub recipe: String,
    /// The branch, tag or commit to test (default: a directory's working tree as it is).
    #[arg(long = "ref")]
    pub git_ref: Option<String>,
    /// Tiers to run, comma-separated, in order: install,upgrade,backup,restore,custom.
    #[arg(long, value_delimiter = ',', default_value = "install,upgrade,backup,restore,custom")]
    pub tiers: Vec<String>,
    /// Where to write result.json, junit.xml, log.txt and artifacts (default: under the data dir).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Base domain of app instances (`<recipe[:4]>-<6 hex>.<base domain>`).
    #[arg(long, env = "CCCI_BASE_DOMAIN", default_value = "ccci.test")]
    pub base_domain: String,
    /// Address (host:port) where the proxy answers for app domains, when DNS does not lead there.
    #[arg(long, env = "CCCI_PROXY_ADDR")]
    pub proxy: Option<SocketAddr>,
    /// Scheme of the serving check: https (certificate verified; the proxy serves apps on its
    /// `web-secure` entry point), or http.
    #[arg(long, env = "CCCI_SCHEME", default_value = "https", value_parser = ["http", "https"])]
    pub scheme: String,
    /// A CA bundle (PEM) to trust besides the system's, for the serving check and recipe tests
    /// (e.g. the local CA of a test machine's wildcard certificate).
    #[arg(long = "ca", env = "CCCI_CA_BUNDLE", value_name = "FILE")]
    pub ca_bundle: Option<PathBuf>,
    /// When to pull images before each deploy: missing (only absent ones), always (unless the
    /// local image has the registry's digest), never.
    #[arg(long, env = "CCCI_PULL", default_value = "missing")]
    pub pull: swarm::PullPolicy,
    /// Attempts per image; only transient failures (unreachable, 429, timeout) are retried.
    #[arg(long, default_value_t = swarm::PullOptions::default().attempts)]
    pub pull_attempts: u32,
    /// How long one attempt at pulling one image may take (e.g. 90s, 10m).
    #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
    pub pull_timeout: Duration,
    /// Registry credentials for pulls: a Docker config.json (`auths`); never printed.
    #[arg(long, env = "CCCI_REGISTRY_AUTH", value_name = "FILE", conflicts_with = "registry_auth_env")]
    pub registry_auth: Option<PathBuf>,
    /// Or: the name of an environment variable holding that config.json.
    #[arg(long, value_name = "VAR")]
    pub registry_auth_env: Option<String>,
    /// Deploy services with endpoint_mode dnsrr (for engines without IPVS).
    #[arg(long, env = "CCCI_DNSRR")]
    pub dnsrr: bool,
    /// Leave a failed run's app deployed for debugging, for --ttl.
    #[arg(long)]
    pub keep_on_failure: bool,
    /// How long --keep-on-failure keeps the app (e.g. 30m, 2h); the janitor removes it after.
    #[arg(long, default_value = "2h", value_parser = humantime::parse_duration)]
    pub ttl: Duration,
    /// The CI's recipe tree: `recipes/<name>/ccci.toml` (per-recipe config) and `recipes/<name>/tests/`.
    #[arg(long, env = recipe::config::CONFIG_DIR_ENV)]
    pub config_dir: Option<PathBuf>,
    /// Quick mode: upgrade the recipe's warm canonical copy to the ref and run the upgrade,
    /// serving and custom checks; the copy ends as it was. Cold (saying so) without a copy.
    #[arg(long)]
    pub quick: bool,
    /// How recipe tests and host hooks run: `auto` sandboxes them when ccci is root and the
    /// runner user exists, else runs them as you with a cleared environment (and says so);
    /// `required` refuses to run them unsandboxed (the server's runs).
    #[arg(long, env = "CCCI_SANDBOX", default_value = "auto", value_parser = ["auto", "required"])]
    pub sandbox: String,
    /// The unprivileged user sandboxed code runs as.
    #[arg(long, env = "CCCI_RUNNER_USER", default_value = harness::sandbox::runner::RUNNER_USER)]
    pub runner_user: String,
    #[command(flatten)]
    pub nodes: crate::node_hosts::NodeHosts,
}

fn tiers(names: &[String]) -> anyhow::Result<Vec<Tier>> {
    let mut out = Vec::new();
    for name in names {
        let tier = Tier::parse(name.trim()).with_context(|| {
            format!("unknown tier {name:?}; the tiers are install, upgrade, backup, restore, custom")
        })?;
        if !out.contains(&tier) {
            out.push(tier);
        }
    }
    out.sort();
    Ok(out)
}

fn pull_options(args: &Args) -> anyhow::Result<swarm::PullOptions> {
    if args.pull_attempts == 0 {
        anyhow::bail!("--pull-attempts must be at least 1");
    }
    let auth = match (&args.registry_auth, &args.registry_auth_env) {
        (Some(path), _) => Some(swarm::RegistryAuth::load(path).map_err(|e| anyhow::anyhow!("--registry-auth: {e}"))?),
        (None, Some(var)) => {
            Some(swarm::RegistryAuth::from_env(var).map_err(|e| anyhow::anyhow!("--registry-auth-env: {e}"))?)
        }
        (None, None) => None,
    };
    Ok(swarm::PullOptions {
        policy: args.pull,
        attempts: args.pull_attempts,
        attempt_timeout: args.pull_timeout,
        auth,
        ..Default::default()
    })
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mode = if args.quick { RunMode::Quick } else { RunMode::Cold };
    run_as(args, mode)
}

/// Carry out the run `args` describe as a `mode` run; the exit code says how it ended.
pub fn run_as(args: Args, mode: RunMode) -> anyhow::Result<ExitCode> {
    let pull = pull_options(&args)?;
    let options = RunOptions {
        source: args.recipe,
        git_ref: args.git_ref,
        tiers: tiers(&args.tiers)?,
        mode,
        out: args.out,
        data_dir: harness::workspace::data_dir(),
        base_domain: args.base_domain,
        proxy: args.proxy,
        scheme: args.scheme,
        ca_bundle: args.ca_bundle,
        pull,
        dnsrr: args.dnsrr,
        keep_on_failure: args.keep_on_failure.then_some(args.ttl),
        pr: None,
        config_dir: args.config_dir,
        limits: Default::default(),
        node_hosts: args.nodes.hosts,
        sandbox: harness::sandbox::SandboxPolicy {
            runner_user: args.runner_user,
            required: args.sandbox == "required",
        },
    };
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let terminal: Arc<dyn harness::report::Sink> = Arc::new(harness::report::for_stderr());
    let report = match runtime.block_on(run_recipe(options, vec![terminal])) {
        Ok(report) => report,
        Err(harness::error::RunError::Input(msg)) => anyhow::bail!(msg),
        Err(harness::error::RunError::Infra(msg)) => {
            eprintln!("error: {msg}");
            return Ok(ExitCode::from(3));
        }
    };
    Ok(exit_code(report.result.outcome))
}

/// 0 pass, 1 the recipe failed, 3 the CI or infrastructure errored.
pub fn exit_code(outcome: Outcome) -> ExitCode {
    match outcome {
        Outcome::Pass => ExitCode::SUCCESS,
        Outcome::Fail => ExitCode::from(1),
        Outcome::Error | Outcome::Skipped => ExitCode::from(3),
    }
}
