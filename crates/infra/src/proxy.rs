//! The proxy as an infrastructure app: the project's Traefik recipe rendered for the server
//! ([`render`]: the wildcard overlay, the CI's ports and refresh interval, no ACME, the
//! certificate's secrets versioned by its fingerprint) and deployed through the same engine as
//! test runs ([`ensure`]: images pulled, secrets created, `docker stack deploy`, convergence from
//! the engine's events, then the health check: a known route answers over HTTPS and an unknown
//! host gets 404, the certificate verified against the CA). The known route is the proxy's own:
//! [`render`] adds a router for `ccci-probe.<base domain>` to Traefik's `ping@internal` service
//! to the proxy's service labels, so the answer proves that the swarm provider reads labels, the
//! wildcard certificate is served and routing works, without any app. Every object carries
//! [`crate::INFRA_LABEL`]`=`[`crate::PROXY_APP`], never `cc-ci.run`.
//!
//! Idempotent: the rendered document's fingerprint is kept in a service label
//! ([`SPEC_LABEL`]); a proxy running that document, converged and answering is left alone, so a
//! second call changes nothing. A renewed certificate has a new fingerprint, hence new secret
//! names (secrets are immutable) and a new document: the proxy is updated and the old secrets
//! removed once nothing uses them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use recipe::instance::Instance;
use recipe::recipe::Recipe;
use serde_norway::Value;
use sha2::{Digest, Sha256};
use swarm::deploy::Deploy;
use swarm::labels::STACK_NAMESPACE;
use swarm::Swarm;

use crate::certs::WildcardCert;
use crate::proxy_source::{ProxyCheckout, RecipeSource};
use crate::{Change, Error, Result, INFRA_LABEL, PROXY_APP};

/// Service label holding the fingerprint of the document the proxy was deployed from.
pub const SPEC_LABEL: &str = "cc-ci.infra.spec";
/// The compose files deployed: the recipe and its wildcard-certificate overlay.
const COMPOSE_FILES: [&str; 2] = ["compose.yml", "compose.wildcard.yml"];
/// The proxy's main service.
const SERVICE: &str = "app";
/// Convergence timeout when the recipe's timeout label says nothing usable.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);
/// How long the HTTPS check keeps asking a freshly converged proxy.
const SERVING_PATIENCE: Duration = Duration::from_secs(60);
/// The host of the base domain the serving check asks for (no app is named so).
pub const PROBE_HOST: &str = "ccci-unknown-host";
/// The host of the base domain the proxy routes to its own ping service (the known route).
const KNOWN_HOST: &str = "ccci-probe";
/// Hex digits of the certificate's fingerprint in its secrets' version (the names must fit
/// Docker's 64 characters after a stack name of up to 45).
const SECRET_VERSION_DIGITS: usize = 8;

/// How the proxy is deployed on this server.
#[derive(Debug, Clone)]
pub struct ProxySettings {
    /// Where the recipe comes from.
    pub source: RecipeSource,
    /// The release to deploy; the newest when `None`.
    pub version: Option<String>,
    /// The proxy's own domain (its dashboard router), e.g. `traefik.<base domain>`.
    pub domain: String,
    /// Host port of the `web` entry point (redirects to HTTPS).
    pub web_port: u16,
    /// Host port of the `web-secure` entry point.
    pub web_secure_port: u16,
    /// How often Traefik's swarm provider looks for new services (Traefik's own default, 15 s,
    /// when `None`).
    pub refresh_seconds: Option<u32>,
    /// Traefik's `core.defaultRuleSyntax` (`v2` serves Traefik 2 rules); Traefik's default when `None`.
    pub rule_syntax: Option<String>,
    /// How the proxy's images are pulled.
    pub pull: swarm::PullOptions,
    /// Deploy with `endpoint_mode: dnsrr` (engines without IPVS).
    pub dnsrr: bool,
    /// Where this host reaches the proxy's HTTPS entry point for the serving check.
    pub check_addr: SocketAddr,
}

/// One secret of the proxy: its Docker name and the file it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxySecret {
    pub name: String,
    pub file: PathBuf,
}

/// The proxy rendered for this server, ready to deploy.
#[derive(Debug, Clone)]
pub struct ProxyApp {
    pub stack: String,
    pub domain: String,
    /// The release deployed.
    pub version: String,
    /// The rendered document, its fingerprint in [`SPEC_LABEL`].
    pub doc: Value,
    /// Fingerprint of the document (before the label was added).
    pub spec: String,
    pub secrets: Vec<ProxySecret>,
    /// The convergence timeout (the recipe's timeout label).
    pub timeout: Duration,
    /// A host of the certificate's base domain no app has: the proxy must answer it 404.
    pub probe_domain: String,
    /// The host of the proxy's own known route: it must answer 200.
    pub known_domain: String,
}

/// Render the checked-out recipe for `settings` with `cert`'s secrets.
pub fn render(checkout: &ProxyCheckout, settings: &ProxySettings, cert: &WildcardCert) -> Result<ProxyApp> {
    let recipe = Recipe::load(&checkout.dir)?;
    let domain = settings.domain.trim_end_matches('.').to_ascii_lowercase();
    let instance = Instance { stack_name: recipe::app_env::stack_name(&domain), domain: domain.clone() };
    let secret_version = format!("c{}", &cert.sha256[..SECRET_VERSION_DIGITS]);
    let mut env = recipe::instance::app_env(&recipe, &instance);
    let mut set = |k: &str, v: String| {
        env.insert(k.to_string(), v);
    };
    set("COMPOSE_FILE", COMPOSE_FILES.join(":"));
    // The CI's routers leave `tls.certresolver` empty and get the wildcard certificate: no ACME.
    set("LETS_ENCRYPT_ENV", String::new());
    set("LETS_ENCRYPT_EMAIL", String::new());
    set("WEB_PORT", settings.web_port.to_string());
    set("WEB_SECURE_PORT", settings.web_secure_port.to_string());
    set("SWARM_REFRESH_SECONDS", settings.refresh_seconds.map(|s| s.to_string()).unwrap_or_default());
    set("DEFAULT_RULE_SYNTAX", settings.rule_syntax.clone().unwrap_or_default());
    set("SECRET_SSL_CERT_VERSION", secret_version.clone());
    set("SECRET_SSL_KEY_VERSION", secret_version.clone());
    let files: Vec<String> = COMPOSE_FILES.iter().map(|f| f.to_string()).collect();
    let mut doc = recipe::compose::load(&checkout.dir, &files, &env)?.doc;
    let stack = instance.stack_name;
    let known_domain = format!("{KNOWN_HOST}.{}", cert.base_domain);
    let router = format!("traefik.http.routers.{stack}-{KNOWN_HOST}");
    set_service_label(&mut doc, &format!("{router}.rule"), &format!("Host(`{known_domain}`)"))?;
    set_service_label(&mut doc, &format!("{router}.entrypoints"), "web-secure")?;
    set_service_label(&mut doc, &format!("{router}.service"), "ping@internal")?;
    crate::release_label::label_containers(&mut doc, &checkout.version)?;
    let timeout = timeout_label(&doc, &stack).unwrap_or(DEFAULT_TIMEOUT);
    let spec = fingerprint(&doc, settings.dnsrr)?;
    set_service_label(&mut doc, SPEC_LABEL, &spec)?;
    let secrets = [("ssl_cert", &cert.cert), ("ssl_key", &cert.key)]
        .into_iter()
        .map(|(name, file)| ProxySecret { name: format!("{stack}_{name}_{secret_version}"), file: file.clone() })
        .collect();
    let probe_domain = format!("{PROBE_HOST}.{}", cert.base_domain);
    Ok(ProxyApp {
        stack,
        domain,
        version: checkout.version.clone(),
        doc,
        spec,
        secrets,
        timeout,
        probe_domain,
        known_domain,
    })
}

/// The recipe's `coop-cloud.<stack>.timeout` label on the main service, in seconds.
fn timeout_label(doc: &Value, stack: &str) -> Option<Duration> {
    let labels = recipe::labels::deploy_labels(doc.get("services")?.get(SERVICE)?);
    let seconds = recipe::labels::label(&labels, &format!("coop-cloud.{stack}.timeout"))?.parse().ok()?;
    Some(Duration::from_secs(seconds))
}

/// SHA-256 of the document as deployed (and whether dnsrr is applied), hex.
fn fingerprint(doc: &Value, dnsrr: bool) -> Result<String> {
    let text = serde_norway::to_string(doc).map_err(|e| Error::Recipe(format!("cannot serialise the proxy: {e}")))?;
    let digest = Sha256::digest(format!("dnsrr={dnsrr}\n{text}").as_bytes());
    Ok(digest.iter().map(|b| format!("{b:02x}")).collect())
}

/// Set `key=value` in the main service's `deploy.labels` (a mapping in rendered documents).
fn set_service_label(doc: &mut Value, key: &str, value: &str) -> Result<()> {
    let missing = || Error::Recipe(format!("the proxy recipe has no `{SERVICE}` service"));
    let service = doc.get_mut("services").and_then(|s| s.get_mut(SERVICE)).ok_or_else(missing)?;
    let service = service.as_mapping_mut().ok_or_else(missing)?;
    let deploy = service.entry("deploy".into()).or_insert(Value::Mapping(Default::default()));
    if deploy.is_null() {
        *deploy = Value::Mapping(Default::default());
    }
    let labels = deploy
        .as_mapping_mut()
        .ok_or_else(|| Error::Recipe("the proxy's deploy section is not a mapping".into()))?
        .entry("labels".into())
        .or_insert(Value::Null);
    crate::release_label::set(labels, key, value);
    Ok(())
}

/// What [`ensure`] did, one line per part.
#[derive(Debug, Clone)]
pub struct Ensured {
    pub images: (Change, String),
    pub secrets: (Change, String),
    pub proxy: (Change, String),
    /// Old secret versions removed (a renewed certificate), if any.
    pub removed_secrets: Vec<String>,
}

/// Deploy `app` unless the proxy already runs it, converged and answering; see the module doc.
/// `workdir` receives the compose file handed to `docker stack deploy`; `ca` is trusted by the
/// serving check besides the system's roots.
pub async fn ensure(
    swarm: &Swarm,
    app: &ProxyApp,
    settings: &ProxySettings,
    ca: Option<&Path>,
    workdir: &Path,
) -> Result<Ensured> {
    deploy(swarm, app, settings, ca, workdir, false).await
}

/// [`ensure`], deploying `app` even when the proxy already runs its document when `force` says
/// so: a rollback after swarm rolled an update back by itself, whose service keeps reporting
/// that rollback until its next update.
pub async fn deploy(
    swarm: &Swarm,
    app: &ProxyApp,
    settings: &ProxySettings,
    ca: Option<&Path>,
    workdir: &Path,
    force: bool,
) -> Result<Ensured> {
    let labels = [(INFRA_LABEL, PROXY_APP), (STACK_NAMESPACE, app.stack.as_str())];
    let pulled = swarm.pull_images(&app.doc, &settings.pull, &mut |_| {}).await?;
    let images = match pulled.pulled.is_empty() {
        true => (Change::Unchanged, format!("{} present", pulled.kept.join(", "))),
        false => {
            (Change::Created, format!("pulled {} in {:.1}s", pulled.pulled.join(", "), pulled.elapsed.as_secs_f64()))
        }
    };

    let mut created = Vec::new();
    for secret in &app.secrets {
        if !swarm.secret_exists(&secret.name).await? {
            let value = std::fs::read(&secret.file).map_err(Error::io(&secret.file))?;
            swarm.create_secret_labelled(&secret.name, &labels, &value).await?;
            created.push(secret.name.clone());
        }
    }
    let names: Vec<&str> = app.secrets.iter().map(|s| s.name.as_str()).collect();
    let secrets = match created.is_empty() {
        true => (Change::Unchanged, names.join(", ")),
        false => (Change::Created, format!("created {}", created.join(", "))),
    };

    let service = format!("{}_{SERVICE}", app.stack);
    let deployed = swarm.service_labels_if_present(&app.stack, SERVICE).await?;
    let change = match deployed.as_ref().map(|labels| labels.get(SPEC_LABEL)) {
        None => Change::Created,
        Some(Some(spec)) if *spec == app.spec => Change::Unchanged,
        Some(_) => Change::Replaced,
    };
    if change != Change::Unchanged || force {
        // No run: `deploy_labelled` labels with the infrastructure label only.
        let deploy = Deploy { stack: &app.stack, run_id: "", document: &app.doc, workdir, dnsrr: settings.dnsrr };
        swarm.deploy_labelled(&deploy, &[(INFRA_LABEL, PROXY_APP)]).await?;
    }
    // Swarm keeps a healthchecked task `starting` until its check passes: no stability window.
    let converged = swarm.wait_converged_with(&app.stack, app.timeout, Duration::ZERO).await?;
    let served = check_serving(app, settings, ca).await?;
    let verified = match ca {
        Some(ca) => format!("the certificate verified against {}", ca.display()),
        None => "the certificate verified".into(),
    };
    let what = match change {
        Change::Unchanged => "running",
        Change::Created => "deployed",
        Change::Replaced => "updated",
    };
    let proxy = (
        change,
        format!(
            "{service} {what} ({}), converged in {:.1}s; {served} with {verified}",
            app.version,
            converged.elapsed.as_secs_f64(),
        ),
    );

    let mut removed_secrets = Vec::new();
    let infra = swarm.secrets_labelled(INFRA_LABEL, PROXY_APP).await?;
    for name in swarm.secrets_labelled(STACK_NAMESPACE, &app.stack).await? {
        if infra.contains(&name) && !names.contains(&name.as_str()) && swarm.remove_secret_if_unused(&name).await? {
            removed_secrets.push(name);
        }
    }
    Ok(Ensured { images, secrets, proxy, removed_secrets })
}

/// The proxy's known route must answer 200 and an unknown host of the base domain 404, over
/// HTTPS with the certificate verified; says what answered.
pub async fn check_serving(app: &ProxyApp, settings: &ProxySettings, ca: Option<&Path>) -> Result<String> {
    let known = ask(app, settings, ca, &app.known_domain, 200).await?;
    let unknown = ask(app, settings, ca, &app.probe_domain, 404).await?;
    Ok(format!("{} answered {}, {} answered {}", known.url, known.status, unknown.url, unknown.status))
}

async fn ask(
    app: &ProxyApp,
    settings: &ProxySettings,
    ca: Option<&Path>,
    domain: &str,
    status: u16,
) -> Result<harness::serving::Served> {
    let mut target = harness::serving::Target::root(domain, "https", Some(settings.check_addr));
    target.path = "/".into();
    target.expect = vec![status];
    target.ca_bundle = ca.map(Path::to_path_buf);
    harness::serving::check(&target, SERVING_PATIENCE).await.map_err(|e| {
        Error::ProxyNotServing(format!(
            "{e}; see `docker service ps {}_{SERVICE}` and `docker service logs {}_{SERVICE}`",
            app.stack, app.stack
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certs::{ensure_wildcard, CertSource};
    use crate::proxy_source::prepare;

    fn settings() -> ProxySettings {
        ProxySettings {
            source: RecipeSource::Builtin,
            version: None,
            domain: "traefik.ci.example.org".into(),
            web_port: 8081,
            web_secure_port: 8443,
            refresh_seconds: Some(1),
            rule_syntax: None,
            pull: Default::default(),
            dnsrr: true,
            check_addr: "127.0.0.1:8443".parse().unwrap(),
        }
    }

    fn env_of(doc: &Value) -> Vec<String> {
        let env = &doc["services"][SERVICE]["environment"];
        env.as_mapping()
            .map(|m| m.iter().map(|(k, v)| format!("{}={}", k.as_str().unwrap(), v.as_str().unwrap_or(""))).collect())
            .unwrap_or_default()
    }

    #[test]
    fn the_proxy_is_rendered_with_the_wildcard_overlay_the_ci_ports_and_secrets_versioned_by_the_certificate() {
        let tmp = tempfile::tempdir().unwrap();
        let checkout = prepare(&RecipeSource::Builtin, None, &tmp.path().join("infra")).unwrap();
        let tls = tmp.path().join("tls");
        let (cert, _) = ensure_wildcard(&CertSource::LocalCa { dir: tls.clone() }, "ci.example.org").unwrap();
        let app = render(&checkout, &settings(), &cert).unwrap();
        assert_eq!(app.stack, "traefik_ci_example_org");
        assert_eq!(app.probe_domain, "ccci-unknown-host.ci.example.org");
        assert_eq!(app.known_domain, "ccci-probe.ci.example.org");
        assert_eq!(app.timeout, Duration::from_secs(120));
        let version = format!("c{}", &cert.sha256[..8]);
        let names: Vec<&str> = app.secrets.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [format!("traefik_ci_example_org_ssl_cert_{version}"), format!("traefik_ci_example_org_ssl_key_{version}")]
        );
        assert!(names.iter().all(|n| n.len() <= 64));
        assert_eq!(app.doc["secrets"]["ssl_cert"]["name"].as_str(), Some(names[0]));
        let ports = serde_norway::to_string(&app.doc["services"][SERVICE]["ports"]).unwrap();
        assert!(ports.contains("published: 8081") && ports.contains("published: 8443"), "{ports}");
        let env = env_of(&app.doc);
        for wanted in ["WILDCARDS_ENABLED=1", "SWARM_REFRESH_SECONDS=1", "LETS_ENCRYPT_EMAIL="] {
            assert!(env.iter().any(|e| e == wanted), "{wanted} not in {env:?}");
        }
        let labels = recipe::labels::deploy_labels(&app.doc["services"][SERVICE]);
        assert_eq!(recipe::labels::label(&labels, SPEC_LABEL), Some(app.spec.as_str()));
        let resolver = format!("traefik.http.routers.{}.tls.certresolver", app.stack);
        assert_eq!(recipe::labels::label(&labels, &resolver), Some(""), "no ACME resolver");
        let probe = format!("traefik.http.routers.{}-ccci-probe", app.stack);
        assert_eq!(recipe::labels::label(&labels, &format!("{probe}.rule")), Some("Host(`ccci-probe.ci.example.org`)"));
        assert_eq!(recipe::labels::label(&labels, &format!("{probe}.service")), Some("ping@internal"));

        let again = render(&checkout, &settings(), &cert).unwrap();
        assert_eq!(again.spec, app.spec, "the same inputs give the same fingerprint");
        let moved = render(&checkout, &ProxySettings { web_secure_port: 9443, ..settings() }, &cert).unwrap();
        assert_ne!(moved.spec, app.spec);
        std::fs::remove_file(tls.join("wildcard.pem")).unwrap();
        let (renewed, _) = ensure_wildcard(&CertSource::LocalCa { dir: tls }, "ci.example.org").unwrap();
        let renewed = render(&checkout, &settings(), &renewed).unwrap();
        assert_ne!(renewed.secrets, app.secrets, "a renewed certificate is a new secret version");
        assert_ne!(renewed.spec, app.spec);
    }
}
