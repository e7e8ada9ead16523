//! The unprivileged user pull-request code runs as (SPEC V9), made by `ccci server init` when it
//! is missing (a system user with its own group, no home, no login shell) and taken out of the
//! `docker` group when someone put it there (that would hand it the Docker socket: root).

use std::process::Command;

use harness::sandbox::runner;

use crate::{Change, Error, Result};

/// Make sure `name` exists and is not in the docker group; what changed and what is there now.
pub fn ensure(name: &str) -> Result<(Change, String)> {
    let mut change = Change::Unchanged;
    if runner::lookup(name).map_err(Error::RunnerUser)?.is_none() {
        useradd(name)?;
        change = Change::Created;
    }
    if runner::in_group(name, "docker").map_err(Error::RunnerUser)? {
        run("gpasswd", &["-d", name, "docker"])?;
        change = Change::Replaced;
    }
    let Some(user) = runner::lookup(name).map_err(Error::RunnerUser)? else {
        return Err(Error::RunnerUser(format!("useradd reported success but there is no user {name}")));
    };
    Ok((change, format!("uid {}, own group, not in the docker group", user.uid)))
}

fn useradd(name: &str) -> Result<()> {
    let args = ["--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent"];
    run("useradd", &[&args[..], &["--shell", "/usr/sbin/nologin", name]].concat())
}

fn run(program: &str, args: &[&str]) -> Result<()> {
    let out = Command::new(program).args(args).output().map_err(|e| {
        Error::RunnerUser(format!(
            "cannot run {program} (Debian package passwd; ccci server init must run as root): {e}"
        ))
    })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Error::RunnerUser(format!("{program} {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim())))
    }
}
