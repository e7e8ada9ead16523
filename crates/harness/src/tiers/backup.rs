//! The backup tier (T1) with backup-bot-two's semantics ([`crate::backupbot`]): write a fresh data
//! marker, run each backup service's `backupbot.backup.pre-hook` in its running container, copy
//! the covered volumes (or their listed paths) out, run the post-hooks, and pack
//! `artifacts/backup-<stack>.tar.gz`.
//!
//! Layout, as backup-bot-two's restic snapshots hold it: one entry tree per volume under
//! `var/lib/docker/volumes/<docker volume name>/_data/` (relative entries, no leading `/`), e.g.
//! `var/lib/docker/volumes/<stack>_db-data/_data/backup.tar`; with a path limit only those paths
//! appear below `_data/` (a listed path missing from the volume is logged and left out). Owners
//! are kept numerically. Volumes are read through the engine's helper container while the app
//! keeps running (as backup-bot-two does); packing uses the host's GNU tar.

use std::path::{Path, PathBuf};

use crate::app::App;
use crate::archive::host_tar;
use crate::backupbot::{self, BackupPlan, BackupVolume};
use crate::context::RunContext;
use crate::events::Step;
use crate::exec;
use crate::marker_steps;
use crate::outcome::TierEnd;
use crate::result::Tier;

/// Where a volume's files sit inside a backup archive.
pub fn volume_prefix(full_name: &str) -> String {
    format!("var/lib/docker/volumes/{full_name}/_data")
}

/// A backup taken in this run.
#[derive(Debug, Clone)]
pub struct Backup {
    pub archive: PathBuf,
    pub bytes: u64,
}

/// Take a backup and keep it as an artifact.
pub async fn run(ctx: &RunContext<'_>) -> Result<String, TierEnd> {
    let b = take(ctx, Tier::Backup).await?;
    let plan = backupbot::plan(&ctx.app.doc, &ctx.app.stack);
    let vols: Vec<String> = plan.volumes.iter().map(describe_volume).collect();
    Ok(format!("{} ({} bytes): {}", rel(ctx, &b.archive), b.bytes, vols.join("; ")))
}

fn describe_volume(v: &BackupVolume) -> String {
    if v.paths.is_empty() {
        format!("{} (whole volume)", v.full_name)
    } else {
        format!("{} ({})", v.full_name, v.paths.join(", "))
    }
}

fn rel(ctx: &RunContext<'_>, p: &Path) -> String {
    ctx.dirs.artifacts.parent().and_then(|d| p.strip_prefix(d).ok()).unwrap_or(p).display().to_string()
}

/// Write a marker, run the hooks, copy the volumes out and pack the archive; recorded for the
/// restore tier.
pub async fn take(ctx: &RunContext<'_>, tier: Tier) -> Result<Backup, TierEnd> {
    let app = ctx.app;
    let plan = backupbot::plan(&app.doc, &app.stack);
    if !plan.enabled() {
        return Err(TierEnd::fail("no service has backupbot.backup=true"));
    }
    for u in &plan.unmapped {
        ctx.events.note(Some(tier), format!("backupbot.backup.path {u} is in no named volume: not backed up"));
    }
    if plan.volumes.is_empty() {
        return Err(TierEnd::fail("the backup labels cover no volume of the stack"));
    }
    marker_steps::write(ctx, app, tier, "backup").await?;
    for s in &plan.services {
        if let Some(hook) = &s.backup_pre_hook {
            run_backupbot_hook(ctx, app, tier, &s.name, "backupbot.backup.pre-hook", hook).await?;
        }
    }
    let staging = ctx.dirs.work.join("backup");
    let _ = std::fs::remove_dir_all(&staging);
    let root = staging.join("root");
    for v in &plan.volumes {
        copy_out(ctx, app, &plan, v, &staging, &root, tier).await?;
    }
    for s in &plan.services {
        if let Some(hook) = &s.backup_post_hook {
            run_backupbot_hook(ctx, app, tier, &s.name, "backupbot.backup.post-hook", hook).await?;
        }
    }
    std::fs::create_dir_all(&ctx.dirs.artifacts).map_err(|e| TierEnd::error(format!("artifacts dir: {e}")))?;
    let archive = ctx.dirs.artifacts.join(format!("backup-{}.tar.gz", app.stack));
    host_tar(&["--numeric-owner", "-czf", &archive.to_string_lossy(), "-C", &root.to_string_lossy(), "var"], None)
        .await?;
    check_layout(&archive, &plan).await?;
    let _ = std::fs::remove_dir_all(&staging);
    let bytes = std::fs::metadata(&archive).map(|m| m.len()).unwrap_or(0);
    ctx.keep_artifact(&archive, "backup");
    ctx.events.step(Some(tier), Step::BackupWritten { path: archive.display().to_string(), bytes });
    ctx.state().backup = Some(archive.clone());
    Ok(Backup { archive, bytes })
}

/// The helper image for a volume: its service's image, else any image of the app.
pub fn helper_image(app: &App, plan: &BackupPlan, v: &BackupVolume) -> Result<String, TierEnd> {
    v.image
        .clone()
        .or_else(|| plan.volumes.iter().find_map(|o| o.image.clone()))
        .or_else(|| {
            backupbot::service_names(&app.doc)
                .iter()
                .find_map(|s| app.doc.get("services")?.get(s)?.get("image")?.as_str().map(String::from))
        })
        .ok_or_else(|| TierEnd::error(format!("no image to read volume {} with", v.full_name)))
}

async fn copy_out(
    ctx: &RunContext<'_>,
    app: &App,
    plan: &BackupPlan,
    v: &BackupVolume,
    staging: &Path,
    root: &Path,
    tier: Tier,
) -> Result<(), TierEnd> {
    let image = helper_image(app, plan, v)?;
    let raw = staging.join(format!("{}.tar", v.full_name));
    let extracted = staging.join("volumes").join(&v.full_name);
    let dest = root.join(volume_prefix(&v.full_name));
    for d in [&extracted, &dest] {
        std::fs::create_dir_all(d).map_err(|e| TierEnd::error(format!("creating {}: {e}", d.display())))?;
    }
    ctx.engine.export_volume(ctx.run_id, &v.full_name, &image, &raw).await?;
    host_tar(&["--numeric-owner", "-xf", &raw.to_string_lossy(), "-C", &extracted.to_string_lossy()], None).await?;
    let mut wanted: Vec<String> = Vec::new();
    for p in &v.paths {
        let p = p.trim_matches('/');
        if extracted.join(p).symlink_metadata().is_ok() {
            wanted.push(p.to_string());
        } else {
            ctx.events.note(Some(tier), format!("path {p} is not in volume {}: nothing backed up for it", v.full_name));
        }
    }
    let src = extracted.to_string_lossy().into_owned();
    let members: Vec<String> = if v.paths.is_empty() { vec![".".into()] } else { wanted };
    if !members.is_empty() {
        let mut args = vec!["--numeric-owner".to_string(), "-cf".into(), "-".into(), "-C".into(), src];
        args.extend(members.iter().cloned());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let tar = host_tar(&args, None).await?;
        host_tar(&["--numeric-owner", "-xf", "-", "-C", &dest.to_string_lossy()], Some(tar)).await?;
    }
    ctx.events.step(Some(tier), Step::VolumeCopied { volume: v.full_name.clone(), members });
    Ok(())
}

/// Every covered volume has its `_data` directory in the archive.
async fn check_layout(archive: &Path, plan: &BackupPlan) -> Result<(), TierEnd> {
    let listing = host_tar(&["-tzf", &archive.to_string_lossy()], None).await?;
    let listing = String::from_utf8_lossy(&listing);
    for v in &plan.volumes {
        let prefix = volume_prefix(&v.full_name);
        if !listing.lines().any(|l| l.trim_end_matches('/') == prefix) {
            return Err(TierEnd::error(format!("the backup archive lacks {prefix}/")));
        }
    }
    Ok(())
}

/// Run a backupbot hook (`label`) with `sh -c` in a running container of `service`; a non-zero
/// exit fails the tier.
pub async fn run_backupbot_hook(
    ctx: &RunContext<'_>,
    app: &App,
    tier: Tier,
    service: &str,
    label: &str,
    hook: &str,
) -> Result<(), TierEnd> {
    ctx.events.step(Some(tier), Step::HookStarted { name: format!("{label} ({hook})"), service: Some(service.into()) });
    exec::in_service(ctx, tier, &app.stack, service, &["sh", "-c", hook])
        .await?
        .success(&format!("{label} of {service} ({hook})"))?;
    Ok(())
}
