//! Seeding a canonical copy (SPEC W4): only a green cold run of an **annotated release tag**
//! (re)creates a recipe's canonical copy. A branch, a commit or a lightweight tag is refused
//! before anything runs; a run that does not pass leaves the existing copy untouched.
//!
//! On green, while holding the copy's lock: the run's app is undeployed (its data kept), its
//! volumes are snapshotted as the copy's new last-known-good snapshot, the copy's old volumes and
//! secrets are dropped, new ones are created under the copy's names (`warm-<recipe>.<base>`) —
//! volumes filled from the snapshot, secrets with the run's values — and the record says `idle`
//! at that tag and commit. The run's own objects are then torn down as usual.

use std::collections::BTreeMap;
use std::path::Path;

use super::canonical::{self, Canonical, CanonicalVolume, SnapshotInfo, Status, WarmDir};
use super::snapshot::{self, VolumeRef};
use crate::app::App;
use crate::backupbot;
use crate::context::RunContext;
use crate::error::RunError;
use crate::locks::LockGuard;

/// A seed run in progress: the copy's lock, held from before the cold run to the end.
pub struct Seed {
    pub dir: WarmDir,
    pub tag: String,
    _lock: LockGuard,
}

/// Check that `git_ref` is an annotated release tag of the checkout and take the copy's lock.
pub async fn open(data_dir: &Path, recipe: &str, checkout: &Path, git_ref: Option<&str>) -> Result<Seed, RunError> {
    let refuse = |why: String| {
        RunError::Input(format!("{why}; a canonical copy is only seeded from an annotated release tag (--ref <tag>)"))
    };
    let tag = git_ref.ok_or_else(|| refuse("no --ref given".into()))?;
    let kind =
        recipe::git::run(checkout, &["cat-file", "-t", &format!("refs/tags/{tag}")]).map(|k| k.trim().to_string());
    match kind.as_deref() {
        Ok("tag") => {}
        Ok(_) => return Err(refuse(format!("{tag} is a lightweight tag"))),
        Err(_) => return Err(refuse(format!("{tag} is not a tag (a branch or a commit)"))),
    }
    if let Err(why) = recipe::versions::Version::parse(tag) {
        return Err(refuse(format!("{tag} is not a release tag: {why}")));
    }
    let dir = WarmDir::new(data_dir, recipe).map_err(RunError::Input)?;
    let lock = crate::locks::acquire(&dir.lock_path())
        .await
        .map_err(|e| RunError::Infra(format!("cannot lock the canonical copy of {recipe}: {e}")))?;
    Ok(Seed { dir, tag: tag.to_string(), _lock: lock })
}

impl Seed {
    /// Make the green run's deployment the copy. `copy` is the recipe at the tag rendered for the
    /// copy's instance. On failure the record (if any) says `broken` and why.
    pub async fn promote(
        &self,
        ctx: &RunContext<'_>,
        copy: &App,
        source: &str,
        commit: &str,
    ) -> Result<Canonical, String> {
        let result = self.recreate(ctx, copy, source, commit).await;
        if let Err(why) = &result {
            if let Ok(Some(mut old)) = self.dir.load() {
                let _ = self.dir.set_status(
                    &mut old,
                    Status::Broken,
                    format!("promotion from run {} failed: {why}", ctx.run_id),
                );
            }
        }
        result
    }

    async fn recreate(
        &self,
        ctx: &RunContext<'_>,
        copy: &App,
        source: &str,
        commit: &str,
    ) -> Result<Canonical, String> {
        let engine = ctx.engine;
        let recipe = &self.dir.recipe;
        engine.undeploy(&ctx.app.stack, ctx.run_id, ctx.options.limits.teardown).await.map_err(|e| e.to_string())?;
        let from = volumes_of(ctx.app);
        let manifest = snapshot::take(engine, ctx.run_id, &self.dir, &from, &mut |_| {}).await?;
        let dropped = engine.drop_canonical(&copy.stack).await.map_err(|e| e.to_string())?;
        if !dropped.is_empty() {
            ctx.events.note(None, format!("dropped the old canonical copy's {} object(s)", dropped.len()));
        }
        let volumes: Vec<CanonicalVolume> = volumes_of(copy)
            .into_iter()
            .map(|v| CanonicalVolume { key: v.key, name: v.volume, image: v.image })
            .collect();
        for v in &volumes {
            engine.create_canonical_volume(&copy.stack, &v.name).await.map_err(|e| e.to_string())?;
        }
        let mut record = Canonical {
            recipe: recipe.clone(),
            source: source.to_string(),
            domain: copy.domain.clone(),
            stack: copy.stack.clone(),
            version: self.tag.clone(),
            commit: commit.to_string(),
            status: Status::Busy,
            volumes,
            snapshot: Some(SnapshotInfo {
                id: manifest.id.clone(),
                taken_at: manifest.taken_at.clone(),
                bytes: manifest.bytes(),
            }),
            changed_at: canonical::now_rfc3339(),
            why: format!("seeding from run {}", ctx.run_id),
            last_quick: None,
        };
        snapshot::restore(engine, ctx.run_id, &self.dir, &record.volume_refs()).await?;
        let mut values = BTreeMap::new();
        for spec in &copy.secrets {
            let value = crate::secrets_file::read_secret(&ctx.dirs.work, &spec.key)
                .ok_or_else(|| format!("the run recorded no value for secret {}", spec.key))?;
            engine
                .create_canonical_secret(&copy.stack, &spec.name, value.as_bytes())
                .await
                .map_err(|e| e.to_string())?;
            values.insert(spec.key.clone(), value.clone());
            values.insert(spec.name.clone(), value);
        }
        self.dir.save_secrets(&values).map_err(|e| format!("cannot keep the copy's secret values: {e}"))?;
        let why = format!("seeded at {} from run {}", self.tag, ctx.run_id);
        self.dir
            .set_status(&mut record, Status::Idle, why)
            .map_err(|e| format!("cannot write the copy's record: {e}"))?;
        Ok(record)
    }
}

/// The stack's own volumes of `app` as snapshot sources or targets.
pub fn volumes_of(app: &App) -> Vec<VolumeRef> {
    let plan = backupbot::BackupPlan::default();
    backupbot::stack_volumes(&app.doc, &app.stack)
        .into_iter()
        .map(|(key, volume)| {
            let probe = backupbot::BackupVolume {
                key: key.clone(),
                full_name: volume.clone(),
                paths: vec![],
                mounted_by: None,
                image: None,
            };
            let image = crate::tiers::backup::helper_image(app, &plan, &probe).unwrap_or_default();
            VolumeRef { key, volume, image }
        })
        .collect()
}
