//! Acting on a new release (SPEC S1, W4), when the disk is above its floor: a cold run of the release tag as a seed run — the same
//! `ccci warm seed` an operator would start — recorded in the store as one of the sweep's runs
//! (so the dashboard shows it and the report links it). Green and promoted: the canonical copy is
//! at the new release. Anything else keeps the old copy, and raises an alert with both versions.

use alerts::{Kind, NewAlert};
use harness::result::Outcome;

use super::report::Action;
use super::Sweeper;
use crate::config::RepoConfig;
use crate::persist::{self, Tries};
use crate::store::{Mode, NewRun};
use crate::worker::{record_end, Ended};

/// Cold-tests `tag` (at `commit`) of `repo` as run of sweep `sweep`; `canonical` is the copy's
/// version before, `why` the decision's reason.
pub async fn cold_run(
    sweeper: &Sweeper,
    sweep: i64,
    repo: &RepoConfig,
    tag: &str,
    commit: &str,
    canonical: Option<&str>,
    why: &str,
) -> Action {
    // A seed snapshots the copy's volumes and promotes it: not with the disk below its floor (the
    // floor raises the `disk_low` alert); the next sweep tries again.
    if !sweeper.floor.room_for_a_run().await {
        return Action::Failed {
            error: format!(
                "{tag} not tested: free space is below the floor (`[disk] min_free_gib`); tried again next sweep"
            ),
        };
    }
    let new = NewRun {
        repo: repo.repo.clone(),
        recipe: repo.recipe.clone(),
        commit: Some(commit.to_string()),
        git_ref: Some(tag.to_string()),
        mode: Mode::Seed,
        ..Default::default()
    };
    let what = format!("starting sweep {sweep}'s run of {} {tag}", repo.recipe);
    let started = persist::write(&sweeper.health, &sweeper.events, &what, Tries::AtMost(5), || {
        sweeper.store.start_sweep_run(&new, sweep)
    })
    .await;
    let run = match started {
        Ok(run) => run,
        Err(e) => return Action::Failed { error: format!("the cold run of {tag} could not be started: {e}") },
    };
    sweeper.events.log(format!("sweep {sweep}: run {} is a cold run of {} {tag} ({why})", run.id, repo.recipe));
    let end = sweeper.runner.execute(&run).await;
    let (outcome, notice) = match record_end(&sweeper.store, &sweeper.health, &sweeper.events, &run, end).await {
        Ended::Finished(result) => (result.outcome, result.notice.clone().unwrap_or_default()),
        Ended::Errored(message) => (Outcome::Error, message),
    };
    let promoted = outcome == Outcome::Pass && notice.starts_with("promoted");
    if !promoted {
        let kept = canonical
            .map_or("there is still no canonical copy".to_string(), |v| format!("the canonical copy stays at {v}"));
        sweeper.alerting.raise(
            Kind::ReleaseFailed,
            NewAlert {
                recipe: Some(repo.recipe.clone()),
                from_version: canonical.map(str::to_string),
                to_version: Some(tag.to_string()),
                message: format!(
                    "the sweep's cold run of {tag} ended {} ({notice}); {kept}: {}",
                    outcome.name(),
                    sweeper.run_url(run.id.0)
                ),
                ..Default::default()
            },
        );
    }
    Action::Tested {
        tag: tag.to_string(),
        run: run.id.0,
        outcome: outcome.name().to_string(),
        promoted,
        why: why.to_string(),
        notice,
    }
}
