//! `ccci run-secret <name>`: from inside a recipe test, print the value of one of the run's
//! secrets (by compose secret key, e.g. `db_password`, or by Docker secret name; a dependency's by
//! `<its stack>/<key>`) on stdout, without a trailing newline. Inside a run it asks the run's own
//! ccci over `CCCI_RUN_SOCKET`; without that socket it reads the run's private secrets file under
//! `--run-dir` (root only). The value is shown to the caller only.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use harness::capability::{self, Request};

/// Arguments of `ccci run-secret`.
#[derive(clap::Args)]
pub struct Args {
    /// The secret's compose key or Docker name.
    pub name: String,
    /// The run's capability socket (default: `$CCCI_RUN_SOCKET`, set for recipe tests).
    #[arg(long, env = harness::sandbox::SOCKET_ENV)]
    pub socket: Option<PathBuf>,
    /// Without a socket: the run's work dir, whose secrets file is read.
    #[arg(long, env = harness::secrets_file::RUN_DIR_ENV)]
    pub run_dir: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let value = match (&args.socket, &args.run_dir) {
        (Some(socket), _) => {
            let out = capability::ask(socket, &Request::Secret { name: args.name.clone() })
                .map_err(|why| anyhow::anyhow!("run-secret: {why}"))?;
            out.stdout
        }
        (None, Some(dir)) => match harness::secrets_file::read_secret(dir, &args.name) {
            Some(value) => value.into_bytes(),
            None => anyhow::bail!("the run in {} has no secret {:?}", dir.display(), args.name),
        },
        (None, None) => anyhow::bail!("run-secret works inside a run's tests (CCCI_RUN_SOCKET is not set)"),
    };
    std::io::stdout().write_all(&value)?;
    Ok(ExitCode::SUCCESS)
}
