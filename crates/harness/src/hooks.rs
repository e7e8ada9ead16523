//! Running one per-recipe hook (SPEC T4): a hook with a `service` runs inside a running task of
//! that service of the app; without one, on the CI host in the run's sandbox directory (which
//! holds `recipe/` and `tests/`) with the recipe-test environment (`crate::test_env`),
//! `CCCI_MARKER` set when it is a marker command: sandboxed, unless the CI tree gave the hook and
//! trusts it (SPEC V9). A hook that exits non-zero fails its tier. When hooks run is the run's
//! business (`crate::run`).

use recipe::config::Hook;

use crate::app::App;
use crate::context::RunContext;
use crate::events::Step;
use crate::exec::{self, HostCommand};
use crate::outcome::TierEnd;
use crate::result::Tier;

/// Run hook `name` against `app`; `marker` replaces `$CCCI_MARKER` in its command.
pub async fn run(
    ctx: &RunContext<'_>,
    app: &App,
    tier: Tier,
    name: &str,
    hook: &Hook,
    marker: Option<&str>,
) -> Result<(), TierEnd> {
    let vars: Vec<(&str, &str)> = marker.map(|m| ("CCCI_MARKER", m)).into_iter().collect();
    let argv = hook.command.argv(&vars);
    let Some((program, args)) = argv.split_first() else {
        return Err(TierEnd::fail(format!("hook {name}: empty command")));
    };
    ctx.events.step(Some(tier), Step::HookStarted { name: name.to_string(), service: hook.service.clone() });
    match &hook.service {
        Some(service) => {
            let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
            exec::in_service(ctx, tier, &app.stack, service, &refs)
                .await?
                .success(&format!("hook {name} in {service}"))?;
        }
        None => {
            let trusted = ctx.config.runs_trusted(hook);
            let mut env = crate::test_env::test_env(ctx, trusted);
            if let Some(m) = marker {
                env.insert("CCCI_MARKER".into(), m.into());
            }
            let dir = ctx.sandbox.seen(ctx.sandbox.dir(), trusted);
            let cmd = HostCommand { program: program.into(), args: args.to_vec(), dir, env, trusted };
            let what = format!("hook {name}");
            let ran =
                exec::on_host(ctx, tier, &cmd, &what).await.map_err(|e| TierEnd::error(format!("hook {name}: {e}")))?;
            if ran.exit_code != 0 {
                return Err(TierEnd::fail(exec::exited(&what, ran.exit_code.into(), &ran.last_line)));
            }
        }
    }
    Ok(())
}
