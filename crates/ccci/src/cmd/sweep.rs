//! `ccci sweep`: one sweep (SPEC S1–S2) run by hand with the server's configuration — the same
//! sweep `ccci serve` runs on its schedule, coordinated with a running server through the store
//! and the sweep lock (docs/operators.md). Without `--once` it sweeps only when one is due. The
//! alerts it raised get one delivery attempt before it exits; a running server retries the rest.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

/// Arguments of `ccci sweep`.
#[derive(clap::Args)]
pub struct Args {
    /// The server's configuration file.
    #[arg(long, env = "CCCI_CONFIG")]
    pub config: PathBuf,
    /// Sweep now, whatever the schedule says (without it, only when a sweep is due).
    #[arg(long)]
    pub once: bool,
    /// Print the report as JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = server::load(&args.config)?;
    let exe = std::env::current_exe().context("cannot find the ccci executable to start runs with")?;
    let parts = server::serve::assemble(&config, exe)?;
    if !args.once {
        let due = config.sweep.schedule.next_due_on(&parts.store)?;
        if due > parts.store.now() {
            let (every, _) = config.sweep.schedule.describe();
            eprintln!(
                "no sweep is due: the next is due at {} (every {every}); `ccci sweep --once` sweeps now",
                server::web::format_time(due)
            );
            return Ok(ExitCode::SUCCESS);
        }
    }
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let report = match runtime.block_on(parts.sweeper.run("hand")) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(3));
        }
    };
    // One delivery attempt of the alerts it raised; a running server retries what is left.
    runtime.block_on(parts.alerts.deliver_due());
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.text(&config.public_url));
    }
    Ok(if report.needs_attention() { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
