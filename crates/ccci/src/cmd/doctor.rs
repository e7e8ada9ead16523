//! `ccci doctor`: check this host for running the cc-ci server and print one line per check with
//! what to fix (docs/troubleshooting.md). Exit 0 only when no check fails (warnings do not).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

/// Arguments of `ccci doctor`.
#[derive(clap::Args)]
pub struct Args {
    /// The server's configuration file.
    #[arg(long, env = "CCCI_CONFIG", default_value = "/etc/cc-ci/server.toml")]
    pub config: PathBuf,
    /// Free space the data dir's file system must have, in GiB (runs, artifacts, snapshots).
    #[arg(long, default_value_t = doctor::DEFAULT_MIN_FREE_GIB)]
    pub min_free_gib: u64,
    /// The unprivileged user pull-request code runs as.
    #[arg(long, default_value = doctor::RUNNER_USER)]
    pub runner_user: String,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let options = doctor::Options {
        min_free_bytes: args.min_free_gib.saturating_mul(1 << 30),
        runner_user: args.runner_user,
        ..doctor::Options::new(args.config)
    };
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let checks = runtime.block_on(doctor::run(&options));
    for check in &checks {
        println!("{check}");
    }
    let failed = checks.iter().filter(|c| c.status == doctor::Status::Fail).count();
    let warned = checks.iter().filter(|c| c.status == doctor::Status::Warn).count();
    if failed == 0 {
        match warned {
            0 => println!("all {} checks passed", checks.len()),
            n => println!("all {} checks passed, {n} with a warning", checks.len()),
        }
        Ok(ExitCode::SUCCESS)
    } else {
        println!("{failed} of {} checks failed", checks.len());
        Ok(ExitCode::FAILURE)
    }
}
