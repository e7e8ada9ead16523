//! D6: the janitor. Reaps everything labelled `cc-ci.run=<id>` whose run is not live — decided by
//! the caller's set of live runs, never by age — in dependency order. Objects without the label
//! are never touched, nor objects of a live run, so it is safe next to any number of concurrent
//! runs. A run may ask to be kept for a while (`--keep-on-failure`) with a `cc-ci.keep-until`
//! label on any of its objects, or with [`Swarm::keep_until`]. Containers and volumes are looked
//! for on every node engine; nodes that do not answer are skipped and reported, for a later pass.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use bollard::models::ConfigSpec;

use crate::error::{Error, Leftover, Result};
use crate::labels::{filter_has_label, KEEP_UNTIL, RUN};
use crate::objects::{Kind, Object};
use crate::Swarm;

/// What the janitor did.
#[derive(Debug, Clone, Default)]
pub struct JanitorReport {
    /// Runs whose objects were removed.
    pub reaped_runs: Vec<String>,
    /// Runs not live but kept until the given unix time.
    pub kept_runs: Vec<(String, u64)>,
    /// Objects removed.
    pub removed: Vec<Leftover>,
    /// Nodes whose engine did not answer (`name (host): why`): what dead runs left there stays
    /// until a later pass.
    pub unreachable_nodes: Vec<String>,
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl Swarm {
    /// Remove every object of every run that is labelled with `cc-ci.run` but whose id is not in
    /// `live`, unless the run carries an unexpired `cc-ci.keep-until`. Order: services → wait
    /// (events) for their containers to go → other containers → networks, configs, secrets,
    /// volumes. `timeout` bounds the whole reap ([`Error::TeardownTimeout`] past it).
    ///
    /// The caller must register a run as live before it creates its first object, or the janitor
    /// may reap a run that is starting.
    pub async fn janitor<S: AsRef<str>>(&self, live: &[S], timeout: Duration) -> Result<JanitorReport> {
        self.janitor_where(live, |_| true, timeout).await
    }

    /// [`Swarm::janitor`] restricted to the runs `in_scope` accepts (e.g. a run-id prefix of one
    /// cc-ci instance or one test), so several instances can share an engine.
    pub async fn janitor_where<S: AsRef<str>>(
        &self,
        live: &[S],
        in_scope: impl Fn(&str) -> bool,
        timeout: Duration,
    ) -> Result<JanitorReport> {
        let live: BTreeSet<&str> = live.iter().map(AsRef::as_ref).collect();
        let selectors = vec![filter_has_label(RUN)];
        let (reachable, unreachable_nodes) = self.reachable().await;
        let mut runs: BTreeMap<String, u64> = BTreeMap::new();
        for kind in Kind::ALL {
            for o in reachable.list_any(kind, &selectors).await? {
                let Some(run) = o.labels.get(RUN) else { continue };
                let keep = o.labels.get(KEEP_UNTIL).and_then(|k| k.parse::<u64>().ok()).unwrap_or(0);
                let entry = runs.entry(run.clone()).or_insert(0);
                *entry = (*entry).max(keep);
            }
        }
        let now = now_secs();
        let mut report = JanitorReport { unreachable_nodes, ..Default::default() };
        let mut dead = BTreeSet::new();
        for (run, keep) in runs {
            if live.contains(run.as_str()) || !in_scope(&run) {
                continue;
            }
            if keep > now {
                report.kept_runs.push((run, keep));
            } else {
                dead.insert(run);
            }
        }
        if dead.is_empty() {
            return Ok(report);
        }
        let ours = |o: &Object| o.labels.get(RUN).is_some_and(|r| dead.contains(r));
        report.removed =
            reachable.reap(&selectors, &ours, "janitor", timeout, crate::teardown::TeardownMode::Graceful).await?;
        report.reaped_runs = dead.into_iter().collect();
        Ok(report)
    }

    /// Ask the janitor to keep run `run_id` until `until` (unix seconds) even when it is not live:
    /// creates a small marker config `cc-ci-keep_<run_id>` labelled with the run and
    /// `cc-ci.keep-until`, replacing an earlier marker of the run. The janitor removes the marker
    /// with the rest once the time has passed; teardown removes it at once.
    pub async fn keep_until(&self, run_id: &str, until: u64) -> Result<()> {
        let name = format!("cc-ci-keep_{run_id}");
        let spec = ConfigSpec {
            name: Some(name.clone()),
            labels: Some(HashMap::from([
                (RUN.to_string(), run_id.to_string()),
                (KEEP_UNTIL.to_string(), until.to_string()),
            ])),
            data: Some(base64::engine::general_purpose::STANDARD.encode(until.to_string())),
            ..Default::default()
        };
        let ctx = format!("creating the keep marker of {run_id}");
        match self.docker.create_config(spec.clone()).await {
            Ok(_) => Ok(()),
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 409, .. }) => {
                // Configs are immutable: replace the earlier marker.
                self.docker.delete_config(&name).await.map_err(Error::docker(ctx.clone()))?;
                self.docker.create_config(spec).await.map_err(Error::docker(ctx))?;
                Ok(())
            }
            Err(e) => Err(Error::docker(ctx)(e)),
        }
    }
}
