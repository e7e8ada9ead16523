//! `ccci lint`: abra's recipe rules and the CI's pre-flight checks. Exit 0 when clean or only
//! warnings, 1 when any finding is an error, 2 when the recipe cannot be read.

use std::process::ExitCode;

use recipe::lint::{self, Level, LintOptions};
use recipe::recipe::Recipe;

/// Arguments of `ccci lint`.
#[derive(clap::Args)]
pub struct Args {
    /// The recipe: a directory or a git URL.
    pub recipe: String,
    /// The git ref to lint (a branch, tag or commit); the checkout as it is when omitted.
    #[arg(long = "ref")]
    pub git_ref: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Rules not to apply, e.g. `--skip R010`.
    #[arg(long, value_name = "RULE")]
    pub skip: Vec<String>,
    /// The CI's base domain for C001 (default: the worst case, a 45-character stack name).
    #[arg(long)]
    pub base_domain: Option<String>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let recipe = Recipe::open(&args.recipe, args.git_ref.as_deref())?;
    let options = LintOptions { skip: args.skip, base_domain: args.base_domain };
    let report = lint::lint(&recipe, &options)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for finding in &report.findings {
            println!("{}", finding.to_line());
        }
        for skipped in &report.skipped {
            println!("{}: skipped: {}", skipped.rule, skipped.reason);
        }
        let count = |level| report.findings.iter().filter(|f| f.level == level).count();
        println!(
            "{}: {} errors, {} warnings, {} info",
            report.recipe,
            count(Level::Error),
            count(Level::Warning),
            count(Level::Info)
        );
    }
    Ok(if report.has_errors() { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
