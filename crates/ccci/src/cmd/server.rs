//! `ccci server init`: set the host up for the server (SPEC O2), idempotently — the runner user
//! pull-request code runs as, swarm mode, the `proxy` network, the wildcard certificate, the
//! proxy deployed from the project's Traefik recipe — from the machine's side of the server's configuration file (docs/operators.md). Each
//! step is printed with what it changed; a second call says nothing changed.
//!
//! Exit codes: 0 ready (changed or not); 3 the host or its Docker engine cannot be set up; 2 the
//! configuration is unusable.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use infra::init::server_init;

/// Arguments of `ccci server`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: ServerCommand,
}

/// What `ccci server` can do.
#[derive(clap::Subcommand)]
pub enum ServerCommand {
    /// Set this host up for the server: swarm, `proxy` network, certificate, proxy (idempotent).
    Init {
        /// The server's configuration file (a file with only base_domain, data_dir, [tls],
        /// [registry] and [infra] is enough).
        #[arg(long, env = "CCCI_CONFIG")]
        config: PathBuf,
        /// The unprivileged user pull-request code runs as (made when missing).
        #[arg(long, env = "CCCI_RUNNER_USER", default_value = harness::sandbox::runner::RUNNER_USER)]
        runner_user: String,
    },
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        ServerCommand::Init { config, runner_user } => init(&config, runner_user),
    }
}

fn init(path: &std::path::Path, runner_user: String) -> anyhow::Result<ExitCode> {
    let machine = server::load_machine(path)?;
    let options = infra::init::InitOptions {
        runner_user,
        ..server::infra_setup::init_options(&machine).map_err(anyhow::Error::msg)?
    };
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let outcome = runtime.block_on(server_init(&options, &mut |step| println!("{step}")));
    match outcome {
        Ok(report) => {
            if let Some(ca) = &report.ca {
                println!("CA: {} (clients of the apps must trust it)", ca.display());
            }
            println!("{}", if report.changed() { "ready" } else { "ready; nothing changed" });
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(3))
        }
    }
}
