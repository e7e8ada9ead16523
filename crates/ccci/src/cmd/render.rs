//! `ccci render`: print the merged, interpolated compose document of a recipe as YAML.
//!
//! The app env is built as abra builds it (env file, `abra.sh` exports on top, `DOMAIN` and
//! `STACK_NAME`), then `--set` values; nothing comes from ccci's own process environment.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use recipe::{app_env, compose, env};

/// The domain used when no env file and no `--domain` are given.
pub const PLACEHOLDER_DOMAIN: &str = "recipe.example.com";

/// Arguments of `ccci render`.
#[derive(clap::Args)]
pub struct Args {
    /// The recipe directory.
    pub recipe: PathBuf,
    /// The app's env file (default: the recipe's .env.sample with a placeholder domain).
    #[arg(long)]
    pub env_file: Option<PathBuf>,
    /// Set or override one env value (repeatable), applied last.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// The app's domain (sets DOMAIN and STACK_NAME).
    #[arg(long)]
    pub domain: Option<String>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (file, default_domain) = match &args.env_file {
        Some(path) => (env::parse_file(path)?, None),
        None => (app_env::env_sample(&args.recipe)?.file, Some(PLACEHOLDER_DOMAIN)),
    };
    let abra_sh = app_env::read_abra_sh(&args.recipe)?;
    let mut app = app_env::build(&file, &abra_sh, args.domain.as_deref().or(default_domain));
    for pair in &args.set {
        let (k, v) = pair.split_once('=').with_context(|| format!("--set {pair}: expected KEY=VALUE"))?;
        app.insert(k.to_string(), v.to_string());
    }
    let rendered = compose::load(&args.recipe, &app_env::compose_files(&app), &app)?;
    print!("{}", rendered.to_yaml());
    Ok(ExitCode::SUCCESS)
}
