//! `ccci run-exec <service> -- <cmd...>`: from inside a recipe test, run a command in a running
//! task of a service of the run's app (the stack comes from `CCCI_STACK_NAME`, set for recipe
//! tests). Prints the command's stdout and stderr and exits with its exit code (255 if it has
//! none). Inside a run it asks the run's own ccci over `CCCI_RUN_SOCKET`, which refuses stacks and
//! services that are not the run's; without that socket (by hand, on the host) it talks to Docker.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use harness::capability::{self, Request};

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
    /// The run's capability socket (default: `$CCCI_RUN_SOCKET`, set for recipe tests).
    #[arg(long, env = harness::sandbox::SOCKET_ENV)]
    pub socket: Option<PathBuf>,
    #[command(flatten)]
    pub nodes: crate::node_hosts::NodeHosts,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (exit_code, stdout, stderr) = match &args.socket {
        Some(socket) => {
            let request = Request::Exec {
                stack: args.stack.clone(),
                service: args.service.clone(),
                command: args.command.clone(),
            };
            let out = capability::ask(socket, &request).map_err(|why| anyhow::anyhow!("run-exec: {why}"))?;
            (out.exit_code, out.stdout, out.stderr)
        }
        None => {
            let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
            let out = runtime.block_on(async {
                let swarm = args.nodes.connect().await?;
                let cmd: Vec<&str> = args.command.iter().map(String::as_str).collect();
                swarm.exec(&args.stack, &args.service, &cmd).await.with_context(|| format!("exec in {}", args.service))
            })?;
            (out.exit_code, out.stdout, out.stderr)
        }
    };
    std::io::stdout().write_all(&stdout)?;
    std::io::stderr().write_all(&stderr)?;
    Ok(ExitCode::from(u8::try_from(exit_code).unwrap_or(255)))
}
