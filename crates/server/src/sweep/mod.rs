//! The sweep (SPEC S1–S2): on a schedule ([`schedule`]), or by hand (`ccci sweep`), cc-ci keeps
//! itself and its canonical copies current. In order:
//!
//! 1. it takes the sweep lock and closes the queue, then waits for the runs in flight ([`gate`]);
//! 2. updates the infrastructure apps ([`infra`], the one call point for them);
//! 3. per enrolled recipe: syncs the mirror from its upstream and closes pull requests merged
//!    there ([`mirror`], over the recipe's [`git`] cache), reads the release tags, decides
//!    ([`decide`]) and cold-tests a new release, promoting it on green ([`release`]) — at most
//!    `max_tests` runs at once;
//! 4. cleans up the disk ([`crate::disk::cleanup`]), keeping every image an enrolled recipe uses
//!    ([`images`]);
//!
//! and writes its [`report`] to the store as it goes. The queue opens again when it ends.

pub mod decide;
pub mod gate;
pub mod git;
pub mod images;
pub mod infra;
pub mod mirror;
pub mod release;
pub mod report;
pub mod schedule;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use alerts::{Kind, NewAlert};
use recipe::versions::Versions;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use self::decide::{Decision, EarlierFailure};
use self::gate::SweepLock;
use self::infra::InfraUpdates;
use self::report::{Action, RecipeReport, SweepReport};
use crate::alerting::Alerting;
use crate::config::{Config, RepoConfig};
use crate::disk::floor::Floor;
use crate::disk::{self, DiskConfig};
use crate::events::Events;
use crate::health::Health;
use crate::persist::{self, Tries};
use crate::runner::RunnerConfig;
use crate::store::{Store, StoreError, SweepState};
use harness::result::Outcome;

/// Why a sweep could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("a sweep is already running{}", .0.map(|id| format!(" (sweep {id})")).unwrap_or_default())]
    AlreadyRunning(Option<i64>),
    #[error("cannot take the sweep lock {path}: {source}")]
    Lock { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Everything a sweep needs; cheap to clone.
#[derive(Clone)]
pub struct Sweeper {
    pub store: Arc<Store>,
    pub runner: Arc<RunnerConfig>,
    pub client: Arc<forge::Client>,
    pub events: Events,
    pub health: Health,
    pub alerting: Alerting,
    pub repos: Vec<RepoConfig>,
    pub max_tests: u32,
    pub public_url: String,
    /// The bot's login and token: its credentials for pushing to the mirrors.
    pub bot_login: String,
    pub token: SecretString,
    /// The infrastructure step's updater (`None`: the report says "not configured"); set it with
    /// [`Sweeper::with_infra`].
    pub infra: Option<Arc<dyn InfraUpdates>>,
    pub disk: DiskConfig,
    /// The disk floor, checked before each cold run (it may snapshot and promote).
    pub floor: Arc<Floor>,
}

impl Sweeper {
    /// The sweeper of `config`'s server.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        config: &Config,
        runner: Arc<RunnerConfig>,
        store: Arc<Store>,
        client: Arc<forge::Client>,
        events: Events,
        health: Health,
        alerting: Alerting,
        floor: Arc<Floor>,
    ) -> Sweeper {
        Sweeper {
            store,
            runner,
            client,
            events,
            health,
            alerting,
            repos: config.repos.clone(),
            max_tests: config.max_tests,
            public_url: config.public_url.clone(),
            bot_login: config.forge.bot_login.clone(),
            token: config.forge.token.value.clone(),
            infra: None,
            disk: config.disk.clone(),
            floor,
        }
    }

    /// This sweeper with `updater` as its infrastructure step: the one call point where the
    /// infrastructure updates (the proxy, warm dependencies) plug into the sweep, run first, while
    /// the queue is closed and no run is in flight.
    pub fn with_infra(mut self, updater: Arc<dyn InfraUpdates>) -> Sweeper {
        self.infra = Some(updater);
        self
    }

    fn data_dir(&self) -> &std::path::Path {
        &self.runner.data_dir
    }

    /// The dashboard page of run `id`.
    pub fn run_url(&self, id: i64) -> String {
        format!("{}/runs/{id}", self.public_url.trim_end_matches('/'))
    }

    /// One sweep, start to end; `trigger` (`schedule`, `hand`) is recorded with it.
    pub async fn run(&self, trigger: &str) -> Result<SweepReport, SweepError> {
        let lock_path = gate::lock_path(self.data_dir());
        let lock =
            SweepLock::try_take(self.data_dir()).map_err(|source| SweepError::Lock { path: lock_path, source })?;
        let Some(_lock) = lock else { return Err(SweepError::AlreadyRunning(self.store.open_sweep()?)) };
        // The lock is ours: a sweep still open in the store was left by a process that died.
        if let Some(stale) = self.store.open_sweep()? {
            gate::end_abandoned(&self.store, &self.events, stale)?;
        }
        let id = self.store.begin_sweep(trigger)?.ok_or(SweepError::AlreadyRunning(None))?;
        self.events.log(format!("sweep {id} started ({trigger}): {} recipe(s) enrolled", self.repos.len()));
        let mut report = SweepReport {
            id,
            trigger: trigger.to_string(),
            started_at: self.store.now(),
            finished_at: None,
            waited_for_runs: 0,
            waited_ms: 0,
            infra: None,
            recipes: self
                .repos
                .iter()
                .map(|r| RecipeReport {
                    recipe: r.recipe.clone(),
                    repo: r.repo.clone(),
                    mirror: None,
                    newest_release: None,
                    canonical: None,
                    action: Action::Pending,
                })
                .collect(),
            cleanup: None,
            error: None,
        };
        if let Err(error) = self.steps(id, &mut report).await {
            self.events.log(format!("sweep {id} stopped: {error}"));
            self.alerting.raise(
                Kind::SweepFailed,
                NewAlert { message: format!("sweep {id} stopped: {error}"), ..Default::default() },
            );
            report.error = Some(error);
        }
        report.finished_at = Some(self.store.now());
        self.save(id, SweepState::Finished, &report, Tries::UntilWritten).await?;
        let attention = if report.needs_attention() { "; something needs attention (alerts raised)" } else { "" };
        self.events.log(format!("sweep {id} finished{attention}"));
        Ok(report)
    }

    /// Records `report` (and `state`) with the sweep.
    async fn save(&self, id: i64, state: SweepState, report: &SweepReport, tries: Tries) -> Result<(), StoreError> {
        let json = serde_json::to_string(report).unwrap_or_default();
        let what = format!("recording sweep {id}'s report");
        persist::write(&self.health, &self.events, &what, tries, || self.store.update_sweep(id, state, Some(&json)))
            .await
    }

    async fn progress(&self, id: i64, report: &SweepReport) -> Result<(), String> {
        self.save(id, SweepState::Running, report, Tries::AtMost(20)).await.map_err(|e| e.to_string())
    }

    /// Everything after the sweep opened; `Err` stops it (the report keeps what was done).
    async fn steps(&self, id: i64, report: &mut SweepReport) -> Result<(), String> {
        let (runs, waited) =
            gate::wait_for_runs_in_flight(&self.store, &self.events, id).await.map_err(|e| e.to_string())?;
        report.waited_for_runs = runs;
        report.waited_ms = waited.as_millis() as u64;
        self.progress(id, report).await?;

        let infra = infra::run(self.infra.as_deref()).await;
        self.events.log(format!("sweep {id}: infra: {}", infra.summary()));
        report.infra = Some(infra);
        self.progress(id, report).await?;

        let mut tests = Vec::new();
        for (i, repo) in self.repos.iter().enumerate() {
            match self.examine(repo, &mut report.recipes[i]).await {
                Ok(Decision::Test { tag, commit, why }) => tests.push((i, tag, commit, why)),
                Ok(Decision::Skip { why }) => report.recipes[i].action = Action::Skipped { why },
                Err(error) => {
                    self.alerting.raise(
                        Kind::SweepFailed,
                        NewAlert {
                            recipe: Some(repo.recipe.clone()),
                            message: format!("sweep {id} could not sync or read {}: {error}", repo.repo),
                            ..Default::default()
                        },
                    );
                    report.recipes[i].action = Action::Failed { error };
                }
            }
            self.events.log(format!(
                "sweep {id}: {}: {}",
                repo.recipe,
                report.recipes[i].action_line(&self.public_url)
            ));
            self.progress(id, report).await?;
        }

        let slots = Arc::new(Semaphore::new(self.max_tests.max(1) as usize));
        let mut running = JoinSet::new();
        for (i, tag, commit, why) in tests {
            let (me, slots, repo) = (self.clone(), slots.clone(), self.repos[i].clone());
            let canonical = report.recipes[i].canonical.clone();
            running.spawn(async move {
                let _slot = slots.acquire_owned().await;
                (i, release::cold_run(&me, id, &repo, &tag, &commit, canonical.as_deref(), &why).await)
            });
        }
        while let Some(done) = running.join_next().await {
            let (i, action) = done.map_err(|e| format!("a release run's task died: {e}"))?;
            report.recipes[i].action = action;
            self.events.log(format!(
                "sweep {id}: {}: {}",
                report.recipes[i].recipe,
                report.recipes[i].action_line(&self.public_url)
            ));
            self.progress(id, report).await?;
        }

        if self.disk.cleanup {
            let protected = images::used_by_enrolled(self.data_dir(), &self.repos).await;
            let cleanup = disk::cleanup::run(self.data_dir(), &self.runner.node_hosts, &self.disk, protected).await;
            self.events.log(format!("sweep {id}: clean-up: {}", cleanup.summary()));
            report.cleanup = Some(cleanup);
        }
        Ok(())
    }

    /// Syncs `repo`'s mirror, reads its releases and its canonical copy, and decides (filling in
    /// `line` as it learns).
    async fn examine(&self, repo: &RepoConfig, line: &mut RecipeReport) -> Result<Decision, String> {
        let cache = git::Cache::open(self.data_dir(), &repo.repo)?;
        let remote =
            git::Remote::as_bot(&self.runner.clone_url(&repo.repo), &self.bot_login, self.token.expose_secret());
        let upstream = repo.upstream.clone();
        let synced = {
            let cache = cache.clone();
            tokio::task::spawn_blocking(move || mirror::sync(&cache, &remote, upstream.as_deref()))
                .await
                .map_err(|e| format!("the mirror sync's task died: {e}"))?
        };
        let mut mirror = synced?;
        let repo_ref: forge::RepoRef = repo.repo.parse().map_err(|e| format!("{e}"))?;
        let closed = mirror::close_merged_pulls(&self.client, &repo_ref, &cache, &mut mirror).await;
        line.mirror = Some(mirror);
        closed?;

        let versions = {
            let cache = cache.clone();
            tokio::task::spawn_blocking(move || -> Result<Versions, String> {
                let tags = recipe::git::tags(&cache.dir).map_err(|e| e.to_string())?;
                Ok(Versions::from_tags(&tags, &cache.head()?, |_| true))
            })
            .await
            .map_err(|e| format!("reading the tags' task died: {e}"))??
        };
        let newest = versions.latest();
        line.newest_release = newest.map(|r| r.version.tag.clone());
        let warm = harness::warm::canonical::WarmDir::new(self.data_dir(), &repo.recipe)?;
        let canonical = warm.load().map_err(|e| format!("cannot read the canonical copy's record: {e}"))?;
        line.canonical = canonical.map(|c| c.version);
        let failed = match newest {
            Some(r) => self
                .store
                .latest_seed(&repo.recipe, &r.version.tag, &r.commit)
                .map_err(|e| e.to_string())?
                .filter(|run| run.outcome == Some(Outcome::Fail))
                .map(|run| EarlierFailure { run: run.id.0 }),
            None => None,
        };
        Ok(decide::decide(newest, line.canonical.as_deref(), failed))
    }

    /// Sweeps whenever the schedule says one is due (a missed one at once, once); never ends.
    pub async fn run_on_schedule(self, schedule: schedule::Schedule) -> String {
        loop {
            let wait = match schedule.next_due_on(&self.store) {
                Ok(due) => due - self.store.now(),
                Err(e) => {
                    self.events.log(format!("sweep schedule: cannot read the last sweep: {e}"));
                    RETRY.as_millis() as i64
                }
            };
            if wait > 0 {
                // Looked at again at least hourly: a sweep by hand moves the anchor.
                tokio::time::sleep(Duration::from_millis(wait as u64).min(Duration::from_secs(3600))).await;
                continue;
            }
            match self.run("schedule").await {
                Ok(_) => {}
                Err(e) => {
                    self.events.log(format!("the scheduled sweep did not run: {e}; trying again in a minute"));
                    tokio::time::sleep(RETRY).await;
                }
            }
        }
    }
}

/// How long the schedule waits after a sweep could not start.
const RETRY: Duration = Duration::from_secs(60);
