//! `ccci render`: print the merged, interpolated compose document of a recipe as YAML.

use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `ccci render`.
#[derive(clap::Args)]
pub struct Args {
    /// The recipe directory.
    pub recipe: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("render of {} is not built yet", args.recipe.display())
}
