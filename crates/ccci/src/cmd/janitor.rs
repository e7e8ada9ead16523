//! `ccci janitor`: remove every Docker object left by runs that are no longer live on this
//! machine (killed, crashed, or kept past their --ttl), whatever their age, and the sandbox
//! directories of runs that are not live.

use std::process::ExitCode;

use anyhow::Context;

/// Arguments of `ccci janitor`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub nodes: crate::node_hosts::NodeHosts,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let swarm = args.nodes.connect().await?;
        let report = harness::janitor::reap(&swarm, &harness::liveness::live_dir()).await?;
        for run in &report.reaped_runs {
            println!("reaped run {run}");
        }
        for (run, until) in &report.kept_runs {
            println!("kept run {run} until {until} (unix time; --keep-on-failure)");
        }
        for object in &report.removed {
            println!("  removed {object}");
        }
        for node in &report.unreachable_nodes {
            println!("node not reached (what dead runs left there stays until a later pass): {node}");
        }
        let data = harness::workspace::data_dir();
        for (app, tenant) in harness::shared::reap(&swarm, &data, &harness::liveness::live_dir()).await {
            println!("removed tenant {tenant} of a dead run from the shared {app}");
        }
        for run in harness::sandbox::reap_dead(&data, &harness::liveness::live_dir()) {
            println!("removed the sandbox of run {run}");
        }
        println!("{} run(s) reaped, {} object(s) removed", report.reaped_runs.len(), report.removed.len());
        Ok(ExitCode::SUCCESS)
    })
}
