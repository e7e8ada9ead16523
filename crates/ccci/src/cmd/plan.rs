//! `ccci plan`: print what a test run of a recipe would do and why (tiers, upgrade base, secrets,
//! configs, images, timeout), without touching Docker.

use std::process::ExitCode;

use recipe::plan::{self, Overrides};
use recipe::recipe::Recipe;

/// Arguments of `ccci plan`.
#[derive(clap::Args)]
pub struct Args {
    /// The recipe: a directory or a git URL.
    pub recipe: String,
    /// The git ref to plan for (a branch, tag or commit); the checkout's HEAD when omitted.
    #[arg(long = "ref")]
    pub git_ref: Option<String>,
    /// The CI's recipe tree, for `recipes/<name>/ccci.toml` (per-recipe config).
    #[arg(long, env = recipe::config::CONFIG_DIR_ENV)]
    pub config_dir: Option<std::path::PathBuf>,
    /// Print the plan as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let recipe = Recipe::open(&args.recipe, args.git_ref.as_deref())?;
    let config = recipe::config::load(&recipe.dir, args.config_dir.as_deref(), &recipe.name)?;
    let overrides: Overrides = config.overrides();
    let plan = plan::plan(&recipe, args.git_ref.as_deref(), &overrides)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&plan)?);
    } else {
        print!("{}", plan.to_text());
    }
    Ok(ExitCode::SUCCESS)
}
