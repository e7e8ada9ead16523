//! `ccci`: the command-line entry point. Thin clap wiring onto the crates; no logic of its own.

mod cmd;
mod node_hosts;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

/// Continuous integration for Co-op Cloud recipes.
#[derive(Parser)]
#[command(name = "ccci", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the merged, interpolated compose document of a recipe (as `docker stack config` would).
    Render(cmd::render::Args),
    /// Print what a test run of a recipe would do and why, without touching Docker.
    Plan(cmd::plan::Args),
    /// Check a recipe against abra's lint rules and the CI's pre-flight checks.
    Lint(cmd::lint::Args),
    /// Test a recipe on the local swarm: install, upgrade, backup, restore, custom, then tear down.
    Test(Box<cmd::test::Args>),
    /// The warm canonical copies: seed one from a release tag, list them, drop one.
    Warm(cmd::warm::Args),
    /// Remove every Docker object of runs that are no longer live (killed, or kept past their TTL).
    Janitor(cmd::janitor::Args),
    /// From a recipe test: run a command in a service of the run's app (`-- cmd args...`).
    RunExec(cmd::run_exec::Args),
    /// From a recipe test: print the value of one of the run's secrets.
    RunSecret(cmd::run_secret::Args),
    /// Run the cc-ci server: `!testme` intake, run queue, PR feedback, dashboard.
    Serve(cmd::serve::Args),
    /// Set up the host the server runs on (`ccci server init --config FILE`).
    Server(cmd::server::Args),
    /// Sweep now: infrastructure, mirrors, new releases, clean-up (`ccci sweep --config FILE --once`).
    Sweep(cmd::sweep::Args),
    /// The infrastructure apps (proxy, warm dependencies): their status, health-gated updates.
    Infra(cmd::infra::Args),
    /// Check the server's configuration file (`ccci config check --config FILE`).
    Config(cmd::config::Args),
    /// Check this host for running the server (Docker, swarm, proxy, disk, forge, webhook, runner user).
    Doctor(cmd::doctor::Args),
    /// Print a shell completion script on stdout (bash, zsh, fish, elvish, powershell).
    Completions(cmd::completions::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Render(args) => cmd::render::run(args),
        Command::Plan(args) => cmd::plan::run(args),
        Command::Lint(args) => cmd::lint::run(args),
        Command::Test(args) => cmd::test::run(*args),
        Command::Warm(args) => cmd::warm::run(args),
        Command::Janitor(args) => cmd::janitor::run(args),
        Command::RunExec(args) => cmd::run_exec::run(args),
        Command::RunSecret(args) => cmd::run_secret::run(args),
        Command::Serve(args) => cmd::serve::run(args),
        Command::Server(args) => cmd::server::run(args),
        Command::Sweep(args) => cmd::sweep::run(args),
        Command::Infra(args) => cmd::infra::run(args),
        Command::Config(args) => cmd::config::run(args),
        Command::Doctor(args) => cmd::doctor::run(args),
        Command::Completions(args) => cmd::completions::run(args, Cli::command()),
    };
    match outcome {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
