//! `ccci completions <shell>`: print a completion script (bash, zsh, fish, elvish, powershell),
//! generated from the same clap definition the binary parses with. The Debian package ships the
//! bash, zsh and fish ones (docs/operators.md).

use std::process::ExitCode;

use clap_complete::Shell;

/// Arguments of `ccci completions`.
#[derive(clap::Args)]
pub struct Args {
    /// The shell to print completions for.
    pub shell: Shell,
}

pub fn run(args: Args, mut cli: clap::Command) -> anyhow::Result<ExitCode> {
    let name = cli.get_name().to_string();
    clap_complete::generate(args.shell, &mut cli, name, &mut std::io::stdout());
    Ok(ExitCode::SUCCESS)
}
