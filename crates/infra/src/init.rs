//! `ccci server init` (SPEC O2): everything the server needs before any test run can be served,
//! made so idempotently, each part told as a [`InitStep`] with what it changed — the runner user
//! pull-request code runs as exists outside the docker group, the Docker engine answers, this
//! node is a swarm manager (a lone engine becomes a single-node swarm), the external `proxy`
//! overlay network exists, the wildcard certificate is usable (the operator's, or a local CA's),
//! and the proxy runs the project's recipe ([`crate::proxy`]) at its pinned release, else the
//! release recorded as running (what the last infrastructure update left), else the newest; that
//! release is recorded as running and last-good. A second call changes nothing and says so.

use std::path::PathBuf;

use swarm::node::{NetworkState, NodeRole};
use swarm::Swarm;

use crate::certs::{ensure_wildcard, CertSource};
use crate::proxy::{self, ProxySettings};
use crate::{proxy_source, state, Change, Error, Result, INFRA_LABEL, PROXY_APP};

/// The external network Traefik and every app's public service join.
pub const PROXY_NETWORK: &str = "proxy";

/// What `ccci server init` sets up.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// App instances live under it; the wildcard certificate covers `*.<base>` and `<base>`.
    pub base_domain: String,
    /// The server's data dir: the proxy recipe under `infra/`, a local CA under `tls/`.
    pub data_dir: PathBuf,
    /// Where the wildcard certificate comes from.
    pub certs: CertSource,
    /// The address a new swarm advertises (`docker swarm init --advertise-addr`); the engine
    /// chooses when `None`.
    pub advertise_addr: Option<String>,
    pub proxy: ProxySettings,
    /// The user pull-request code runs as (made when missing).
    pub runner_user: String,
}

/// One part of the set-up and what happened to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitStep {
    /// What it is about (`swarm`, `network proxy`, `certificate`...).
    pub subject: String,
    pub change: Change,
    /// One line: what is there now.
    pub detail: String,
}

impl std::fmt::Display for InitStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}; {}", self.subject, self.change, self.detail)
    }
}

/// What a whole `server init` did.
#[derive(Debug, Clone)]
pub struct InitReport {
    pub steps: Vec<InitStep>,
    /// The CA clients must trust, when the certificate's issuer is private (the local CA).
    pub ca: Option<PathBuf>,
}

impl InitReport {
    /// Whether anything was created or replaced.
    pub fn changed(&self) -> bool {
        self.steps.iter().any(|s| s.change != Change::Unchanged)
    }
}

/// Set everything up; `on_step` sees each step as it is done. Errors say what to fix (no
/// Docker, a worker node, an unusable certificate, a proxy that does not answer).
pub async fn server_init(options: &InitOptions, on_step: &mut dyn FnMut(&InitStep)) -> Result<InitReport> {
    let mut steps = Vec::new();
    let mut step = |subject: &str, change: Change, detail: String| {
        let s = InitStep { subject: subject.to_string(), change, detail };
        on_step(&s);
        steps.push(s);
    };

    let (change, detail) = crate::runner_user::ensure(&options.runner_user)?;
    step(&format!("runner user {}", options.runner_user), change, detail);

    let swarm = Swarm::connect().await.map_err(|e| Error::NoDocker(e.to_string()))?;
    let engine = swarm.engine_info().await.map_err(|e| Error::NoDocker(e.to_string()))?;
    step("docker engine", Change::Unchanged, format!("Docker {}, API {}", engine.version, engine.api_version));

    match swarm_step(&engine.role)? {
        SwarmStep::Ready => step("swarm", Change::Unchanged, "this node is a swarm manager".into()),
        SwarmStep::Initialise => {
            swarm.init_swarm(options.advertise_addr.as_deref()).await.map_err(|e| {
                Error::Swarm(format!(
                    "{e}; if the host has several addresses, set [infra.swarm] advertise_addr to the one other \
                     nodes reach"
                ))
            })?;
            let at = options.advertise_addr.as_deref().map(|a| format!(", advertising {a}")).unwrap_or_default();
            step("swarm", Change::Created, format!("single-node swarm initialised{at}; this node is its manager"));
        }
    }

    let network = swarm.ensure_overlay_network(PROXY_NETWORK, &[(INFRA_LABEL, PROXY_APP)]).await?;
    let change = if network == NetworkState::Created { Change::Created } else { Change::Unchanged };
    step(&format!("network {PROXY_NETWORK}"), change, "attachable swarm overlay".into());

    let (cert, change) = ensure_wildcard(&options.certs, &options.base_domain)?;
    let expires = time::OffsetDateTime::from_unix_timestamp(cert.not_after)
        .map(|t| t.date().to_string())
        .unwrap_or_else(|_| cert.not_after.to_string());
    let issuer = match (&options.certs, &cert.ca) {
        (CertSource::LocalCa { .. }, Some(ca)) => format!("; local CA {} (clients must trust it)", ca.display()),
        (_, Some(ca)) => format!("; CA {}", ca.display()),
        (_, None) => String::new(),
    };
    step(
        "certificate",
        change,
        format!("*.{0} and {0}, expires {expires}, sha256 {1}{issuer}", cert.base_domain, &cert.sha256[..12]),
    );

    let infra_dir = options.data_dir.join("infra");
    let version = match &options.proxy.version {
        Some(pinned) => Some(pinned.clone()),
        None => recorded_release(options, &infra_dir)?,
    };
    let checkout = proxy_source::prepare(&options.proxy.source, version.as_deref(), &infra_dir)?;
    step(
        "proxy recipe",
        checkout.repository,
        format!("{} {} ({})", crate::proxy_recipe::NAME, checkout.version, options.proxy.source),
    );

    let app = proxy::render(&checkout, &options.proxy, &cert)?;
    let ensured = proxy::ensure(&swarm, &app, &options.proxy, cert.ca.as_deref(), &infra_dir).await?;
    step("proxy images", ensured.images.0, ensured.images.1);
    step("proxy secrets", ensured.secrets.0, ensured.secrets.1);
    step("proxy", ensured.proxy.0, ensured.proxy.1);
    if !ensured.removed_secrets.is_empty() {
        step("old proxy secrets", Change::Replaced, format!("removed {}", ensured.removed_secrets.join(", ")));
    }
    let record_dir = state::app_dir(&options.data_dir, PROXY_APP);
    let mut record = state::load(&options.data_dir, PROXY_APP).map_err(Error::io(&record_dir))?;
    record.running = Some(checkout.version.clone());
    record.last_good = Some(checkout.version.clone());
    state::save(&options.data_dir, &record).map_err(Error::io(&record_dir))?;
    Ok(InitReport { steps, ca: cert.ca })
}

/// The proxy release recorded as running (what the last `ccci infra update` left), if it is
/// still a release of the recipe: an unpinned proxy stays there rather than jump to the newest
/// release past the safety gate.
fn recorded_release(options: &InitOptions, infra_dir: &std::path::Path) -> Result<Option<String>> {
    let record =
        state::load(&options.data_dir, PROXY_APP).map_err(Error::io(state::app_dir(&options.data_dir, PROXY_APP)))?;
    let Some(running) = record.running else { return Ok(None) };
    let (repo, _) = proxy_source::repository(crate::proxy_recipe::NAME, &options.proxy.source, infra_dir)?;
    Ok(proxy_source::releases(&repo)?.contains(&running).then_some(running))
}

/// What to do about this node's swarm.
#[derive(Debug, PartialEq, Eq)]
enum SwarmStep {
    /// A manager already: nothing.
    Ready,
    /// No swarm: make a single-node one.
    Initialise,
}

/// Whether stacks can be deployed from this node, after making it a swarm if it is in none; a
/// worker or a broken swarm is refused saying what to do.
fn swarm_step(role: &NodeRole) -> Result<SwarmStep> {
    match role {
        NodeRole::Manager => Ok(SwarmStep::Ready),
        NodeRole::NoSwarm => Ok(SwarmStep::Initialise),
        NodeRole::Worker => Err(Error::Swarm(
            "this node is a swarm worker, not a manager: services and stacks can only be deployed from a \
             manager; run ccci on a manager node (or promote this one: `docker node promote <node>` on a manager)"
                .into(),
        )),
        NodeRole::Unusable { state, message } => Err(Error::Swarm(format!(
            "this node's swarm state is `{state}`{}; fix the swarm (`docker info`) and run again",
            if message.is_empty() { String::new() } else { format!(" ({message})") }
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_manager_or_a_lone_engine_can_be_set_up() {
        assert_eq!(swarm_step(&NodeRole::Manager).unwrap(), SwarmStep::Ready);
        assert_eq!(swarm_step(&NodeRole::NoSwarm).unwrap(), SwarmStep::Initialise);
        let worker = swarm_step(&NodeRole::Worker).unwrap_err().to_string();
        assert!(worker.contains("worker, not a manager") && worker.contains("manager node"), "{worker}");
        let locked = NodeRole::Unusable { state: "locked".into(), message: "swarm is encrypted".into() };
        let locked = swarm_step(&locked).unwrap_err().to_string();
        assert!(locked.contains("`locked`") && locked.contains("swarm is encrypted"), "{locked}");
    }
}
