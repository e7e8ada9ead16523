//! Per-recipe hooks (SPEC T4) around the tiers: before install the run's cold dependencies are
//! deployed and `pre_install` runs (on the CI host: nothing is deployed yet); `post_install` after
//! install passed; `pre_upgrade`, `pre_backup`, `pre_restore` before their tier. A hook with a
//! `service` runs inside a running task of that service of the app; without one, on the CI host in
//! the run's work dir with the recipe-test environment. A hook that exits non-zero fails the tier.
//! The recipe's own data-marker commands (`marker.write`, `marker.check`) are offered to the
//! marker tiers through [`marker`].

use recipe::config::Hook;

use crate::context::RunContext;
use crate::result::Tier;
use crate::tiers::{self, TierEnd};

/// Carry out `tier` with its hooks (and, for install, the dependencies first).
pub async fn around(tier: Tier, ctx: &RunContext<'_>) -> Result<String, TierEnd> {
    let hooks = ctx.state.lock().unwrap_or_else(|e| e.into_inner()).config.hooks.clone();
    let before = match tier {
        Tier::Install => {
            crate::dependencies::deploy_all(ctx).await?;
            hooks.pre_install.map(|h| ("pre_install", h))
        }
        Tier::Upgrade => hooks.pre_upgrade.map(|h| ("pre_upgrade", h)),
        Tier::Backup => hooks.pre_backup.map(|h| ("pre_backup", h)),
        Tier::Restore => hooks.pre_restore.map(|h| ("pre_restore", h)),
        Tier::Custom => None,
    };
    if let Some((name, hook)) = before {
        run_hook(ctx, tier, name, &hook, None).await?;
    }
    let proved = tiers::run(tier, ctx).await?;
    if let (Tier::Install, Some(hook)) = (tier, hooks.post_install) {
        run_hook(ctx, tier, "post_install", &hook, None).await?;
    }
    Ok(proved)
}

/// Which recipe marker command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkerStep {
    Write,
    Check,
    Spoil,
}

/// Run the recipe's own marker command for `step` with `$CCCI_MARKER` set to `marker`; `None`
/// when the config has none (the CI's default marker applies).
pub async fn marker(ctx: &RunContext<'_>, tier: Tier, step: MarkerStep, marker: &str) -> Option<Result<(), TierEnd>> {
    let markers = ctx.state.lock().unwrap_or_else(|e| e.into_inner()).config.marker.clone();
    let (name, hook) = match step {
        MarkerStep::Write => ("marker.write", markers.write?),
        MarkerStep::Check => ("marker.check", markers.check?),
        MarkerStep::Spoil => ("marker.spoil", markers.spoil?),
    };
    Some(run_hook(ctx, tier, name, &hook, Some(marker)).await)
}

/// Run one hook; its output goes to the log (redacted).
pub async fn run_hook(
    ctx: &RunContext<'_>,
    tier: Tier,
    name: &str,
    hook: &Hook,
    marker: Option<&str>,
) -> Result<(), TierEnd> {
    let argv = hook.command.argv(marker);
    let Some((program, args)) = argv.split_first() else {
        return Err(TierEnd::fail(format!("hook {name}: empty command")));
    };
    match &hook.service {
        Some(service) => {
            ctx.log.step(Some(tier), &format!("hook {name} in {service}"));
            let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
            let out = ctx.swarm.exec(&ctx.app.stack, service, &refs).await?;
            let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            ctx.log.detail(Some(tier), &stdout);
            ctx.log.detail(Some(tier), &stderr);
            if out.exit_code != 0 {
                let tail = stderr.lines().chain(stdout.lines()).rev().find(|l| !l.trim().is_empty()).unwrap_or("");
                return Err(TierEnd::fail(format!(
                    "hook {name} in {service} exited {}: {}",
                    out.exit_code,
                    tail.trim()
                )));
            }
        }
        None => {
            let mut cmd = tokio::process::Command::new(program);
            cmd.args(args).current_dir(ctx.workdir);
            let mut env = crate::recipe_tests::test_env(ctx);
            if let Some(m) = marker {
                env.insert("CCCI_MARKER".into(), m.into());
            }
            let (code, tail, _) = crate::recipe_tests::run_logged(ctx, tier, cmd, &env, &format!("hook {name}"))
                .await
                .map_err(|e| TierEnd::error(format!("hook {name}: {e}")))?;
            if code != 0 {
                return Err(TierEnd::fail(format!("hook {name} exited {code}: {tail}")));
            }
        }
    }
    Ok(())
}
