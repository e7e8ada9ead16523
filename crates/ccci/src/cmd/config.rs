//! `ccci config check`: load the server's configuration file as `ccci serve` would, print the
//! configuration in force with every secret masked, and exit non-zero naming any problem.

use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `ccci config`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: ConfigCommand,
}

/// What `ccci config` can do.
#[derive(clap::Subcommand)]
pub enum ConfigCommand {
    /// Check a server configuration file and print it with defaults filled in and secrets masked.
    Check {
        /// The server's configuration file.
        #[arg(long, env = "CCCI_CONFIG")]
        config: PathBuf,
    },
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        ConfigCommand::Check { config } => match server::load(&config) {
            Ok(loaded) => {
                print!("{}", server::effective(&loaded));
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("error: {e}");
                Ok(ExitCode::FAILURE)
            }
        },
    }
}
