//! Carrying out the update of one infrastructure app that [`super::plan`] judged (SPEC I1):
//!
//! - **held** (and not accepted by hand): an alert with the target's release notes; nothing is
//!   deployed or snapshotted;
//! - **stateless** (the proxy): the running release is recorded as last-good, the target is
//!   deployed and health-checked; healthy → last-good := target; else the last-good release is
//!   deployed again (forced: swarm may have rolled the service back by itself), checked, alerted;
//! - **stateful** (a warm dependency): the same, but the app is undeployed and its volumes
//!   snapshotted first (`harness::warm::snapshot`), and a failed target is undeployed and the
//!   snapshot restored before the last-good release is deployed again, since the target may have
//!   migrated the data forward;
//! - **not deployed**: the target is deployed; a failure is undeployed again and alerted.
//!
//! Every hold, rollback and failure becomes an alert ([`alerts::Deliverer::raise`], delivered in
//! the background) and every outcome is recorded in the app's state.

use std::time::Duration;

use alerts::{Deliverer, Kind, NewAlert};
use harness::warm::canonical::WarmDir;
use harness::warm::snapshot::{self, VolumeRef};
use serde::Serialize;
use swarm::Swarm;

use super::plan::{Action, AppStatus};
use crate::apps::{App, Setup};
use crate::certs::WildcardCert;
use crate::state::{self, LastUpdate, Outcome};
use crate::{proxy, proxy_source, shared_app, Error, Result};

/// How long undeploying an app (its containers stopping) may take.
const UNDEPLOY_TIMEOUT: Duration = Duration::from_secs(120);

/// How the update of one app ended.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub app: String,
    /// The release it ran before.
    pub from: Option<String>,
    /// The release it was to run.
    pub to: Option<String>,
    pub outcome: Outcome,
    pub message: String,
    /// The id of the alert raised, if one was.
    pub alert: Option<String>,
}

impl Report {
    /// `proxy: rolled_back (1.1.0 → 1.2.0): <message>`.
    pub fn line(&self) -> String {
        format!("{}: {}", self.app, self.summary())
    }

    /// [`Report::line`] without the app: `rolled_back (1.1.0 → 1.2.0): <message>`.
    pub fn summary(&self) -> String {
        let versions = match (&self.from, &self.to) {
            (Some(a), Some(b)) if a != b => format!(" ({a} → {b})"),
            (_, Some(b)) => format!(" ({b})"),
            _ => String::new(),
        };
        format!("{}{versions}: {}", self.outcome.name(), self.message)
    }

    /// Whether it went as it should (up to date, updated, installed); otherwise an alert was
    /// raised and a person has something to look at.
    pub fn ok(&self) -> bool {
        !self.outcome.needs_attention()
    }
}

/// What updating needs, for one `update` call.
pub struct Updater<'a> {
    pub setup: &'a Setup,
    pub swarm: &'a Swarm,
    pub alerts: &'a Deliverer,
    /// The wildcard certificate the proxy serves (its CA verifies every health check).
    pub cert: WildcardCert,
    /// Labels the helper containers of snapshots (claimed live, so no janitor reaps them).
    pub id: String,
    pub progress: &'a mut (dyn FnMut(&str) + Send + Sync),
}

impl Updater<'_> {
    /// Carry out `plan` for `app`; `accept_hold` goes ahead with a held update.
    pub async fn apply(&mut self, app: App<'_>, plan: AppStatus, accept_hold: bool) -> Report {
        let name = plan.app.clone();
        let from = plan.running.clone();
        let to = plan.target.clone();
        let (outcome, message, alert) = match (&plan.action, to.as_deref()) {
            (Action::UpToDate, Some(to)) => (Outcome::UpToDate, format!("runs {to} already"), None),
            (Action::Unknown { error }, _) => {
                let message = format!("cannot update {name}: {error}");
                let alert = self.alert(Kind::UpdateFailed, &plan, &message);
                (Outcome::Failed, message, alert)
            }
            (Action::Held { reason }, Some(_)) if !accept_hold => {
                let message = format!("held: {reason}; it stays on {}", from.as_deref().unwrap_or("its release"));
                let alert = self.alert(Kind::UpdateHeld, &plan, &message);
                (Outcome::Held, message, alert)
            }
            (Action::Install, Some(to)) => self.install(app, &plan, to).await,
            (Action::Held { reason }, Some(to)) => {
                self.say(&format!("{name}: held ({reason}), going ahead as asked (--accept-hold)"));
                self.replace(app, &plan, from.as_deref().unwrap_or_default(), to).await
            }
            (Action::Update, Some(to)) => self.replace(app, &plan, from.as_deref().unwrap_or_default(), to).await,
            (_, None) => (Outcome::Failed, format!("cannot update {name}: no target release"), None),
        };
        self.record(&name, from.clone(), to.clone(), outcome, &message);
        Report { app: name, from, to, outcome, message, alert }
    }

    fn say(&mut self, line: &str) {
        (self.progress)(line);
    }

    /// Deploy `to` where nothing ran; a failure is undeployed again.
    async fn install(&mut self, app: App<'_>, plan: &AppStatus, to: &str) -> (Outcome, String, Option<String>) {
        self.say(&format!("{}: not deployed; deploying {to}", plan.app));
        match self.deploy_checked(app, to, false).await {
            Ok(detail) => (Outcome::Installed, format!("deployed {to}: {detail}"), None),
            Err(e) => {
                let removed = match self.swarm.undeploy(&plan.stack, &self.id, UNDEPLOY_TIMEOUT).await {
                    Ok(()) => "removed again".to_string(),
                    Err(u) => format!("removing it failed too: {u}"),
                };
                let message = format!("the first deploy of {} at {to} failed: {e}; {removed}", plan.app);
                let alert = self.alert(Kind::UpdateFailed, plan, &message);
                (Outcome::Failed, message, alert)
            }
        }
    }

    /// Replace the running release `from` with `to`, health-gated, rolling back on failure.
    async fn replace(
        &mut self,
        app: App<'_>,
        plan: &AppStatus,
        from: &str,
        to: &str,
    ) -> (Outcome, String, Option<String>) {
        let name = plan.app.clone();
        self.record_last_good(&name, from);
        let snapshot = match app {
            App::Shared(spec) => match self.take_snapshot(spec, plan, from).await {
                Ok(volumes) => Some(volumes),
                Err(e) => {
                    self.say(&format!("{name}: {e}; deploying {from} again"));
                    let again = self.deploy_checked(app, from, false).await;
                    let how = match again {
                        Ok(_) => format!("{from} runs again"),
                        Err(e) => format!("deploying {from} again failed too: {e}"),
                    };
                    let message = format!("not updated to {to}: {e}; {how}");
                    let alert = self.alert(Kind::UpdateFailed, plan, &message);
                    return (Outcome::Failed, message, alert);
                }
            },
            App::Proxy => None,
        };
        self.say(&format!("{name}: deploying {to} (last-good {from})"));
        let failure = match self.deploy_checked(app, to, false).await {
            Ok(detail) => return (Outcome::Updated, format!("{to} is healthy: {detail}"), None),
            Err(e) => e,
        };
        self.say(&format!("{name}: {to} is not healthy: {failure}; rolling back to {from}"));
        let rolled_back = match &snapshot {
            Some(volumes) => self.restore_snapshot(app, plan, from, volumes).await,
            None => self.deploy_checked(app, from, true).await,
        };
        match rolled_back {
            Ok(detail) => {
                let restored = if snapshot.is_some() { " with its volumes restored from the snapshot" } else { "" };
                let message = format!(
                    "the update from {from} to {to} failed: {failure}; rolled back to {from}{restored}, \
                     which is healthy: {detail}"
                );
                let alert = self.alert(Kind::UpdateRolledBack, plan, &message);
                (Outcome::RolledBack, message, alert)
            }
            Err(e) => {
                let message =
                    format!("the update from {from} to {to} failed: {failure}; the rollback to {from} failed too: {e}");
                let alert = self.alert(Kind::RollbackFailed, plan, &message);
                (Outcome::RollbackFailed, message, alert)
            }
        }
    }

    /// Deploy release `version` of `app` and check its health; says how it went.
    async fn deploy_checked(&self, app: App<'_>, version: &str, force: bool) -> Result<String> {
        let setup = self.setup;
        let infra = setup.infra_dir();
        match app {
            App::Proxy => {
                let settings = &setup.init.proxy;
                let checkout = proxy_source::prepare(&settings.source, Some(version), &infra)?;
                let rendered = proxy::render(&checkout, settings, &self.cert)?;
                let ensured = proxy::deploy(self.swarm, &rendered, settings, self.cert.ca.as_deref(), &infra, force);
                Ok(ensured.await?.proxy.1)
            }
            App::Shared(spec) => {
                let release = shared_app::render(spec, version, &setup.init.base_domain, &infra)?;
                let workdir = state::app_dir(&setup.init.data_dir, &release.name);
                let pull = &setup.init.proxy.pull;
                shared_app::deploy(self.swarm, &release, pull, setup.init.proxy.dnsrr, &setup.init.data_dir, &workdir)
                    .await?;
                shared_app::check(self.swarm, &release, setup.init.proxy.check_addr, self.cert.ca.as_deref()).await
            }
        }
    }

    /// Undeploy the app and snapshot the volumes of its release `from`.
    async fn take_snapshot(
        &mut self,
        spec: &crate::apps::SharedSpec,
        plan: &AppStatus,
        from: &str,
    ) -> Result<Vec<VolumeRef>> {
        let release = shared_app::render(spec, from, &self.setup.init.base_domain, &self.setup.infra_dir())?;
        let volumes = shared_app::volumes(&release);
        self.say(&format!("{}: undeploying {} to snapshot its volumes", plan.app, plan.stack));
        self.swarm.undeploy(&plan.stack, &self.id, UNDEPLOY_TIMEOUT).await?;
        let dir = self.snapshot_dir(&plan.app);
        let manifest = snapshot::take(self.swarm, &self.id, &dir, &volumes, &mut |_| {})
            .await
            .map_err(|e| Error::Snapshot(format!("the snapshot before the update failed: {e}")))?;
        self.say(&format!("{}: snapshot {} taken ({} bytes)", plan.app, manifest.id, manifest.bytes()));
        Ok(volumes)
    }

    /// Undeploy the failed target, put the snapshot back and deploy `from` again.
    async fn restore_snapshot(
        &mut self,
        app: App<'_>,
        plan: &AppStatus,
        from: &str,
        volumes: &[VolumeRef],
    ) -> Result<String> {
        self.swarm.undeploy(&plan.stack, &self.id, UNDEPLOY_TIMEOUT).await?;
        let dir = self.snapshot_dir(&plan.app);
        let manifest = snapshot::restore(self.swarm, &self.id, &dir, volumes)
            .await
            .map_err(|e| Error::Snapshot(format!("restoring the snapshot failed: {e}")))?;
        self.say(&format!("{}: snapshot {} restored; deploying {from}", plan.app, manifest.id));
        self.deploy_checked(app, from, false).await
    }

    /// Where an app's snapshots live: beside its record.
    fn snapshot_dir(&self, app: &str) -> WarmDir {
        WarmDir { recipe: app.to_string(), root: state::app_dir(&self.setup.init.data_dir, app) }
    }

    /// Raise an alert about `plan` (its versions, the target's notes); its id, if recorded.
    fn alert(&mut self, kind: Kind, plan: &AppStatus, message: &str) -> Option<String> {
        let about = NewAlert {
            app: Some(plan.app.clone()),
            recipe: Some(plan.recipe.clone()),
            from_version: plan.running.clone(),
            to_version: plan.target.clone(),
            message: message.to_string(),
            release_notes: plan.notes.clone(),
        };
        match self.alerts.raise(kind, about) {
            Ok(alert) => Some(alert.id),
            Err(e) => {
                self.say(&format!("{}: the alert could not be recorded: {e}", plan.app));
                None
            }
        }
    }

    fn record_last_good(&mut self, app: &str, release: &str) {
        let data = &self.setup.init.data_dir;
        let mut record =
            state::load(data, app).unwrap_or_else(|_| state::AppState { app: app.into(), ..Default::default() });
        record.last_good = Some(release.to_string());
        if let Err(e) = state::save(data, &record) {
            self.say(&format!("{app}: cannot record the last-good release: {e}"));
        }
    }

    /// Record how the update ended: what runs now, the last-good release, the last update.
    fn record(&mut self, app: &str, from: Option<String>, to: Option<String>, outcome: Outcome, message: &str) {
        let data = &self.setup.init.data_dir;
        let mut record =
            state::load(data, app).unwrap_or_else(|_| state::AppState { app: app.into(), ..Default::default() });
        record.app = app.to_string();
        match outcome {
            Outcome::Updated | Outcome::Installed => {
                record.running = to.clone();
                record.last_good = to.clone();
            }
            Outcome::UpToDate | Outcome::Held | Outcome::RolledBack => record.running = from.clone(),
            Outcome::RollbackFailed => record.running = None,
            Outcome::Failed => {}
        }
        // "Up to date" changes nothing worth keeping over the last real update.
        if let (Some(to), false) = (to, outcome == Outcome::UpToDate) {
            record.last_update = Some(LastUpdate { at: state::now(), from, to, outcome, message: message.to_string() });
        }
        if let Err(e) = state::save(data, &record) {
            self.say(&format!("{app}: cannot record the update: {e}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_says_what_happened_with_both_versions() {
        let report = Report {
            app: "proxy".into(),
            from: Some("1.1.0+v3.7.15".into()),
            to: Some("1.2.0+v3.7.15".into()),
            outcome: Outcome::RolledBack,
            message: "not healthy; rolled back".into(),
            alert: Some("20261201t180000-abcdef".into()),
        };
        assert_eq!(report.summary(), "rolled_back (1.1.0+v3.7.15 → 1.2.0+v3.7.15): not healthy; rolled back");
        assert_eq!(report.line(), format!("proxy: {}", report.summary()));
        assert!(!report.ok());
        let same = Report { from: report.to.clone(), outcome: Outcome::UpToDate, ..report };
        assert!(same.ok());
        assert_eq!(same.summary(), "up_to_date (1.2.0+v3.7.15): not healthy; rolled back");
    }
}
