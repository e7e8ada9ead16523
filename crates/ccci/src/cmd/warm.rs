//! `ccci warm`: the warm canonical copies (SPEC W1–W4). `seed` re-seeds a recipe's copy from a
//! green cold run of an annotated release tag; `status` lists the copies; `drop` removes one with
//! its volumes, secrets and snapshot.

use std::process::ExitCode;

use anyhow::Context;
use harness::context::RunMode;
use harness::warm::canonical::{self, Canonical, WarmDir};

/// Arguments of `ccci warm`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: WarmCommand,
}

#[derive(clap::Subcommand)]
pub enum WarmCommand {
    /// Cold-test a recipe at an annotated release tag (`--ref`) and, green, make it the canonical copy.
    Seed(Box<super::test::Args>),
    /// The canonical copies: version, commit, status, snapshot, last change, last quick run.
    Status {
        /// One JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Remove a recipe's canonical copy: its volumes, secrets, snapshot and record.
    Drop {
        /// The recipe's name.
        recipe: String,
        #[command(flatten)]
        nodes: crate::node_hosts::NodeHosts,
    },
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        WarmCommand::Seed(run) => {
            if run.quick || run.keep_on_failure {
                anyhow::bail!("ccci warm seed runs cold and tears down: leave out --quick and --keep-on-failure");
            }
            super::test::run_as(*run, RunMode::Seed)
        }
        WarmCommand::Status { json } => status(json),
        WarmCommand::Drop { recipe, nodes } => drop_copy(&recipe, &nodes),
    }
}

fn status(json: bool) -> anyhow::Result<ExitCode> {
    let copies = canonical::list(&harness::workspace::data_dir());
    if json {
        println!("{}", serde_json::to_string_pretty(&copies)?);
        return Ok(ExitCode::SUCCESS);
    }
    if copies.is_empty() {
        println!("no canonical copies (seed one with `ccci warm seed <recipe> --ref <release tag>`)");
    }
    for c in &copies {
        println!("{}", line(c));
    }
    Ok(ExitCode::SUCCESS)
}

/// One copy in one line: recipe, version, commit, status, snapshot, why, last quick.
fn line(c: &Canonical) -> String {
    let snapshot = c
        .snapshot
        .as_ref()
        .map_or("no snapshot".to_string(), |s| format!("snapshot {} ({} bytes)", s.taken_at, s.bytes));
    let quick =
        c.last_quick.as_ref().map_or(String::new(), |q| format!("; last quick {} {}", q.run_id, q.outcome.name()));
    let commit = &c.commit[..c.commit.len().min(12)];
    format!(
        "{:<16} {:<24} {commit} {:<7} {snapshot}; {} ({}){quick}",
        c.recipe,
        c.version,
        c.status.name(),
        c.why,
        c.changed_at
    )
}

fn drop_copy(recipe: &str, nodes: &crate::node_hosts::NodeHosts) -> anyhow::Result<ExitCode> {
    let dir = WarmDir::new(&harness::workspace::data_dir(), recipe).map_err(anyhow::Error::msg)?;
    let Some(record) = dir.load()? else {
        anyhow::bail!("{recipe} has no canonical copy (`ccci warm status` lists them)");
    };
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let _lock = harness::locks::acquire(&dir.lock_path()).await?;
        let swarm = nodes.connect().await?;
        let engine: &dyn harness::engine::Engine = &swarm;
        let run = harness::run_id::new_run_id();
        engine.undeploy(&record.stack, &run, std::time::Duration::from_secs(120)).await?;
        for removed in engine.drop_canonical(&record.stack).await? {
            println!("removed {removed}");
        }
        dir.remove()?;
        println!("dropped the canonical copy of {recipe} ({} at {})", record.domain, record.version);
        Ok(ExitCode::SUCCESS)
    })
}
