//! The machine's side of the configuration turned into what the infrastructure crate acts on:
//! `ccci server init`'s options ([`init_options`]: certificate, swarm, proxy), the infrastructure
//! apps updates keep current ([`setup`]: the proxy and `[[infra.apps]]`), and the alert
//! [`deliverer`] of the data dir with the configured sinks. `ccci server init`, `ccci infra` and
//! the server's own schedule all start from these; [`update_all`] is the sweep's first step,
//! wired into it as [`InfraApps`].

use infra::apps::{Setup, SharedSpec};
use infra::certs::CertSource;
use infra::init::InitOptions;
use infra::proxy::ProxySettings;
use infra::proxy_source::RecipeSource;

use crate::alerts_config::AlertsConfig;
use crate::infra_config::{local_ca_dir, TlsConfig};
use crate::MachineConfig;

/// `ccci server init`'s options from the machine's side of the configuration.
pub fn init_options(m: &MachineConfig) -> Result<InitOptions, String> {
    let certs = match &m.tls {
        TlsConfig::LocalCa => CertSource::LocalCa { dir: local_ca_dir(&m.data_dir) },
        TlsConfig::Files { cert, key, ca } => {
            CertSource::Provided { cert: cert.clone(), key: key.clone(), ca: ca.clone() }
        }
    };
    let p = &m.infra.proxy;
    let source = match p.recipe.as_str() {
        "builtin" => RecipeSource::Builtin,
        url => RecipeSource::Git(url.to_string()),
    };
    let auth = m.registry.credentials().map_err(|e| format!("[registry]: {e}"))?;
    // The proxy's image tags are pinned by its recipe: one present locally is that release.
    let pull = swarm::PullOptions {
        policy: swarm::PullPolicy::Missing,
        attempts: m.registry.attempts,
        attempt_timeout: m.registry.timeout,
        auth,
        ..Default::default()
    };
    let check_addr = p.check_addr(m.proxy);
    Ok(InitOptions {
        base_domain: m.base_domain.clone(),
        data_dir: m.data_dir.clone(),
        certs,
        advertise_addr: m.infra.advertise_addr.clone(),
        proxy: ProxySettings {
            source,
            version: p.version.clone(),
            domain: p.domain.clone(),
            web_port: p.web_port,
            web_secure_port: p.web_secure_port,
            refresh_seconds: Some(p.refresh_seconds),
            rule_syntax: p.rule_syntax.clone(),
            pull,
            dnsrr: m.dnsrr,
            check_addr,
        },
        runner_user: harness::sandbox::runner::RUNNER_USER.into(),
    })
}

/// The infrastructure apps of the configuration: the proxy and every `[[infra.apps]]`.
pub fn setup(m: &MachineConfig) -> Result<Setup, String> {
    let shared = m.infra.apps.iter().map(|a| SharedSpec { source: a.recipe.clone(), set: a.set.clone() }).collect();
    Ok(Setup { init: init_options(m)?, shared })
}

/// The alert deliverer of `data_dir` with the configured sinks (not started).
pub fn deliverer(data_dir: &std::path::Path, alerts: &AlertsConfig) -> alerts::Deliverer {
    alerts::Deliverer::new(alerts::AlertStore::new(data_dir), alerts.sinks())
}

/// Update every infrastructure app of `m` — the proxy, then each `[[infra.apps]]` — health-gated,
/// rolling back and alerting through `alerts` (the server's running deliverer, so alerts go out at
/// once): the weekly sweep's first step. Waits for live runs and keeps new ones out meanwhile (the
/// infrastructure lock). Holds, rollbacks and failures are in the reports (each with its alert),
/// not errors; `Err` means nothing could be tried (the configuration, the engine, the lock, the
/// certificate) and says why.
pub async fn update_all(
    m: &MachineConfig,
    alerts: &alerts::Deliverer,
    progress: &mut (dyn FnMut(&str) + Send + Sync),
) -> Result<Vec<infra::update::Report>, String> {
    let setup = setup(m)?;
    let swarm = swarm::Swarm::connect().await.map_err(|e| format!("cannot reach the Docker engine: {e}"))?;
    infra::update::update_all(&setup, &swarm, alerts, progress).await.map_err(|e| e.to_string())
}

/// The infrastructure apps of a configuration as the sweep's infrastructure step: each update's
/// progress goes to the server's log, its alerts through the server's deliverer.
pub struct InfraApps {
    pub machine: MachineConfig,
    pub alerts: alerts::Deliverer,
    pub events: crate::events::Events,
}

#[async_trait::async_trait]
impl crate::sweep::infra::InfraUpdates for InfraApps {
    async fn update_all(&self) -> Result<Vec<crate::sweep::infra::InfraStep>, String> {
        let events = self.events.clone();
        let mut progress = move |line: &str| events.log(format!("infra: {line}"));
        let reports = update_all(&self.machine, &self.alerts, &mut progress).await?;
        Ok(reports
            .iter()
            .map(|r| crate::sweep::infra::InfraStep { app: r.app.clone(), summary: r.summary(), ok: r.ok() })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sweep runs [`update_all`] from a spawned task (an `async_trait` method): its future must
    /// be `Send`. Checked by the compiler; nothing is run.
    #[test]
    fn the_update_can_run_on_any_thread() {
        fn is_send<T: Send>(_: &T) {}
        let data = tempfile::tempdir().unwrap();
        let text = format!("base_domain = \"ci.example.org\"\ndata_dir = \"{}\"\n", data.path().display());
        let file = data.path().join("server.toml");
        std::fs::write(&file, text).unwrap();
        let machine = crate::load_machine(&file).unwrap();
        let alerts = deliverer(&machine.data_dir, &machine.alerts);
        let mut progress = |_: &str| {};
        let update = update_all(&machine, &alerts, &mut progress);
        is_send(&update);
    }
}
