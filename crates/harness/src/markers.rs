//! T3 data markers: a unique value written into the app's data before upgrade and before backup,
//! and checked after upgrade and after restore.
//!
//! A marker is carried out by [`MarkerHooks`]: three shell command lines run with `sh -c` inside a
//! running container of one service (`$1` is the marker value). Per-recipe config may supply its
//! own (e.g. an SQL row) by putting them in `RunState::marker_hooks` before the tiers run;
//! otherwise the default is a file `.ccci-marker`, placed by [`default_hooks`]:
//!
//! - the volume: the first volume the backup covers (backupbot labels), else the first named
//!   volume of `app`; no volume → no marker (the checks are skipped with that reason in the log);
//! - the directory, inside a container of the service mounting it (a backup service first):
//!   the first backed-up path that is a directory; when the backup is limited to paths that are
//!   files (a dump a pre-hook writes, like `backup.tar`), the marker must sit in the live data the
//!   dump is made from, so the first directory at the volume root is taken; else the volume root.

use rand::Rng;

use crate::backupbot;
use crate::context::RunContext;
use crate::hooks::{self, MarkerStep};
use crate::result::Tier;
use crate::tiers::TierEnd;

/// The file name of the default marker.
pub const MARKER_FILE: &str = ".ccci-marker";

/// How to write, read and spoil a marker. Each is a shell command line run as
/// `sh -c <cmd> ccci-marker <value>` in a running container of `service`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkerHooks {
    /// The compose service to exec into.
    pub service: String,
    /// Stores `$1`.
    pub write: String,
    /// Prints the stored value on stdout (nothing, or a non-zero exit, when absent).
    pub check: String,
    /// Deletes the marker and mutates the data (before a restore).
    pub spoil: String,
    /// Where the marker lives, for the log (`file /var/lib/db/data/.ccci-marker in db`).
    pub describe: String,
}

impl MarkerHooks {
    /// The default file marker in directory `dir` of `service`.
    pub fn file(service: &str, dir: &str) -> Self {
        let file = format!("{}/{MARKER_FILE}", dir.trim_end_matches('/'));
        let junk = format!("{}/.ccci-junk", dir.trim_end_matches('/'));
        MarkerHooks {
            service: service.to_string(),
            write: format!("mkdir -p '{dir}' && printf %s \"$1\" > '{file}'"),
            check: format!("cat '{file}'"),
            spoil: format!("rm -f '{file}' && echo junk > '{junk}'"),
            describe: format!("file {file} in {service}"),
        }
    }
}

/// Picks the marker directory inside the container: `$1` the mount target, then backed-up paths.
const PICK_DIR: &str = r#"t=$1; shift
for p in "$@"; do [ -d "$t/$p" ] && { echo "$t/$p"; exit 0; }; done
if [ $# -gt 0 ]; then for d in "$t"/*/; do [ -d "$d" ] && { echo "${d%/}"; exit 0; }; done; fi
echo "$t""#;

/// The hooks in use: preset ones, else the default file marker for the app deployed now
/// (`None` when the app has no volume to hold one). Resolved once per run.
pub async fn hooks(ctx: &RunContext<'_>, deployed: &crate::app::App) -> Result<Option<MarkerHooks>, TierEnd> {
    if let Some(h) = ctx.state.lock().unwrap_or_else(|e| e.into_inner()).marker_hooks.clone() {
        return Ok(Some(h));
    }
    let Some(h) = default_hooks(ctx, deployed).await? else {
        return Ok(None);
    };
    ctx.state.lock().unwrap_or_else(|e| e.into_inner()).marker_hooks = Some(h.clone());
    Ok(Some(h))
}

/// The default file marker (see the module doc).
pub async fn default_hooks(ctx: &RunContext<'_>, app: &crate::app::App) -> Result<Option<MarkerHooks>, TierEnd> {
    let plan = backupbot::plan(&app.doc, &app.stack);
    let (service, target, paths) =
        match plan.volumes.iter().find_map(|v| v.mounted_by.clone().map(|(s, t)| (s, t, v.paths.clone()))) {
            Some(found) => found,
            None => match backupbot::volume_mounts(&app.doc, "app").into_iter().next() {
                Some((_, target)) => ("app".to_string(), target, Vec::new()),
                None => return Ok(None),
            },
        };
    let mut cmd = vec!["sh", "-c", PICK_DIR, "ccci-pick", target.as_str()];
    cmd.extend(paths.iter().map(|p| p.trim_matches('/')).filter(|p| !p.is_empty()));
    let out = ctx.swarm.exec(&app.stack, &service, &cmd).await?;
    let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let dir = if out.exit_code == 0 && !dir.is_empty() { dir } else { target };
    Ok(Some(MarkerHooks::file(&service, &dir)))
}

/// Whether the recipe's per-recipe config supplies its own marker (`marker.write` and
/// `marker.check`); it then wins over the default file marker.
fn configured(ctx: &RunContext<'_>) -> bool {
    let state = ctx.state.lock().unwrap_or_else(|e| e.into_inner());
    state.config.marker.write.is_some() && state.config.marker.check.is_some()
}

fn new_value() -> String {
    format!("ccci-{:016x}", rand::rng().random::<u64>())
}

/// Write, check or spoil through the recipe's configured marker hooks.
async fn configured_step(
    ctx: &RunContext<'_>,
    tier: Tier,
    step: MarkerStep,
    value: &str,
    what: &str,
) -> Result<(), TierEnd> {
    let Some(outcome) = hooks::marker(ctx, tier, step, value).await else {
        ctx.log.step(
            Some(tier),
            "no marker.spoil hook in the per-recipe config: the data is not mutated before the restore",
        );
        return Ok(());
    };
    outcome.map_err(|e| match step {
        MarkerStep::Check => TierEnd::fail(format!("marker missing after {what}: marker.check failed: {}", e.reason)),
        MarkerStep::Write => TierEnd::fail(format!("cannot write the data marker (marker.write): {}", e.reason)),
        MarkerStep::Spoil => {
            TierEnd::error(format!("cannot spoil the data before the restore (marker.spoil): {}", e.reason))
        }
    })
}

async fn exec_hook(
    ctx: &RunContext<'_>,
    app: &crate::app::App,
    h: &MarkerHooks,
    cmd: &str,
    value: &str,
) -> Result<swarm::exec::ExecOutput, TierEnd> {
    Ok(ctx.swarm.exec(&app.stack, &h.service, &["sh", "-c", cmd, "ccci-marker", value]).await?)
}

/// Write a new marker into `app`'s data before `what` ("upgrade", "backup"). Returns the value,
/// or `None` (logged) when the app has nowhere to hold one.
pub async fn write(
    ctx: &RunContext<'_>,
    app: &crate::app::App,
    tier: Tier,
    what: &str,
) -> Result<Option<String>, TierEnd> {
    if configured(ctx) {
        let value = new_value();
        configured_step(ctx, tier, MarkerStep::Write, &value, what).await?;
        ctx.state.lock().unwrap_or_else(|e| e.into_inner()).marker = Some(value.clone());
        ctx.log.step(Some(tier), &format!("marker {value} written by marker.write before {what}"));
        return Ok(Some(value));
    }
    let Some(h) = hooks(ctx, app).await? else {
        ctx.log.step(Some(tier), "no volume to hold a data marker: marker checks skipped");
        return Ok(None);
    };
    let value = new_value();
    let out = exec_hook(ctx, app, &h, &h.write, &value).await?;
    if out.exit_code != 0 {
        return Err(TierEnd::fail(format!(
            "cannot write the data marker ({}): exit {}: {}",
            h.describe,
            out.exit_code,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    ctx.state.lock().unwrap_or_else(|e| e.into_inner()).marker = Some(value.clone());
    ctx.log.step(Some(tier), &format!("marker {value} written to {} before {what}", h.describe));
    Ok(Some(value))
}

/// Check that the marker written last is still in `app`'s data after `what` ("upgrade",
/// "restore"): a fail "marker missing after <what>" otherwise. Nothing to check → `Ok(false)`.
pub async fn check(ctx: &RunContext<'_>, app: &crate::app::App, tier: Tier, what: &str) -> Result<bool, TierEnd> {
    let value = ctx.state.lock().unwrap_or_else(|e| e.into_inner()).marker.clone();
    if let (true, Some(value)) = (configured(ctx), &value) {
        configured_step(ctx, tier, MarkerStep::Check, value, what).await?;
        ctx.log.step(Some(tier), &format!("marker checked after {what}: marker.check found {value}"));
        return Ok(true);
    }
    let (Some(value), Some(h)) = (value, hooks(ctx, app).await?) else {
        ctx.log.step(Some(tier), &format!("no data marker to check after {what}"));
        return Ok(false);
    };
    let out = exec_hook(ctx, app, &h, &h.check, &value).await?;
    let found = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if out.exit_code != 0 || found != value {
        let seen = if found.is_empty() { "nothing".to_string() } else { format!("{found:?}") };
        return Err(TierEnd::fail(format!(
            "marker missing after {what}: {} should hold {value}, found {seen}",
            h.describe
        )));
    }
    ctx.log.step(Some(tier), &format!("marker checked after {what}: {} holds {value}", h.describe));
    Ok(true)
}

/// Delete the marker and mutate the data (before a restore).
pub async fn spoil(ctx: &RunContext<'_>, app: &crate::app::App, tier: Tier) -> Result<(), TierEnd> {
    if configured(ctx) {
        let value = ctx.state.lock().unwrap_or_else(|e| e.into_inner()).marker.clone().unwrap_or_default();
        return configured_step(ctx, tier, MarkerStep::Spoil, &value, "restore").await;
    }
    let Some(h) = hooks(ctx, app).await? else {
        return Ok(());
    };
    let out = exec_hook(ctx, app, &h, &h.spoil, "").await?;
    if out.exit_code != 0 {
        return Err(TierEnd::error(format!(
            "cannot spoil the data before the restore ({}): exit {}: {}",
            h.describe,
            out.exit_code,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    ctx.log.step(Some(tier), &format!("marker deleted and junk written ({}) before the restore", h.describe));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_hooks_quote_the_path_and_take_the_value_as_an_argument() {
        let h = MarkerHooks::file("db", "/var/lib/db/data/");
        assert_eq!(h.check, "cat '/var/lib/db/data/.ccci-marker'");
        assert!(h.write.contains("\"$1\""), "{}", h.write);
        assert_eq!(h.describe, "file /var/lib/db/data/.ccci-marker in db");
    }
}
