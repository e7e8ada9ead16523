//! Health-gated updates of the infrastructure apps (SPEC I1–I3): `ccci infra status` is
//! [`status`], `ccci infra update` is [`update`], and the weekly sweep starts with
//! [`update_all`]. What each app would do is judged by [`plan`] (the safety gate included) and
//! carried out by [`apply`].
//!
//! An update holds the infrastructure lock exclusive (`harness::infra_lock`) from before it
//! judges anything until it has finished: it waits until no test run is live, and no run starts
//! meanwhile. A warm dependency's own lock (the one runs take to make tenants) is held too while
//! it is updated. Helper containers of snapshots carry the update's own id, claimed live for as
//! long as it runs, so no janitor reaps them.

pub mod apply;
pub mod plan;

use alerts::Deliverer;
use swarm::Swarm;

pub use apply::Report;
pub use plan::{Action, AppStatus};

use crate::apps::{App, Setup};
use crate::certs::ensure_wildcard;
use crate::{Error, Result};

/// Which apps, to which release.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// One app by name; every app when `None`.
    pub app: Option<String>,
    /// The release to go to (needs `app`); else the pinned release, else the newest.
    pub to: Option<String>,
    /// Go ahead with an update the safety gate holds (a person checked the release notes).
    pub accept_hold: bool,
}

/// The apps `request` names.
fn chosen<'a>(setup: &'a Setup, request: &Request) -> Result<Vec<App<'a>>> {
    match (&request.app, &request.to) {
        (None, Some(to)) => Err(Error::Request(format!("--to {to} needs the app to update (e.g. `proxy`)"))),
        (None, None) => Ok(setup.apps()),
        (Some(name), _) => Ok(vec![setup.app(name).map_err(Error::Request)?]),
    }
}

/// What an update as `request` asks would do for each app, changing nothing. A release asked
/// for (`--to`) that cannot be judged (no such release) is an error, not an app to alert about.
pub async fn status(setup: &Setup, swarm: &Swarm, request: &Request) -> Result<Vec<AppStatus>> {
    let mut out = Vec::new();
    for app in chosen(setup, request)? {
        let status = plan::plan(setup, swarm, app, request.to.as_deref()).await;
        if let (Some(_), Action::Unknown { error }) = (&request.to, &status.action) {
            return Err(Error::Request(error.clone()));
        }
        out.push(status);
    }
    Ok(out)
}

/// Update every infrastructure app to its newest (or pinned) release: what the sweep does
/// first. See [`update`].
pub async fn update_all(
    setup: &Setup,
    swarm: &Swarm,
    alerts: &Deliverer,
    progress: &mut (dyn FnMut(&str) + Send + Sync),
) -> Result<Vec<Report>> {
    update(setup, swarm, alerts, &Request::default(), progress).await
}

/// Update the apps `request` names, one after the other, health-gated (see the module doc);
/// `progress` hears each step. Holds, rollbacks and failures are reported (and alerted through
/// `alerts`), not errors: an error means nothing could be tried (the lock, a bad request, the
/// certificate).
pub async fn update(
    setup: &Setup,
    swarm: &Swarm,
    alerts: &Deliverer,
    request: &Request,
    progress: &mut (dyn FnMut(&str) + Send + Sync),
) -> Result<Vec<Report>> {
    let apps = chosen(setup, request)?;
    if request.to.is_some() {
        status(setup, swarm, request).await?;
    }
    let data_dir = &setup.init.data_dir;
    let lock_error = |e: std::io::Error| Error::Io { path: harness::infra_lock::path(data_dir), source: e };
    let _lock = match harness::infra_lock::try_exclusive(data_dir).map_err(lock_error)? {
        Some(lock) => lock,
        None => {
            progress("waiting for the live test runs (or another update) to end: the infrastructure lock");
            harness::infra_lock::exclusive(data_dir).await.map_err(lock_error)?
        }
    };
    let id = harness::run_id::new_run_id();
    let live_dir = harness::liveness::live_dir();
    let _live = harness::liveness::claim(&live_dir, &id).map_err(Error::io(&live_dir))?;
    let (cert, _) = ensure_wildcard(&setup.init.certs, &setup.init.base_domain)?;
    let mut updater = apply::Updater { setup, swarm, alerts, cert, id, progress };
    let mut reports = Vec::new();
    for app in apps {
        let _app_lock = match app {
            App::Shared(spec) => {
                let path = harness::shared::lock_path(data_dir, &spec.name());
                Some(harness::locks::acquire(&path).await.map_err(Error::io(&path))?)
            }
            App::Proxy => None,
        };
        let plan = plan::plan(setup, swarm, app, request.to.as_deref()).await;
        reports.push(updater.apply(app, plan, request.accept_hold).await);
    }
    Ok(reports)
}
