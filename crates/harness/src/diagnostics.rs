//! Failure diagnostics kept as an artifact: every task of the stack (state, error, exit code) as
//! `docker service ps` would list it, and the last log lines of every service, all redacted.

use std::fmt::Write as _;

use crate::context::RunContext;

/// Log lines kept per service.
const LOG_TAIL: usize = 50;

/// Write `diagnostics.txt` into the artifacts directory and keep it as an artifact.
pub async fn collect(ctx: &RunContext<'_>) {
    let mut text = String::new();
    let stack = &ctx.app.stack;
    let _ = writeln!(text, "# tasks of stack {stack}");
    match ctx.engine.tasks(stack).await {
        Ok(tasks) => {
            let _ = writeln!(text, "{:<40} {:<10} {:<10} {:<6} ERROR / MESSAGE", "SERVICE", "DESIRED", "STATE", "EXIT");
            for t in tasks {
                let exit = t.exit_code.map(|c| c.to_string()).unwrap_or_default();
                let why = if t.error.is_empty() { t.message } else { t.error };
                let _ = writeln!(text, "{:<40} {:<10} {:<10} {:<6} {}", t.service, t.desired_state, t.state, exit, why);
            }
        }
        Err(e) => {
            let _ = writeln!(text, "cannot list tasks: {e}");
        }
    }
    match ctx.engine.stack_logs(stack, LOG_TAIL).await {
        Ok(services) => {
            for (service, lines) in services {
                let _ = writeln!(text, "\n# last {} log lines of {service}", lines.len());
                for line in lines {
                    let _ = writeln!(text, "{line}");
                }
            }
        }
        Err(e) => {
            let _ = writeln!(text, "\ncannot read logs: {e}");
        }
    }
    let path = ctx.dirs.artifacts.join("diagnostics.txt");
    if std::fs::create_dir_all(&ctx.dirs.artifacts).is_err()
        || std::fs::write(&path, ctx.events.redactor().redact(&text)).is_err()
    {
        ctx.events.note(None, format!("cannot write {}", path.display()));
        return;
    }
    ctx.keep_artifact(&path, "diagnostics");
}
