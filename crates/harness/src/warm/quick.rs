//! Quick runs on a canonical copy (SPEC W3): lock the copy, reattach it (deploy it at its version
//! with its volumes and secrets), upgrade it in place to the ref under test, run the upgrade,
//! serving and custom checks — and whatever the result, undeploy it and put its volumes back to
//! the last-known-good snapshot. A quick never promotes and never changes the recorded version.
//!
//! Without a usable copy (none, or broken) the run is cold, saying why. A quick that died holding
//! the lock (its `flock` went with it) left the record `busy`: the next one undeploys what is left
//! and restores the snapshot before it starts.

use recipe::instance::Instance;

use super::canonical::{self, Canonical, LastQuick, Status, WarmDir};
use super::snapshot;
use crate::context::RunContext;
use crate::engine::Engine;
use crate::error::RunError;
use crate::events::Event;
use crate::locks::LockGuard;
use crate::report::Events;
use crate::result::Outcome;

/// A quick run holding its canonical copy.
pub struct Quick {
    pub dir: WarmDir,
    pub canonical: Canonical,
    _lock: LockGuard,
}

/// What a quick run gets to work on.
pub enum Opened {
    Quick(Box<Quick>),
    /// No usable canonical copy: the run is cold, and says why.
    Cold {
        why: String,
    },
}

/// Take `recipe`'s canonical copy for run `run_id` (waiting for its lock), recovering it first if
/// a quick died on it.
pub async fn open(
    engine: &dyn Engine,
    data_dir: &std::path::Path,
    recipe: &str,
    run_id: &str,
    git_ref: Option<&str>,
    events: &Events,
) -> Result<Opened, RunError> {
    let dir = match WarmDir::new(data_dir, recipe) {
        Ok(dir) => dir,
        Err(why) => return Ok(Opened::Cold { why }),
    };
    let cold = |why: String| Ok(Opened::Cold { why: format!("{why}: ran cold") });
    let unreadable = |e: std::io::Error| RunError::Infra(format!("the canonical copy of {recipe}: {e}"));
    match dir.load().map_err(unreadable)? {
        None => return cold(format!("no canonical copy of {recipe} (seed one with `ccci warm seed`)")),
        Some(c) if c.status == Status::Broken => {
            return cold(format!("the canonical copy of {recipe} is broken ({}; re-seed it)", c.why))
        }
        Some(_) => {}
    }
    let lock = match crate::locks::try_acquire(&dir.lock_path()) {
        Ok(Some(lock)) => lock,
        _ => {
            events.note(None, format!("waiting for the canonical copy of {recipe}: another run holds it"));
            crate::locks::acquire(&dir.lock_path())
                .await
                .map_err(|e| RunError::Infra(format!("cannot lock {}: {e}", dir.lock_path().display())))?
        }
    };
    // Read again under the lock: the holder may have changed it.
    let Some(mut canonical) = dir.load().map_err(unreadable)? else {
        return cold(format!("the canonical copy of {recipe} was dropped"));
    };
    if canonical.status == Status::Busy {
        events.note(
            None,
            format!("the canonical copy of {recipe} was left busy ({}): restoring it first", canonical.why),
        );
        if let Err(why) = recover(engine, &dir, &canonical, run_id).await {
            let _ = dir.set_status(&mut canonical, Status::Broken, format!("recovery by run {run_id} failed: {why}"));
            return cold(format!("the canonical copy of {recipe} could not be restored ({why})"));
        }
    }
    if canonical.status == Status::Broken {
        return cold(format!("the canonical copy of {recipe} is broken ({}; re-seed it)", canonical.why));
    }
    let why = format!("quick run {run_id} of {}", git_ref.unwrap_or("the working tree"));
    dir.set_status(&mut canonical, Status::Busy, why).map_err(unreadable)?;
    Ok(Opened::Quick(Box::new(Quick { dir, canonical, _lock: lock })))
}

/// Undeploy what a dead run left of the copy and put its volumes back to the snapshot.
async fn recover(engine: &dyn Engine, dir: &WarmDir, canonical: &Canonical, run_id: &str) -> Result<(), String> {
    engine.undeploy(&canonical.stack, run_id, std::time::Duration::from_secs(120)).await.map_err(|e| e.to_string())?;
    snapshot::restore(engine, run_id, dir, &canonical.volume_refs()).await.map(drop)
}

impl Quick {
    /// Give the copy back untouched (the run could not start on it): idle again.
    pub fn release_unused(mut self, run_id: &str) {
        let _ = self.dir.set_status(&mut self.canonical, Status::Idle, format!("quick run {run_id} could not start"));
    }

    /// The copy's instance (its stable domain and stack).
    pub fn instance(&self) -> Instance {
        Instance { domain: self.canonical.domain.clone(), stack_name: self.canonical.stack.clone() }
    }

    /// Make the copy's secrets the run's: their values known to the redactor and the run's
    /// secrets file, their Docker names already created.
    pub fn attach_secrets(&self, ctx: &RunContext<'_>) -> Result<(), String> {
        let values = self.dir.load_secrets().map_err(|e| format!("the canonical copy's secret values: {e}"))?;
        let prefix = format!("{}_", self.canonical.stack);
        for (name, value) in &values {
            ctx.events.redactor().register(value);
            crate::secrets_file::record_secret(&ctx.dirs.work, &[name], value)
                .map_err(|e| format!("cannot record the run's secret values: {e}"))?;
            if name.starts_with(&prefix) {
                ctx.state().secrets_created.push(name.clone());
            }
        }
        Ok(())
    }

    /// Undeploy the copy (graceful: its containers' data matters until the restore), put its
    /// volumes back to the snapshot, and record the run's outcome; the copy is idle again, or
    /// broken when it could not be restored.
    pub async fn finish(mut self, ctx: &RunContext<'_>, outcome: Outcome) {
        crate::teardown::teardown_as(ctx, swarm::teardown::TeardownMode::Graceful).await;
        let restored = snapshot::restore(ctx.engine, ctx.run_id, &self.dir, &self.canonical.volume_refs()).await;
        self.canonical.last_quick = Some(LastQuick {
            run_id: ctx.run_id.to_string(),
            git_ref: ctx.options.git_ref.clone(),
            outcome,
            at: canonical::now_rfc3339(),
        });
        let (status, why) = match restored {
            Ok(manifest) => {
                let text = format!("restored the canonical copy's volumes to snapshot {}", manifest.id);
                ctx.events.note(None, text);
                (Status::Idle, format!("quick run {} ended {}; restored", ctx.run_id, outcome.name()))
            }
            Err(why) => {
                ctx.events.emit(Event::TeardownFailed { error: format!("restoring the canonical copy: {why}") });
                (Status::Broken, format!("quick run {} could not restore the copy: {why}", ctx.run_id))
            }
        };
        if let Err(e) = self.dir.set_status(&mut self.canonical, status, why) {
            ctx.events.emit(Event::TeardownFailed { error: format!("cannot record the canonical copy: {e}") });
        }
    }
}
