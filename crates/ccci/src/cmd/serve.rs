//! `ccci serve`: the cc-ci server (dashboard, webhook endpoint, poller, run queue), configured by
//! one TOML file (docs/operators.md).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

/// Arguments of `ccci serve`.
#[derive(clap::Args)]
pub struct Args {
    /// The server's configuration file.
    #[arg(long, env = "CCCI_CONFIG")]
    pub config: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = server::load(&args.config)?;
    let exe = std::env::current_exe().context("cannot find the ccci executable to start runs with")?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let started = server::serve::start(&config, exe).await?;
        println!("ccci serve: listening on http://{}", started.addr);
        tokio::select! {
            // A task of the server ended (logged): exit non-zero so the supervisor restarts it.
            _ = started.wait() => Ok(ExitCode::FAILURE),
            _ = tokio::signal::ctrl_c() => Ok(ExitCode::SUCCESS),
        }
    })
}
