//! Running commands for a run, with one rule for what a failure says: `<what> exited <code>:
//! <last output line>`. Inside a running task of a service of the app ([`in_service`]), or on the
//! CI host, in the run's sandbox (`crate::sandbox`) under the run's command time limit, its
//! capability socket served meanwhile and what it left in `CCCI_ARTIFACTS` taken out after
//! ([`on_host`]). Output goes to the log, redacted.

use std::time::{Duration, Instant};

use crate::context::RunContext;
use crate::outcome::TierEnd;
use crate::result::Tier;

/// What a command in a service printed and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ran {
    pub exit_code: i64,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    /// The last line of output worth quoting.
    pub fn last_line(&self) -> String {
        last_output_line(&self.stdout, &self.stderr)
    }

    /// `self` if it exited 0, else a fail "`what` exited N: last line".
    pub fn success(self, what: &str) -> Result<Ran, TierEnd> {
        if self.exit_code == 0 {
            Ok(self)
        } else {
            Err(TierEnd::fail(exited(what, self.exit_code, &self.last_line())))
        }
    }
}

/// The last non-empty output line: stdout's, else stderr's, trimmed.
pub fn last_output_line(stdout: &str, stderr: &str) -> String {
    stderr.lines().chain(stdout.lines()).rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim().to_string()
}

/// The one wording of a command's failure.
pub fn exited(what: &str, code: i64, last_line: &str) -> String {
    if last_line.is_empty() {
        format!("{what} exited {code}")
    } else {
        format!("{what} exited {code}: {last_line}")
    }
}

/// Run `argv` in a running task of `<stack>_<service>`, its output into the log. The exit code
/// is the caller's to judge ([`Ran::success`]); an engine failure is classed as usual.
pub async fn in_service(
    ctx: &RunContext<'_>,
    tier: Tier,
    stack: &str,
    service: &str,
    argv: &[&str],
) -> Result<Ran, TierEnd> {
    let out = ctx.engine.exec(stack, service, argv).await?;
    let ran = Ran {
        exit_code: out.exit_code,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    ctx.events.output(Some(tier), &ran.stdout);
    ctx.events.output(Some(tier), &ran.stderr);
    Ok(ran)
}

pub use crate::sandbox::HostCommand;

/// How a host command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRan {
    pub exit_code: i32,
    /// What it printed on stdout.
    pub stdout: String,
    /// The last output line, redacted.
    pub last_line: String,
    pub elapsed: Duration,
}

/// Run `cmd` on the CI host under the run's command time limit, its output into the log; why it
/// could not run (or did not finish in time) otherwise. Every process it started is gone when
/// this returns.
pub async fn on_host(ctx: &RunContext<'_>, tier: Tier, cmd: &HostCommand, what: &str) -> Result<HostRan, String> {
    let limit = ctx.options.limits.command;
    let mut spawned = ctx.sandbox.command(cmd).map_err(|e| format!("cannot run {what}: {e}"))?;
    ctx.events.step(Some(tier), crate::events::Step::CommandStarted { what: what.to_string() });
    let started = Instant::now();
    let child = spawned.command.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn();
    let child = child.map_err(|e| match cmd.trusted {
        true => format!("cannot run {what}: {e}"),
        false => {
            format!("cannot start {what} in the sandbox (ccci must be able to make namespaces and switch users): {e}")
        }
    })?;
    let pid = child.id();
    let ran = tokio::select! {
        ran = tokio::time::timeout(limit, child.wait_with_output()) => ran,
        never = crate::capability::serve(ctx, tier) => match never {},
    };
    if let (true, Some(pid)) = (spawned.kill_group, pid) {
        crate::sandbox::confine::kill_session(pid);
    }
    match ctx.sandbox.take_artifacts(&ctx.dirs.test_artifacts()) {
        Ok(_) => {}
        Err(e) => ctx.events.note(Some(tier), format!("cannot keep what {what} left in CCCI_ARTIFACTS: {e}")),
    }
    let refused = ctx.sandbox.refused_hosts();
    if !refused.is_empty() {
        ctx.events.note(
            Some(tier),
            format!(
                "the sandbox's network refused {what} connections to {} (sandboxed code reaches only this run's \
                 apps, through CCCI_PROXY_ADDR)",
                refused.join(", ")
            ),
        );
    }
    let out = match ran {
        Err(_) => return Err(format!("{what} did not finish within {}s", limit.as_secs())),
        Ok(Err(e)) => return Err(format!("cannot run {what}: {e}")),
        Ok(Ok(out)) => out,
    };
    let elapsed = started.elapsed();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    ctx.events.output(Some(tier), &stdout);
    ctx.events.output(Some(tier), &stderr);
    let exit_code = out.status.code().unwrap_or(-1);
    ctx.events.step(
        Some(tier),
        crate::events::Step::CommandFinished { what: what.to_string(), exit_code, seconds: elapsed.as_secs_f64() },
    );
    let last_line = ctx.events.redactor().redact(&last_output_line(&stdout, &stderr));
    Ok(HostRan { exit_code, stdout: stdout.into_owned(), last_line, elapsed })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_line_prefers_stdouts_end_and_failures_quote_it() {
        assert_eq!(last_output_line("a\nb\n\n", "e\n"), "b");
        assert_eq!(last_output_line("", "oops \n"), "oops");
        let ran = Ran { exit_code: 3, stdout: "x\n".into(), stderr: String::new() };
        assert_eq!(ran.clone().success("hook h in app").unwrap_err(), TierEnd::fail("hook h in app exited 3: x"));
        assert_eq!(exited("w", 1, ""), "w exited 1");
    }
}
