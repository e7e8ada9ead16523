//! `ccci run-secret <name>`: from inside a recipe test, print the value of one of the run's
//! secrets (by compose secret key, e.g. `db_password`, or by Docker secret name; a dependency's by
//! `<its stack>/<key>`) on stdout, without a trailing newline. It reads the run's private secrets
//! file under `CCCI_RUN_DIR` (set by the custom tier); the value is shown to the caller only.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `ccci run-secret`.
#[derive(clap::Args)]
pub struct Args {
    /// The secret's compose key or Docker name.
    pub name: String,
    /// The run's work dir (default: `$CCCI_RUN_DIR`, set for recipe tests).
    #[arg(long, env = harness::secrets_file::RUN_DIR_ENV)]
    pub run_dir: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match harness::secrets_file::read_secret(&args.run_dir, &args.name) {
        Some(value) => {
            std::io::stdout().write_all(value.as_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
        None => anyhow::bail!("the run in {} has no secret {:?}", args.run_dir.display(), args.name),
    }
}
