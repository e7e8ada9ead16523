//! The server config's sections about its infrastructure (docs/operators.md): `[tls]` (the
//! wildcard certificate the proxy serves: the operator's files, or a local CA kept under
//! `<data_dir>/tls`), `[registry]` (how runs pull images: policy, retries, credentials by file or
//! environment variable, never inline) and `[infra]` (the swarm and the proxy `ccci server init`
//! sets up, and the warm dependencies `ccci infra update` keeps up to date). Parsed and validated here, printed masked by [`write_effective`], turned into the
//! options of every run's `ccci test` by [`RunInfra::add_args`].

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use swarm::PullPolicy;

use crate::config::SecretSource;

/// Default `[registry] pull` for the server's runs: ask the registry for every image, as
/// production does, so a moved tag is noticed.
pub const DEFAULT_PULL: PullPolicy = PullPolicy::Always;
/// Default `[infra.proxy] refresh_seconds`: how often the proxy looks for new services (Traefik's
/// own default of 15 s would delay every run's serving check by up to that long).
pub const DEFAULT_REFRESH_SECONDS: u32 = 1;

/// Where the proxy's wildcard certificate comes from (`[tls]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsConfig {
    /// A local CA kept under `<data_dir>/tls` (test machines; clients must trust its `ca.pem`).
    LocalCa,
    /// The operator's PEM files.
    Files { cert: PathBuf, key: PathBuf, ca: Option<PathBuf> },
}

/// How runs pull images (`[registry]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryConfig {
    pub pull: PullPolicy,
    /// Attempts per image (transient failures only are retried).
    pub attempts: u32,
    /// How long one attempt at one image may take.
    pub timeout: Duration,
    /// A Docker `config.json` with credentials: its file, or the variable holding its text.
    pub auth: Option<SecretSource>,
}

impl RegistryConfig {
    /// The credentials, read now from their file or environment variable.
    pub fn credentials(&self) -> Result<Option<swarm::RegistryAuth>, String> {
        match &self.auth {
            None => Ok(None),
            Some(SecretSource::File(path)) => swarm::RegistryAuth::load(path).map(Some),
            Some(SecretSource::Env(name)) => swarm::RegistryAuth::from_env(name).map(Some),
        }
    }
}

/// The proxy `ccci server init` deploys (`[infra.proxy]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyConfig {
    /// `builtin` (the recipe shipped with cc-ci) or a git URL of the operator's own.
    pub recipe: String,
    /// The release to deploy; the newest when unset.
    pub version: Option<String>,
    /// The proxy's own domain; `traefik.<base_domain>` by default.
    pub domain: String,
    pub web_port: u16,
    pub web_secure_port: u16,
    pub refresh_seconds: u32,
    /// Traefik's default rule syntax (`v2` or `v3`); Traefik's own default when unset.
    pub rule_syntax: Option<String>,
}

impl ProxyConfig {
    /// Where this host reaches the proxy's HTTPS entry point: the configured `proxy` address, else
    /// `127.0.0.1:<web_secure_port>`.
    pub fn check_addr(&self, proxy: Option<std::net::SocketAddr>) -> std::net::SocketAddr {
        proxy.unwrap_or_else(|| std::net::SocketAddr::from(([127, 0, 0, 1], self.web_secure_port)))
    }
}

impl TlsConfig {
    /// The CA bundle clients need to verify the proxy's certificate: the local CA's `ca.pem`
    /// under `data_dir`, or the operator's `ca_file` (none when the issuer is public).
    pub fn ca_bundle(&self, data_dir: &Path) -> Option<PathBuf> {
        match self {
            TlsConfig::LocalCa => Some(local_ca_dir(data_dir).join("ca.pem")),
            TlsConfig::Files { ca, .. } => ca.clone(),
        }
    }
}

/// A warm dependency kept up to date as an infrastructure app (`[[infra.apps]]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InfraAppConfig {
    /// Its recipe's git URL (or a local repository), as the dependents' `[[dependencies]]` name it.
    pub recipe: String,
    /// Env over its app env, as the dependents' `set` gives it.
    pub set: BTreeMap<String, String>,
}

/// `[infra]`: the swarm, the proxy and the other infrastructure apps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InfraConfig {
    /// `[infra.swarm] advertise_addr`: what a swarm created by `ccci server init` advertises.
    pub advertise_addr: Option<String>,
    pub proxy: ProxyConfig,
    /// `[[infra.apps]]`: the warm dependencies `ccci infra update` keeps up to date.
    pub apps: Vec<InfraAppConfig>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTls {
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
    ca_file: Option<PathBuf>,
    local_ca: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRegistry {
    pull: Option<String>,
    attempts: Option<u32>,
    timeout_seconds: Option<u64>,
    auth_file: Option<PathBuf>,
    auth_env: Option<String>,
    /// Accepted by the parser only to refuse it with a useful message.
    auth: Option<toml::Value>,
    password: Option<toml::Value>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawInfra {
    #[serde(default)]
    swarm: RawSwarm,
    #[serde(default)]
    proxy: RawProxy,
    #[serde(default)]
    apps: Vec<RawInfraApp>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInfraApp {
    recipe: String,
    #[serde(default)]
    set: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSwarm {
    advertise_addr: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawProxy {
    recipe: Option<String>,
    version: Option<String>,
    domain: Option<String>,
    web_port: Option<u16>,
    web_secure_port: Option<u16>,
    refresh_seconds: Option<u32>,
    rule_syntax: Option<String>,
}

/// A problem: the key (under its section) and what to do.
pub(crate) type Invalid = (String, String);

fn invalid(key: &str, message: impl Into<String>) -> Invalid {
    (key.to_string(), message.into())
}

pub(crate) fn tls(raw: RawTls) -> Result<TlsConfig, Invalid> {
    let files = raw.cert_file.is_some() || raw.key_file.is_some() || raw.ca_file.is_some();
    match (raw.local_ca.unwrap_or(!files), files) {
        (true, true) => {
            Err(invalid("tls.local_ca", "set either `local_ca = true` or `cert_file`/`key_file`/`ca_file`, not both"))
        }
        (true, false) => Ok(TlsConfig::LocalCa),
        (false, false) => Err(invalid(
            "tls",
            "no certificate: set `cert_file` and `key_file` (and `ca_file` for a private CA), or `local_ca = true`",
        )),
        (false, true) => {
            let cert =
                raw.cert_file.ok_or_else(|| invalid("tls.cert_file", "missing: the wildcard certificate (PEM)"))?;
            let key =
                raw.key_file.ok_or_else(|| invalid("tls.key_file", "missing: the certificate's private key (PEM)"))?;
            let named =
                [("tls.cert_file", Some(&cert)), ("tls.key_file", Some(&key)), ("tls.ca_file", raw.ca_file.as_ref())];
            for (k, path) in named.into_iter().filter_map(|(k, p)| Some((k, p?))) {
                if !path.is_absolute() {
                    return Err(invalid(k, format!("{} is not an absolute path", path.display())));
                }
            }
            Ok(TlsConfig::Files { cert, key, ca: raw.ca_file })
        }
    }
}

pub(crate) fn registry(raw: RawRegistry, env: &dyn Fn(&str) -> Option<String>) -> Result<RegistryConfig, Invalid> {
    if raw.auth.is_some() || raw.password.is_some() {
        return Err(invalid(
            "registry.auth",
            "registry credentials must not be written in the config file; put a Docker config.json (what \
             `docker login` writes) in a file readable only by the service and set `registry.auth_file`, or \
             set `registry.auth_env` to the name of an environment variable holding it",
        ));
    }
    let pull = match raw.pull {
        None => DEFAULT_PULL,
        Some(p) => p.parse().map_err(|e: String| invalid("registry.pull", e))?,
    };
    let attempts = raw.attempts.unwrap_or(swarm::PullOptions::default().attempts);
    if attempts == 0 {
        return Err(invalid("registry.attempts", "must be at least 1"));
    }
    let timeout = match raw.timeout_seconds {
        Some(0) => return Err(invalid("registry.timeout_seconds", "must be at least 1")),
        Some(s) => Duration::from_secs(s),
        None => swarm::PullOptions::default().attempt_timeout,
    };
    let auth = match (raw.auth_file, raw.auth_env) {
        (Some(_), Some(_)) => {
            return Err(invalid("registry.auth_file", "set either `auth_file` or `auth_env`, not both"));
        }
        (Some(path), None) => {
            swarm::RegistryAuth::load(&path).map_err(|e| invalid("registry.auth_file", e))?;
            Some(SecretSource::File(path))
        }
        (None, Some(name)) => {
            let text = env(&name)
                .ok_or_else(|| invalid("registry.auth_env", format!("environment variable {name} is not set")))?;
            swarm::RegistryAuth::from_docker_config(&text)
                .map_err(|e| invalid("registry.auth_env", format!("environment variable {name}: {e}")))?;
            Some(SecretSource::Env(name))
        }
        (None, None) => None,
    };
    Ok(RegistryConfig { pull, attempts, timeout, auth })
}

pub(crate) fn infra(raw: RawInfra, base_domain: &str) -> Result<InfraConfig, Invalid> {
    let p = raw.proxy;
    let recipe = p.recipe.unwrap_or_else(|| "builtin".into());
    if recipe.trim().is_empty() {
        return Err(invalid("infra.proxy.recipe", "must be `builtin` or a git URL"));
    }
    let domain = p.domain.unwrap_or_else(|| format!("traefik.{base_domain}")).trim_end_matches('.').to_string();
    if domain.is_empty() || domain.contains(['/', ':', ' ']) {
        return Err(invalid("infra.proxy.domain", format!("{domain:?} is not a domain name")));
    }
    let web_port = p.web_port.unwrap_or(80);
    let web_secure_port = p.web_secure_port.unwrap_or(443);
    for (key, port) in [("infra.proxy.web_port", web_port), ("infra.proxy.web_secure_port", web_secure_port)] {
        if port == 0 {
            return Err(invalid(key, "must be a port number (1-65535)"));
        }
    }
    if web_port == web_secure_port {
        return Err(invalid("infra.proxy.web_secure_port", "must differ from `web_port`"));
    }
    let refresh_seconds = p.refresh_seconds.unwrap_or(DEFAULT_REFRESH_SECONDS);
    if refresh_seconds == 0 {
        return Err(invalid("infra.proxy.refresh_seconds", "must be at least 1"));
    }
    if let Some(syntax) = &p.rule_syntax {
        if syntax != "v2" && syntax != "v3" {
            return Err(invalid("infra.proxy.rule_syntax", format!("{syntax:?}: use \"v2\" or \"v3\"")));
        }
    }
    let mut apps: Vec<InfraAppConfig> = Vec::new();
    for (i, app) in raw.apps.into_iter().enumerate() {
        let key = format!("infra.apps[{i}].recipe");
        let name = harness::checkout::recipe_name(app.recipe.trim());
        let usable = !name.is_empty()
            && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !usable {
            return Err(invalid(
                &key,
                format!("{:?} does not end in a recipe name (lowercase letters, digits, `-`, `_`)", app.recipe),
            ));
        }
        let taken = [infra::PROXY_APP, infra::proxy_recipe::NAME];
        if taken.contains(&name.as_str()) || apps.iter().any(|a| harness::checkout::recipe_name(&a.recipe) == name) {
            return Err(invalid(&key, format!("{name:?} is the name of another infrastructure app")));
        }
        apps.push(InfraAppConfig { recipe: app.recipe.trim().to_string(), set: app.set });
    }
    Ok(InfraConfig {
        apps,
        advertise_addr: raw.swarm.advertise_addr,
        proxy: ProxyConfig {
            recipe,
            version: p.version,
            domain,
            web_port,
            web_secure_port,
            refresh_seconds,
            rule_syntax: p.rule_syntax,
        },
    })
}

/// What every run of the server is given about the infrastructure: the CA to trust, the pull
/// policy and its limits, the registry credentials (named, never passed as values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunInfra {
    /// The CA bundle clients need to verify the proxy's certificate (`--ca`), if private.
    pub ca_bundle: Option<PathBuf>,
    pub registry: RegistryConfig,
}

impl RunInfra {
    /// From the config: a local CA's `ca.pem` under `data_dir`, or the operator's `ca_file`.
    pub fn new(tls: &TlsConfig, registry: &RegistryConfig, data_dir: &Path) -> RunInfra {
        RunInfra { ca_bundle: tls.ca_bundle(data_dir), registry: registry.clone() }
    }

    /// The `ccci test` options: HTTPS with the CA, the pull policy and limits, the credentials.
    pub fn add_args(&self, cmd: &mut tokio::process::Command) {
        cmd.args(["--scheme", "https"]);
        if let Some(ca) = &self.ca_bundle {
            cmd.arg("--ca").arg(ca);
        }
        let r = &self.registry;
        cmd.arg("--pull").arg(r.pull.to_string());
        cmd.arg("--pull-attempts").arg(r.attempts.to_string());
        cmd.arg("--pull-timeout").arg(format!("{}s", r.timeout.as_secs()));
        match &r.auth {
            Some(SecretSource::File(path)) => {
                cmd.arg("--registry-auth").arg(path);
            }
            Some(SecretSource::Env(name)) => {
                cmd.arg("--registry-auth-env").arg(name);
            }
            None => {}
        }
        for var in ["CCCI_SCHEME", "CCCI_CA_BUNDLE", "CCCI_PULL", "CCCI_REGISTRY_AUTH"] {
            cmd.env_remove(var);
        }
    }
}

/// The local CA's directory under the data dir (what `ccci server init` keeps there).
pub fn local_ca_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("tls")
}

/// `[tls]`, `[registry]` and `[infra]` as they are in force, secrets named but never shown.
pub fn write_effective(
    out: &mut String,
    tls: &TlsConfig,
    registry: &RegistryConfig,
    infra: &InfraConfig,
    data_dir: &Path,
) {
    let q = |s: &str| toml::Value::String(s.to_string()).to_string();
    let path = |p: &Path| q(&p.to_string_lossy());
    let _ = writeln!(out, "\n[tls]");
    match tls {
        TlsConfig::LocalCa => {
            let _ = writeln!(out, "local_ca = true");
            let _ = writeln!(out, "# clients must trust {}", local_ca_dir(data_dir).join("ca.pem").display());
        }
        TlsConfig::Files { cert, key, ca } => {
            let _ = writeln!(out, "cert_file = {}\nkey_file = {}", path(cert), path(key));
            match ca {
                Some(ca) => writeln!(out, "ca_file = {}", path(ca)),
                None => writeln!(out, "# ca_file: not set (a publicly trusted issuer)"),
            }
            .ok();
        }
    }
    let _ = writeln!(out, "\n[registry]");
    let _ = writeln!(out, "pull = {}", q(&registry.pull.to_string()));
    let _ = writeln!(out, "attempts = {}", registry.attempts);
    let _ = writeln!(out, "timeout_seconds = {}", registry.timeout.as_secs());
    match &registry.auth {
        Some(SecretSource::File(p)) => writeln!(out, "auth_file = {}\n# credentials: \"***\"", path(p)),
        Some(SecretSource::Env(v)) => writeln!(out, "auth_env = {}\n# credentials: \"***\"", q(v)),
        None => writeln!(out, "# auth_file / auth_env: not set (anonymous pulls)"),
    }
    .ok();
    let _ = writeln!(out, "\n[infra.swarm]");
    match &infra.advertise_addr {
        Some(a) => writeln!(out, "advertise_addr = {}", q(a)),
        None => writeln!(out, "# advertise_addr: not set (the engine chooses, for a new swarm)"),
    }
    .ok();
    let p = &infra.proxy;
    let _ = writeln!(out, "\n[infra.proxy]");
    let _ = writeln!(out, "recipe = {}", q(&p.recipe));
    match &p.version {
        Some(v) => writeln!(out, "version = {}", q(v)),
        None => writeln!(out, "# version: not set (the newest release)"),
    }
    .ok();
    let _ = writeln!(out, "domain = {}", q(&p.domain));
    let _ = writeln!(out, "web_port = {}\nweb_secure_port = {}", p.web_port, p.web_secure_port);
    let _ = writeln!(out, "refresh_seconds = {}", p.refresh_seconds);
    match &p.rule_syntax {
        Some(s) => writeln!(out, "rule_syntax = {}", q(s)),
        None => writeln!(out, "# rule_syntax: not set (Traefik 3's own, v3)"),
    }
    .ok();
    if infra.apps.is_empty() {
        let _ = writeln!(
            out,
            "
# [[infra.apps]]: none (no warm dependency is updated by cc-ci)"
        );
    }
    for app in &infra.apps {
        let _ = writeln!(
            out,
            "
[[infra.apps]]
recipe = {}",
            q(&app.recipe)
        );
        if !app.set.is_empty() {
            let set: Vec<String> = app.set.iter().map(|(k, v)| format!("{} = {}", q(k), q(v))).collect();
            let _ = writeln!(out, "set = {{ {} }}", set.join(", "));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw<T: serde::de::DeserializeOwned>(text: &str) -> T {
        toml::from_str(text).unwrap()
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn tls_is_a_local_ca_unless_files_are_given_and_never_both() {
        assert_eq!(tls(raw("")), Ok(TlsConfig::LocalCa));
        assert_eq!(tls(raw("local_ca = true")), Ok(TlsConfig::LocalCa));
        let files = tls(raw("cert_file = \"/etc/c.pem\"\nkey_file = \"/etc/k.pem\""));
        assert_eq!(files, Ok(TlsConfig::Files { cert: "/etc/c.pem".into(), key: "/etc/k.pem".into(), ca: None }));
        let both = tls(raw("local_ca = true\ncert_file = \"/etc/c.pem\"\nkey_file = \"/etc/k.pem\"")).unwrap_err();
        assert!(both.0 == "tls.local_ca" && both.1.contains("not both"), "{both:?}");
        let no_key = tls(raw("cert_file = \"/etc/c.pem\"")).unwrap_err();
        assert_eq!(no_key.0, "tls.key_file");
        let relative = tls(raw("cert_file = \"c.pem\"\nkey_file = \"/etc/k.pem\"")).unwrap_err();
        assert!(relative.0 == "tls.cert_file" && relative.1.contains("absolute"), "{relative:?}");
        assert_eq!(tls(raw("local_ca = false")).unwrap_err().0, "tls");
    }

    #[test]
    fn registry_defaults_to_always_and_refuses_inline_credentials() {
        let r = registry(raw(""), &no_env).unwrap();
        assert_eq!((r.pull, r.attempts, r.auth), (PullPolicy::Always, 4, None));
        let r = registry(raw("pull = \"missing\"\nattempts = 2\ntimeout_seconds = 30"), &no_env).unwrap();
        assert_eq!((r.pull, r.attempts, r.timeout), (PullPolicy::Missing, 2, Duration::from_secs(30)));
        let inline = registry(raw("password = \"hunter2\""), &no_env).unwrap_err();
        assert!(inline.0 == "registry.auth" && inline.1.contains("auth_file") && !inline.1.contains("hunter2"));
        assert_eq!(registry(raw("pull = \"sometimes\""), &no_env).unwrap_err().0, "registry.pull");
        assert_eq!(registry(raw("attempts = 0"), &no_env).unwrap_err().0, "registry.attempts");
        let unset = registry(raw("auth_env = \"CCCI_AUTH\""), &no_env).unwrap_err();
        assert!(unset.1.contains("CCCI_AUTH is not set"), "{unset:?}");
        let env = |_: &str| Some(r#"{"auths": {"r.example.org": {"auth": "dTpwYXNzd29yZA=="}}}"#.to_string());
        let r = registry(raw("auth_env = \"CCCI_AUTH\""), &env).unwrap();
        assert_eq!(r.auth, Some(SecretSource::Env("CCCI_AUTH".into())));
        let broken = |_: &str| Some("{\"auths\": {\"r.example.org\": {}}}".to_string());
        let err = registry(raw("auth_env = \"CCCI_AUTH\""), &broken).unwrap_err();
        assert!(err.0 == "registry.auth_env" && err.1.contains("r.example.org"), "{err:?}");
    }

    #[test]
    fn the_proxy_defaults_to_the_builtin_recipe_on_80_and_443() {
        let i = infra(raw(""), "ci.example.org").unwrap();
        assert_eq!(i.advertise_addr, None);
        let p = i.proxy;
        assert_eq!((p.recipe.as_str(), p.domain.as_str()), ("builtin", "traefik.ci.example.org"));
        assert_eq!((p.web_port, p.web_secure_port, p.refresh_seconds, p.version), (80, 443, 1, None));
        let bad = infra(raw("[proxy]\nweb_port = 443"), "ci.example.org").unwrap_err();
        assert_eq!(bad.0, "infra.proxy.web_secure_port");
        let bad = infra(raw("[proxy]\nrule_syntax = \"v1\""), "ci.example.org").unwrap_err();
        assert_eq!(bad.0, "infra.proxy.rule_syntax");
        let swarm = infra(raw("[swarm]\nadvertise_addr = \"10.0.0.2\""), "ci.example.org").unwrap();
        assert_eq!(swarm.advertise_addr.as_deref(), Some("10.0.0.2"));
    }

    #[test]
    fn infra_apps_are_named_by_their_recipe_and_never_twice() {
        let text = "[[apps]]\nrecipe = \"https://git.example.org/coop-cloud/keycloak.git\"\nset = { LOG = \"1\" }\n";
        let i = infra(raw(text), "ci.example.org").unwrap();
        assert_eq!(i.apps[0].recipe, "https://git.example.org/coop-cloud/keycloak.git");
        assert_eq!(i.apps[0].set["LOG"], "1");
        let twice = format!("{text}[[apps]]\nrecipe = \"/srv/mirror/keycloak\"\n");
        let err = infra(raw(&twice), "ci.example.org").unwrap_err();
        assert!(err.0 == "infra.apps[1].recipe" && err.1.contains("another infrastructure app"), "{err:?}");
        let proxy = infra(raw("[[apps]]\nrecipe = \"https://x.org/a/proxy.git\"\n"), "ci.example.org").unwrap_err();
        assert_eq!(proxy.0, "infra.apps[0].recipe");
        let bad = infra(raw("[[apps]]\nrecipe = \"https://x.org/a/Key Cloak\"\n"), "ci.example.org").unwrap_err();
        assert!(bad.1.contains("recipe name"), "{bad:?}");
        let mut out = String::new();
        write_effective(&mut out, &TlsConfig::LocalCa, &registry(raw(""), &no_env).unwrap(), &i, Path::new("/d"));
        assert!(out.contains("[[infra.apps]]\nrecipe = \"https://git.example.org/coop-cloud/keycloak.git\"\nset = { \"LOG\" = \"1\" }"), "{out}");
    }

    #[test]
    fn the_effective_sections_name_the_credentials_file_never_its_content() {
        let dir = tempfile::tempdir().unwrap();
        let auth = dir.path().join("auth.json");
        std::fs::write(&auth, r#"{"auths": {"r.example.org": {"username": "u", "password": "s3cret-pw"}}}"#).unwrap();
        let text = format!("auth_file = {:?}", auth.display().to_string());
        let registry = registry(raw(&text), &no_env).unwrap();
        assert_eq!(registry.credentials().unwrap().unwrap().registries(), vec!["r.example.org"]);
        let mut out = String::new();
        let infra = infra(raw(""), "ci.example.org").unwrap();
        write_effective(&mut out, &TlsConfig::LocalCa, &registry, &infra, Path::new("/srv/ci"));
        assert!(out.contains(&auth.display().to_string()) && out.contains("\"***\""), "{out}");
        assert!(!out.contains("s3cret-pw"), "{out}");
        assert!(out.contains("/srv/ci/tls/ca.pem") && out.contains("[infra.proxy]"), "{out}");
    }

    #[test]
    fn runs_get_https_the_ca_the_pull_policy_and_credentials_by_name() {
        let registry = RegistryConfig {
            pull: PullPolicy::Always,
            attempts: 3,
            timeout: Duration::from_secs(90),
            auth: Some(SecretSource::Env("CCCI_AUTH".into())),
        };
        let run = RunInfra::new(&TlsConfig::LocalCa, &registry, Path::new("/srv/ci"));
        let mut cmd = tokio::process::Command::new("ccci");
        run.add_args(&mut cmd);
        let args: Vec<String> = cmd.as_std().get_args().map(|a| a.to_string_lossy().into_owned()).collect();
        assert_eq!(
            args.join(" "),
            "--scheme https --ca /srv/ci/tls/ca.pem --pull always --pull-attempts 3 --pull-timeout 90s \
             --registry-auth-env CCCI_AUTH"
        );
    }
}
