//! `ccci infra`: the infrastructure apps (SPEC I1–I3) — the proxy and the warm dependencies of
//! `[[infra.apps]]` — from the machine's side of the server's configuration. `status` shows each
//! one's running, last-good and newest release and what an update would do; `update` carries it
//! out, health-gated, rolling back and alerting on failure (`infra::update`), then tries once to
//! deliver the alerts it raised (the server retries whatever is still pending).
//!
//! Exit codes: 0 every app up to date, updated or installed; 1 an update was held, rolled back
//! or failed (an alert says which and why); 2 the configuration or the request is unusable; 3 no
//! Docker engine answers.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use infra::update::{self, AppStatus, Request};

/// Arguments of `ccci infra`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: InfraCommand,
}

#[derive(clap::Subcommand)]
pub enum InfraCommand {
    /// Each infrastructure app: running, last-good and newest release, and what an update would do.
    Status {
        /// The server's configuration file.
        #[arg(long, env = "CCCI_CONFIG")]
        config: PathBuf,
        /// One JSON array instead of lines.
        #[arg(long)]
        json: bool,
    },
    /// Update the infrastructure apps (or one), health-gated, rolling back on failure.
    Update {
        /// The app to update (`proxy`, or a warm dependency's name); every app when left out.
        app: Option<String>,
        /// The release to go to instead of the newest (needs APP).
        #[arg(long)]
        to: Option<String>,
        /// Say what would be done, and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Go ahead with an update the safety gate holds (after doing the manual steps its
        /// release notes ask for).
        #[arg(long)]
        accept_hold: bool,
        /// The server's configuration file.
        #[arg(long, env = "CCCI_CONFIG")]
        config: PathBuf,
        /// The outcome of each app as one JSON array.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    match args.command {
        InfraCommand::Status { config, json } => runtime.block_on(status(&config, &Request::default(), json, false)),
        InfraCommand::Update { app, to, dry_run, accept_hold, config, json } => {
            let request = Request { app, to, accept_hold };
            match dry_run {
                true => runtime.block_on(status(&config, &request, json, true)),
                false => runtime.block_on(apply(&config, &request, json)),
            }
        }
    }
}

/// The machine's configuration, its infrastructure apps and the engine; `Err` is the exit code
/// to end with (no engine).
async fn connect(
    config: &std::path::Path,
) -> anyhow::Result<Result<(server::MachineConfig, infra::apps::Setup, swarm::Swarm), ExitCode>> {
    let machine = server::load_machine(config)?;
    let setup = server::infra_setup::setup(&machine).map_err(anyhow::Error::msg)?;
    match swarm::Swarm::connect().await {
        Ok(swarm) => Ok(Ok((machine, setup, swarm))),
        Err(e) => {
            eprintln!("error: cannot reach the Docker engine ({e}); is dockerd running?");
            Ok(Err(ExitCode::from(3)))
        }
    }
}

async fn status(config: &std::path::Path, request: &Request, json: bool, dry_run: bool) -> anyhow::Result<ExitCode> {
    let (_, setup, swarm) = match connect(config).await? {
        Ok(connected) => connected,
        Err(code) => return Ok(code),
    };
    let apps: Vec<AppStatus> = update::status(&setup, &swarm, request).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&apps)?);
    } else {
        for app in &apps {
            println!("{}{}", if dry_run { "would: " } else { "" }, app.line());
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn apply(config: &std::path::Path, request: &Request, json: bool) -> anyhow::Result<ExitCode> {
    let (machine, setup, swarm) = match connect(config).await? {
        Ok(connected) => connected,
        Err(code) => return Ok(code),
    };
    let alerts = server::infra_setup::deliverer(&machine.data_dir, &machine.alerts);
    let mut progress = |line: &str| eprintln!("{line}");
    let reports = update::update(&setup, &swarm, &alerts, request, &mut progress).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    } else {
        for report in &reports {
            println!("{}", report.line());
        }
    }
    if reports.iter().any(|r| r.alert.is_some()) {
        let pending = alerts.deliver_due().await;
        if pending > 0 {
            eprintln!("{pending} alert(s) not delivered yet: the server (`ccci serve`) retries them");
        }
    }
    let attention = reports.iter().any(|r| r.outcome.needs_attention());
    Ok(if attention { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
