//! The restore tier (T1): spoil the data (delete the marker, change the data), then restore the
//! backup artifact the way backup-bot-two does — without undeploying or scaling: run each backup
//! service's `backupbot.restore.pre-hook` in its running container, write every volume's files
//! from the archive back into the live volume (through the engine's helper container; files in
//! the backup overwrite, other files stay, as a restic restore leaves them), run the
//! `backupbot.restore.post-hook`s (a database re-imports its dump there), then converge, serve and
//! check the marker is back ("marker missing after restore" fails the tier).
//!
//! Without a backup from the backup tier (restore asked alone), one is taken first.

use std::path::PathBuf;

use super::backup::{self, run_backupbot_hook, volume_prefix};
use crate::archive::host_tar;
use crate::backupbot;
use crate::context::RunContext;
use crate::deploy::{check_serving, converge};
use crate::events::Step;
use crate::marker_steps;
use crate::outcome::TierEnd;
use crate::result::Tier;

const TIER: Tier = Tier::Restore;

/// Spoil, restore, converge, serve, check the marker.
pub async fn run(ctx: &RunContext<'_>) -> Result<String, TierEnd> {
    let app = ctx.app;
    let plan = backupbot::plan(&app.doc, &app.stack);
    let taken = ctx.state().backup.clone();
    let archive = match taken {
        Some(a) => a,
        None => {
            ctx.events.note(Some(TIER), "no backup from the backup tier: taking one first");
            backup::take(ctx, TIER).await?.archive
        }
    };
    marker_steps::spoil(ctx, app, TIER).await?;
    for s in &plan.services {
        if let Some(hook) = &s.restore_pre_hook {
            run_backupbot_hook(ctx, app, TIER, &s.name, "backupbot.restore.pre-hook", hook).await?;
        }
    }
    let staging = ctx.dirs.work.join("restore");
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).map_err(|e| TierEnd::error(format!("creating {}: {e}", staging.display())))?;
    ctx.events.note(Some(TIER), format!("restoring from {}", archive.display()));
    host_tar(&["--numeric-owner", "-xzf", &archive.to_string_lossy(), "-C", &staging.to_string_lossy()], None).await?;
    let mut restored = Vec::new();
    for v in &plan.volumes {
        let dir: PathBuf = staging.join(volume_prefix(&v.full_name));
        if !dir.is_dir() {
            return Err(TierEnd::error(format!("the backup holds nothing for volume {}", v.full_name)));
        }
        let tar = host_tar(&["--numeric-owner", "-cf", "-", "-C", &dir.to_string_lossy(), "."], None).await?;
        let bytes = tar.len() as u64;
        let image = backup::helper_image(app, &plan, v)?;
        ctx.engine.import_volume(ctx.run_id, &v.full_name, &image, &mut tar.as_slice()).await?;
        ctx.events.step(Some(TIER), Step::VolumeRestored { volume: v.full_name.clone(), bytes });
        restored.push(v.full_name.clone());
    }
    let _ = std::fs::remove_dir_all(&staging);
    for s in &plan.services {
        if let Some(hook) = &s.restore_post_hook {
            run_backupbot_hook(ctx, app, TIER, &s.name, "backupbot.restore.post-hook", hook).await?;
        }
    }
    converge(&ctx.deployer(), app, TIER, ctx.timeout).await?;
    let served = check_serving(&ctx.deployer(), app, ctx.config.ready.as_ref(), TIER, ctx.timeout).await?;
    let marker = marker_steps::check(ctx, app, TIER, "restore").await?;
    Ok(format!(
        "restored {}; {} answered {}{}",
        restored.join(", "),
        served.url,
        served.status,
        if marker { "; data marker back" } else { "" }
    ))
}
