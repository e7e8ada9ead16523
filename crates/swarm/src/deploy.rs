//! D3: deploy a stack with Docker's own compose→service conversion, `docker stack deploy`, fed the
//! merged, already-interpolated document. The CLI runs with a cleared environment (only `PATH`, a
//! throw-away `HOME` and `DOCKER_HOST` if set), so nothing of the CI's own environment leaks into
//! the interpolation Docker performs again; every `$` is escaped as `$$` for that reason.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_norway::Value;

use crate::error::{Error, Result};
use crate::labels::RUN;
use crate::Swarm;

/// One stack deployment.
#[derive(Debug, Clone)]
pub struct Deploy<'a> {
    /// Stack name (`com.docker.stack.namespace`, prefix of every object).
    pub stack: &'a str,
    /// Run id: every object of the stack is labelled `cc-ci.run=<run_id>`.
    pub run_id: &'a str,
    /// The merged, interpolated compose document (as `docker stack config` would print it).
    pub document: &'a Value,
    /// Directory of the run's workspace; the document is written there as
    /// `<stack>.compose.yml`. Relative `file:` paths of configs resolve against it (see
    /// [`crate::compose::absolutize_files`]).
    pub workdir: &'a Path,
    /// D7: deploy every service with `endpoint_mode: dnsrr` (see [`crate::compose::use_dnsrr`]).
    pub dnsrr: bool,
}

/// What the deploy wrote and said.
#[derive(Debug, Clone)]
pub struct Deployed {
    /// The compose file handed to `docker stack deploy` (labelled and escaped).
    pub compose_file: PathBuf,
    /// The CLI's combined output (`Creating service ...` lines and warnings).
    pub output: String,
}

impl Swarm {
    /// Label the document with the run, apply dnsrr if asked, check that every image exists
    /// locally ([`Error::ImagesMissing`] otherwise), escape `$`, write it to the workspace and run
    /// `docker stack deploy --detach=true --resolve-image never` (no `--prune`). Returns once the
    /// services are created; call [`Swarm::wait_converged`] next. Deploying again with a changed
    /// document updates the stack in place (upgrade).
    pub async fn deploy(&self, d: &Deploy<'_>) -> Result<Deployed> {
        self.deploy_labelled(d, &[(RUN, d.run_id)]).await
    }

    /// [`Swarm::deploy`], labelling everything the stack creates with `labels` instead of the run
    /// (`d.run_id` is not used): for the CI's own infrastructure apps, whose objects carry
    /// `cc-ci.infra=<app>` and never `cc-ci.run`, so no janitor reaps them.
    pub async fn deploy_labelled(&self, d: &Deploy<'_>, labels: &[(&str, &str)]) -> Result<Deployed> {
        let mut doc = d.document.clone();
        crate::compose::add_labels(&mut doc, labels)?;
        if d.dnsrr {
            crate::compose::use_dnsrr(&mut doc)?;
        }
        self.check_images(&doc).await?;
        crate::compose::escape_dollars(&mut doc);
        let text =
            serde_norway::to_string(&doc).map_err(|e| Error::InvalidDocument(format!("cannot serialise: {e}")))?;
        let compose_file = d.workdir.join(format!("{}.compose.yml", d.stack));
        tokio::fs::write(&compose_file, text)
            .await
            .map_err(Error::io(format!("writing {}", compose_file.display())))?;
        let output = self.stack_cli(d.stack, &compose_file).await?;
        Ok(Deployed { compose_file, output })
    }

    async fn stack_cli(&self, stack: &str, compose_file: &Path) -> Result<String> {
        let home = tempfile::tempdir().map_err(Error::io("creating a temporary HOME"))?;
        let mut cmd = tokio::process::Command::new(&self.cli);
        cmd.env_clear()
            .env("HOME", home.path())
            .args(["stack", "deploy", "--detach=true", "--resolve-image", "never", "--compose-file"])
            .arg(compose_file)
            .arg(stack)
            .stdin(Stdio::null())
            .kill_on_drop(true);
        crate::process::die_with_parent(&mut cmd);
        for var in ["PATH", "DOCKER_HOST"] {
            if let Some(v) = std::env::var_os(var) {
                cmd.env(var, v);
            }
        }
        let out = cmd.output().await.map_err(Error::io(format!("running {} stack deploy", self.cli.display())))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            return Ok(format!("{stdout}{stderr}"));
        }
        let unreachable = ["Cannot connect to the Docker daemon", "error during connect", "connection refused"];
        if unreachable.iter().any(|m| stderr.contains(m)) {
            return Err(Error::DeployUnavailable { stack: stack.into(), message: one_line(&stderr) });
        }
        Err(Error::DeployRejected { stack: stack.into(), message: one_line(&stderr), stderr: stderr.into_owned() })
    }
}

/// The CLI's stderr on one line, without its warnings (`Ignoring unsupported options...`).
fn one_line(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("Ignoring") && !l.starts_with("Since --detach"))
        .collect();
    if lines.is_empty() {
        stderr.trim().replace('\n', "; ")
    } else {
        lines.join("; ")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cli_errors_become_one_line_without_warnings() {
        let stderr = "Ignoring unsupported options: restart\n\nservice app: undefined network \"nope\"\n";
        assert_eq!(super::one_line(stderr), "service app: undefined network \"nope\"");
    }
}
