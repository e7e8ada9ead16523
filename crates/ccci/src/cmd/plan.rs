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
    /// Print the plan as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let recipe = Recipe::open(&args.recipe, args.git_ref.as_deref())?;
    let plan = plan::plan(&recipe, args.git_ref.as_deref(), &Overrides::default())?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&plan)?);
    } else {
        print!("{}", plan.to_text());
    }
    Ok(ExitCode::SUCCESS)
}
