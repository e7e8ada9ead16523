//! Writing, checking and spoiling the run's data marker ([`crate::marker::Marker`]) inside the
//! running app: a unique value written before upgrade and before backup, checked after upgrade
//! and after restore ("marker missing after <what>" fails the tier), deleted with the data
//! changed before a restore.
//!
//! The default file marker runs fixed scripts with the paths and value as arguments
//! (`sh -c <script> ccci-marker <file> <value>`), never spliced into the shell text.

use rand::Rng;

use crate::app::App;
use crate::context::RunContext;
use crate::events::Step;
use crate::exec;
use crate::marker::Marker;
use crate::outcome::TierEnd;
use crate::result::Tier;

/// The file name of the default marker.
pub const MARKER_FILE: &str = ".ccci-marker";

/// Picks the marker directory: `$1` the mount target, then backed-up paths; prints it.
pub const PICK_DIR: &str = r#"t=$1; shift
for p in "$@"; do [ -d "$t/$p" ] && { echo "$t/$p"; exit 0; }; done
if [ $# -gt 0 ]; then for d in "$t"/*/; do [ -d "$d" ] && { echo "${d%/}"; exit 0; }; done; fi
echo "$t""#;
/// Stores `$2` in the file `$1`.
pub const WRITE_FILE: &str = r#"mkdir -p "$(dirname "$1")" && printf %s "$2" > "$1""#;
/// Prints the file `$1`.
pub const READ_FILE: &str = r#"cat "$1""#;
/// Deletes the file `$1` and writes junk beside it.
pub const SPOIL_FILE: &str = r#"rm -f "$1" && echo junk > "$(dirname "$1")/.ccci-junk""#;

fn new_value() -> String {
    format!("ccci-{:016x}", rand::rng().random::<u64>())
}

/// Write a new marker into `app`'s data before `what` ("upgrade", "backup"); `None` (said in
/// the log) when the app has nowhere to hold one.
pub async fn write(ctx: &RunContext<'_>, app: &App, tier: Tier, what: &str) -> Result<Option<String>, TierEnd> {
    let value = new_value();
    let marker = match ctx.marker {
        Marker::Absent => {
            ctx.events.step(Some(tier), Step::NoMarker { reason: no_volume() });
            return Ok(None);
        }
        Marker::Configured { write, .. } => {
            crate::hooks::run(ctx, app, tier, "marker.write", write, Some(&value))
                .await
                .map_err(|e| TierEnd { reason: format!("cannot write the data marker: {}", e.reason), ..e })?;
            "marker.write".to_string()
        }
        Marker::File { service, mount, paths } => {
            let file = marker_file(ctx, app, tier, service, mount, paths).await?;
            exec::in_service(ctx, tier, &app.stack, service, &["sh", "-c", WRITE_FILE, "ccci-marker", &file, &value])
                .await?
                .success(&format!("writing the data marker {file} in {service}"))?;
            format!("file {file} in {service}")
        }
    };
    ctx.state().marker_value = Some(value.clone());
    ctx.events.step(Some(tier), Step::MarkerWritten { value: value.clone(), marker, before: what.to_string() });
    Ok(Some(value))
}

/// Check that the marker written last is still in `app`'s data after `what` ("upgrade",
/// "restore"). `Ok(false)` when there is nothing to check.
pub async fn check(ctx: &RunContext<'_>, app: &App, tier: Tier, what: &str) -> Result<bool, TierEnd> {
    let Some(value) = ctx.state().marker_value.clone() else {
        ctx.events.step(Some(tier), Step::NoMarker { reason: format!("no data marker to check after {what}") });
        return Ok(false);
    };
    let marker = match ctx.marker {
        Marker::Absent => return Ok(false),
        Marker::Configured { check, .. } => {
            crate::hooks::run(ctx, app, tier, "marker.check", check, Some(&value)).await.map_err(|e| {
                TierEnd::fail(format!("marker missing after {what}: marker.check failed: {}", e.reason))
            })?;
            "marker.check".to_string()
        }
        Marker::File { service, .. } => {
            let file = ctx.state().marker_file.clone().unwrap_or_default();
            let read = exec::in_service(ctx, tier, &app.stack, service, &["sh", "-c", READ_FILE, "ccci-marker", &file])
                .await?;
            let found = read.stdout.trim();
            if read.exit_code != 0 || found != value {
                let seen = if found.is_empty() { "nothing".to_string() } else { format!("{found:?}") };
                return Err(TierEnd::fail(format!(
                    "marker missing after {what}: file {file} in {service} should hold {value}, found {seen}"
                )));
            }
            format!("file {file} in {service}")
        }
    };
    ctx.events.step(Some(tier), Step::MarkerChecked { value, marker, after: what.to_string() });
    Ok(true)
}

/// Delete the marker and change the data, before a restore.
pub async fn spoil(ctx: &RunContext<'_>, app: &App, tier: Tier) -> Result<(), TierEnd> {
    let value = ctx.state().marker_value.clone().unwrap_or_default();
    let marker = match ctx.marker {
        Marker::Absent => return Ok(()),
        Marker::Configured { spoil: None, .. } => {
            ctx.events.step(
                Some(tier),
                Step::NoMarker {
                    reason: "no marker.spoil hook in the per-recipe config: the data is not changed before the restore"
                        .into(),
                },
            );
            return Ok(());
        }
        Marker::Configured { spoil: Some(spoil), .. } => {
            crate::hooks::run(ctx, app, tier, "marker.spoil", spoil, Some(&value)).await.map_err(|e| {
                TierEnd::error(format!("cannot spoil the data before the restore (marker.spoil): {}", e.reason))
            })?;
            "marker.spoil".to_string()
        }
        Marker::File { service, mount, paths } => {
            let file = marker_file(ctx, app, tier, service, mount, paths).await?;
            let ran = exec::in_service(ctx, tier, &app.stack, service, &["sh", "-c", SPOIL_FILE, "ccci-marker", &file])
                .await?;
            if ran.exit_code != 0 {
                return Err(TierEnd::error(exec::exited(
                    &format!("spoiling the data before the restore ({file} in {service})"),
                    ran.exit_code,
                    &ran.last_line(),
                )));
            }
            format!("file {file} in {service}")
        }
    };
    ctx.events.step(Some(tier), Step::MarkerSpoiled { marker });
    Ok(())
}

fn no_volume() -> String {
    "no volume to hold a data marker: marker checks skipped".into()
}

/// The default marker's file: chosen inside the running app at the first use, then kept.
async fn marker_file(
    ctx: &RunContext<'_>,
    app: &App,
    tier: Tier,
    service: &str,
    mount: &str,
    paths: &[String],
) -> Result<String, TierEnd> {
    if let Some(file) = ctx.state().marker_file.clone() {
        return Ok(file);
    }
    let mut argv = vec!["sh", "-c", PICK_DIR, "ccci-pick", mount];
    argv.extend(paths.iter().map(String::as_str));
    let picked = exec::in_service(ctx, tier, &app.stack, service, &argv).await?;
    let dir = picked.stdout.trim();
    let dir = if picked.exit_code == 0 && !dir.is_empty() { dir } else { mount };
    let file = format!("{}/{MARKER_FILE}", dir.trim_end_matches('/'));
    ctx.state().marker_file = Some(file.clone());
    Ok(file)
}
