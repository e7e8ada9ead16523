//! `ccci run-exec <service> -- <cmd...>`: from inside a recipe test, run a command in a running
//! task of a service of the run's app (the stack comes from `CCCI_STACK_NAME`, set by the custom
//! tier). Prints the command's stdout and stderr and exits with its exit code (255 if it has none).

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;

/// Arguments of `ccci run-exec`.
#[derive(clap::Args)]
pub struct Args {
    /// The compose service (e.g. `app`, `db`).
    pub service: String,
    /// The command and its arguments (after `--`).
    #[arg(last = true, required = true)]
    pub command: Vec<String>,
    /// The app's stack (default: `$CCCI_STACK_NAME`, set for recipe tests).
    #[arg(long, env = "CCCI_STACK_NAME")]
    pub stack: String,
    #[command(flatten)]
    pub nodes: crate::node_hosts::NodeHosts,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let out = runtime.block_on(async {
        let swarm = args.nodes.connect().await?;
        let cmd: Vec<&str> = args.command.iter().map(String::as_str).collect();
        swarm.exec(&args.stack, &args.service, &cmd).await.with_context(|| format!("exec in {}", args.service))
    })?;
    std::io::stdout().write_all(&out.stdout)?;
    std::io::stderr().write_all(&out.stderr)?;
    Ok(ExitCode::from(u8::try_from(out.exit_code).unwrap_or(255)))
}
