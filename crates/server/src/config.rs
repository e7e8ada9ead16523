//! The server's configuration (SPEC O1): one TOML file, defaults for everything optional, secrets
//! (forge token, webhook secret) only by file path or environment variable — never inline.
//!
//! [`load`] reads, validates and resolves the file (secrets are read once, here, so a missing token
//! file is reported at start-up by its path); [`effective`] prints what is in force, as TOML, with
//! every secret masked. The reference for operators is docs/operators.md.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::alerts_config::{self, AlertsConfig, RawAlerts};
use crate::infra_config::{self, InfraConfig, RawInfra, RawRegistry, RawTls, RegistryConfig, TlsConfig};

/// Default for [`Config::max_tests`].
pub const DEFAULT_MAX_TESTS: u32 = 1;
/// Default for [`Config::run_timeout`], in minutes.
pub const DEFAULT_RUN_TIMEOUT_MINUTES: u64 = 60;
/// Default for [`Config::poll_interval`], in seconds.
pub const DEFAULT_POLL_INTERVAL_SECONDS: u64 = 60;
/// Default for [`Config::data_dir`].
pub const DEFAULT_DATA_DIR: &str = "/var/lib/cc-ci";
/// Default for [`Config::listen`]: loopback only; a reverse proxy publishes it.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8090";
/// Shortest webhook secret accepted: an HMAC key a forge's delivery log or a guess cannot give away.
pub const MIN_WEBHOOK_SECRET_CHARS: usize = 16;

/// What went wrong reading the configuration; every message names the file and the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("config file {path}: `{key}`: {message}")]
    Invalid { path: PathBuf, key: String, message: String },
}

/// Which forge software the CI talks to (both speak the same API for what the CI uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ForgeKind {
    Gitea,
    Forgejo,
}

impl ForgeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ForgeKind::Gitea => "gitea",
            ForgeKind::Forgejo => "forgejo",
        }
    }
}

/// Where a secret came from, so it can be named (never shown) in the effective config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    File(PathBuf),
    Env(String),
}

/// A secret value together with where it was read from. `Debug` never shows the value.
#[derive(Debug, Clone)]
pub struct Secret {
    pub source: SecretSource,
    pub value: SecretString,
}

impl Secret {
    /// The value, for the one place that must send it (the forge client, the HMAC check).
    pub fn expose(&self) -> &str {
        self.value.expose_secret()
    }
}

/// The forge the CI watches.
#[derive(Debug, Clone)]
pub struct ForgeConfig {
    pub kind: ForgeKind,
    /// Root URL of the forge (`https://git.example.org`).
    pub base_url: String,
    /// The bot's login: its own comments never trigger, and it is the author of the CI's replies.
    pub bot_login: String,
    /// The bot's API token.
    pub token: Secret,
}

/// One enrolled recipe repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoConfig {
    /// `owner/name` on the forge.
    pub repo: String,
    /// The recipe's name (defaults to the repository's name).
    pub recipe: String,
    /// The git URL the repository mirrors: the sweep makes the mirror's default branch and tags
    /// equal to it. `None`: the repository on the forge is the recipe's own.
    pub upstream: Option<String>,
}

/// Who may trigger runs: members of `org`, or logins in `allow` (either suffices).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthConfig {
    pub org: Option<String>,
    pub allow: Vec<String>,
}

/// The whole, validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from.
    pub path: PathBuf,
    pub forge: ForgeConfig,
    /// The webhook secret; `None` when webhooks are not used (polling only).
    pub webhook_secret: Option<Secret>,
    pub repos: Vec<RepoConfig>,
    pub auth: AuthConfig,
    /// At most this many runs at once.
    pub max_tests: u32,
    /// A run still going after this long is stopped and torn down.
    pub run_timeout: Duration,
    /// How often each enrolled repo's comments are polled.
    pub poll_interval: Duration,
    /// Where the store, run workspaces and artifacts live.
    pub data_dir: PathBuf,
    /// App instances get `<name>.<base_domain>`.
    pub base_domain: String,
    /// Where the proxy listens, when app domains do not resolve to it.
    pub proxy: Option<SocketAddr>,
    /// The dashboard's public URL, used in links posted to the forge.
    pub public_url: String,
    /// Where the dashboard, API and webhook endpoint listen.
    pub listen: SocketAddr,
    /// Deploy services with `endpoint_mode: dnsrr` (swarms without IPVS).
    pub dnsrr: bool,
    /// The CI's per-recipe configuration tree (`recipes/<name>/ccci.toml`, `recipes/<name>/tests/`).
    pub recipes_config_dir: Option<PathBuf>,
    /// `[tls]`: the proxy's wildcard certificate.
    pub tls: TlsConfig,
    /// `[registry]`: how runs pull images.
    pub registry: RegistryConfig,
    /// `[infra]`: the swarm and the proxy `ccci server init` sets up, the infrastructure apps.
    pub infra: InfraConfig,
    /// `[alerts]`: where alerts are pushed.
    pub alerts: AlertsConfig,
    /// The executable runs are started with, as `<engine> test …`; `None`: the running `ccci`.
    pub engine: Option<PathBuf>,
    /// Timeouts and caps of the HTTP side.
    pub http: HttpLimits,
    /// Docker hosts of a multi-node swarm's nodes (`ccci test --node-hosts`); empty on one node.
    pub node_hosts: Vec<String>,
    /// `[sweep]`: when the sweep runs.
    pub sweep: crate::sweep::schedule::SweepConfig,
    /// `[disk]`: the free-space floor and the clean-up.
    pub disk: crate::disk::DiskConfig,
}

impl Config {
    /// The server's own files that carry or point to its secrets: the config file and the token
    /// and webhook secret files. Sandboxed code must not see them (SPEC V9).
    pub fn private_files(&self) -> Vec<PathBuf> {
        let mut files = vec![self.path.clone()];
        for secret in std::iter::once(&self.forge.token).chain(&self.webhook_secret) {
            if let SecretSource::File(path) = &secret.source {
                files.push(path.clone());
            }
        }
        files.into_iter().map(|p| std::fs::canonicalize(&p).unwrap_or(p)).collect()
    }

    /// The environment variables the token and webhook secret were read from: never handed on.
    pub fn secret_envs(&self) -> Vec<String> {
        std::iter::once(&self.forge.token)
            .chain(&self.webhook_secret)
            .filter_map(|s| match &s.source {
                SecretSource::Env(var) => Some(var.clone()),
                SecretSource::File(_) => None,
            })
            .collect()
    }
}

/// What `ccci server init` reads from the same file: the machine's side only, so a file with
/// just these keys (no `[forge]`) is enough to set a host up.
#[derive(Debug, Clone)]
pub struct MachineConfig {
    /// The file it was read from.
    pub path: PathBuf,
    pub base_domain: String,
    pub data_dir: PathBuf,
    pub proxy: Option<SocketAddr>,
    pub dnsrr: bool,
    pub tls: TlsConfig,
    pub registry: RegistryConfig,
    pub infra: InfraConfig,
    pub alerts: AlertsConfig,
}

impl Config {
    /// The machine's side of this configuration, as [`load_machine`] reads it: what the server's
    /// own infrastructure updates (the sweep's first step) start from.
    pub fn machine(&self) -> MachineConfig {
        MachineConfig {
            path: self.path.clone(),
            base_domain: self.base_domain.clone(),
            data_dir: self.data_dir.clone(),
            proxy: self.proxy,
            dnsrr: self.dnsrr,
            tls: self.tls.clone(),
            registry: self.registry.clone(),
            infra: self.infra.clone(),
            alerts: self.alerts.clone(),
        }
    }
}

/// How the HTTP side (dashboard, API, webhook endpoint) holds up against slow or hostile clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// A client must send a request's headers within this, and a kept-alive connection may sit
    /// idle between requests no longer than this.
    pub header_timeout: Duration,
    /// A response the client accepts no byte of for this long is abandoned and its connection
    /// closed; a request's handler must answer (its head) within this too.
    pub idle_timeout: Duration,
    /// Connections served at once; more wait in the kernel's accept queue.
    pub max_connections: usize,
    /// Live-log streams (server-sent events) open at once, over all runs.
    pub max_log_streams: usize,
    /// Live-log streams open at once on one run.
    pub max_log_streams_per_run: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 512,
            max_log_streams: 64,
            max_log_streams_per_run: 8,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    forge: Option<RawForge>,
    #[serde(default)]
    webhook: Option<RawWebhook>,
    #[serde(default)]
    repos: Vec<RawRepo>,
    #[serde(default)]
    auth: Option<RawAuth>,
    max_tests: Option<u32>,
    run_timeout_minutes: Option<u64>,
    /// Finer than minutes, for short test runs; exclusive with `run_timeout_minutes`.
    run_timeout_seconds: Option<u64>,
    poll_interval_seconds: Option<u64>,
    data_dir: Option<PathBuf>,
    base_domain: String,
    proxy: Option<SocketAddr>,
    public_url: Option<String>,
    listen: Option<SocketAddr>,
    #[serde(default)]
    dnsrr: bool,
    recipes_config_dir: Option<PathBuf>,
    #[serde(default)]
    tls: RawTls,
    #[serde(default)]
    registry: RawRegistry,
    #[serde(default)]
    infra: RawInfra,
    #[serde(default)]
    alerts: RawAlerts,
    engine: Option<PathBuf>,
    #[serde(default)]
    http: RawHttp,
    #[serde(default)]
    node_hosts: Vec<String>,
    #[serde(default)]
    sweep: crate::sweep::schedule::RawSweep,
    #[serde(default)]
    disk: crate::disk::RawDisk,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    header_timeout_seconds: Option<u64>,
    idle_timeout_seconds: Option<u64>,
    max_connections: Option<usize>,
    max_log_streams: Option<usize>,
    max_log_streams_per_run: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawForge {
    kind: ForgeKind,
    base_url: String,
    bot_login: String,
    token_file: Option<PathBuf>,
    token_env: Option<String>,
    /// Accepted by the parser only to refuse it with a useful message.
    token: Option<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebhook {
    secret_file: Option<PathBuf>,
    secret_env: Option<String>,
    /// Accepted by the parser only to refuse it with a useful message.
    secret: Option<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRepo {
    repo: String,
    recipe: Option<String>,
    upstream: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAuth {
    org: Option<String>,
    #[serde(default)]
    allow: Vec<String>,
}

/// Reads, validates and resolves the configuration at `path` (secrets are read from their files
/// or environment variables now).
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.into(), source })?;
    parse(path, &text, &|name| std::env::var(name).ok())
}

/// Reads the machine's side of the configuration at `path` for `ccci server init`: the base
/// domain, data dir, proxy address, `[tls]`, `[registry]` and `[infra]` (the forge's keys may be
/// there too and are left to `ccci serve`).
pub fn load_machine(path: &Path) -> Result<MachineConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.into(), source })?;
    let mut raw: RawConfig =
        toml::from_str(&text).map_err(|e| ConfigError::Parse { path: path.into(), message: e.to_string() })?;
    machine(path, &mut raw, &|name| std::env::var(name).ok())
}

/// The machine's side of `raw` (its `[tls]`, `[registry]` and `[infra]` are taken out).
fn machine(
    path: &Path,
    raw: &mut RawConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<MachineConfig, ConfigError> {
    let invalid = |(key, message): infra_config::Invalid| ConfigError::Invalid { path: path.into(), key, message };
    let base_domain = raw.base_domain.trim().trim_matches('.').to_string();
    if base_domain.is_empty() || base_domain.contains(['/', ':', ' ']) {
        return Err(invalid(("base_domain".into(), format!("{:?} is not a domain name", raw.base_domain))));
    }
    let tls = infra_config::tls(std::mem::take(&mut raw.tls)).map_err(invalid)?;
    let registry = infra_config::registry(std::mem::take(&mut raw.registry), env).map_err(invalid)?;
    let infra = infra_config::infra(std::mem::take(&mut raw.infra), &base_domain).map_err(invalid)?;
    let alerts = alerts_config::parse(std::mem::take(&mut raw.alerts), env).map_err(invalid)?;
    Ok(MachineConfig {
        alerts,
        path: path.into(),
        data_dir: raw.data_dir.clone().unwrap_or_else(|| DEFAULT_DATA_DIR.into()),
        base_domain,
        proxy: raw.proxy,
        dnsrr: raw.dnsrr,
        tls,
        registry,
        infra,
    })
}

/// [`load`] on text already read, with `env` standing in for the process environment.
pub fn parse(path: &Path, text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
    let mut raw: RawConfig =
        toml::from_str(text).map_err(|e| ConfigError::Parse { path: path.into(), message: e.to_string() })?;
    let invalid = |key: &str, message: String| ConfigError::Invalid { path: path.into(), key: key.into(), message };
    let machine = machine(path, &mut raw, env)?;

    let f = raw.forge.ok_or_else(|| {
        invalid("forge", "missing: the [forge] section (kind, base_url, bot_login, token_file or token_env)".into())
    })?;
    if f.token.is_some() {
        return Err(invalid(
            "forge.token",
            "the token must not be written in the config file; put it in a file readable only by the \
             service and set `forge.token_file = \"/path/to/file\"`, or set `forge.token_env` to the name \
             of an environment variable holding it"
                .into(),
        ));
    }
    check_url(&f.base_url).map_err(|m| invalid("forge.base_url", m))?;
    if f.bot_login.trim().is_empty() {
        return Err(invalid("forge.bot_login", "must not be empty".into()));
    }
    let token = resolve_secret("forge.token_file", "forge.token_env", f.token_file, f.token_env, env)
        .map_err(|(key, m)| invalid(key, m))?;
    let forge = ForgeConfig { kind: f.kind, base_url: f.base_url, bot_login: f.bot_login, token };

    let webhook_secret = match raw.webhook {
        None => None,
        Some(w) => {
            if w.secret.is_some() {
                return Err(invalid(
                    "webhook.secret",
                    "the webhook secret must not be written in the config file; set \
                     `webhook.secret_file = \"/path/to/file\"` or `webhook.secret_env = \"VARIABLE\"`"
                        .into(),
                ));
            }
            let secret = resolve_secret("webhook.secret_file", "webhook.secret_env", w.secret_file, w.secret_env, env)
                .map_err(|(key, m)| invalid(key, m))?;
            let chars = secret.expose().chars().count();
            if chars < MIN_WEBHOOK_SECRET_CHARS {
                let key = match secret.source {
                    SecretSource::File(_) => "webhook.secret_file",
                    SecretSource::Env(_) => "webhook.secret_env",
                };
                return Err(invalid(
                    key,
                    format!(
                        "the webhook secret from {} has {chars} characters; use at least \
                         {MIN_WEBHOOK_SECRET_CHARS} (e.g. `openssl rand -hex 32`) and set the same on the forge's webhook",
                        describe(&secret.source)
                    ),
                ));
            }
            Some(secret)
        }
    };

    let mut repos = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, r) in raw.repos.into_iter().enumerate() {
        let key = format!("repos[{i}].repo");
        let name = match r.repo.split_once('/') {
            Some((owner, name)) if valid_name(owner) && valid_name(name) => name.to_string(),
            _ => return Err(invalid(&key, format!("{:?} is not `owner/name`", r.repo))),
        };
        if !seen.insert(r.repo.to_ascii_lowercase()) {
            return Err(invalid(&key, format!("{} is enrolled twice", r.repo)));
        }
        let recipe = r.recipe.unwrap_or(name);
        if !valid_name(&recipe) {
            return Err(invalid(&format!("repos[{i}].recipe"), format!("{recipe:?} is not a recipe name")));
        }
        let upstream = r.upstream.map(|u| u.trim().to_string());
        if let Some(url) = &upstream {
            check_git_url(url).map_err(|m| invalid(&format!("repos[{i}].upstream"), m))?;
        }
        repos.push(RepoConfig { repo: r.repo, recipe, upstream });
    }

    let auth = raw.auth.map(|a| AuthConfig { org: a.org, allow: a.allow }).unwrap_or_default();
    if auth.org.as_deref().is_none_or(|o| o.trim().is_empty()) && auth.allow.is_empty() {
        return Err(invalid(
            "auth",
            "nobody could trigger a run; set `auth.org` (members of this forge organisation) and/or \
             `auth.allow` (a list of logins)"
                .into(),
        ));
    }

    let max_tests = raw.max_tests.unwrap_or(DEFAULT_MAX_TESTS);
    if max_tests == 0 {
        return Err(invalid("max_tests", "must be at least 1".into()));
    }
    let run_timeout = match (raw.run_timeout_minutes, raw.run_timeout_seconds) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "run_timeout_seconds",
                "set either `run_timeout_minutes` or `run_timeout_seconds`, not both".into(),
            ))
        }
        (Some(0), None) => return Err(invalid("run_timeout_minutes", "must be at least 1".into())),
        (None, Some(0)) => return Err(invalid("run_timeout_seconds", "must be at least 1".into())),
        (minutes, None) => Duration::from_secs(minutes.unwrap_or(DEFAULT_RUN_TIMEOUT_MINUTES) * 60),
        (None, Some(seconds)) => Duration::from_secs(seconds),
    };
    let poll_interval_seconds = raw.poll_interval_seconds.unwrap_or(DEFAULT_POLL_INTERVAL_SECONDS);
    if poll_interval_seconds == 0 {
        return Err(invalid("poll_interval_seconds", "must be at least 1".into()));
    }
    let public_url =
        raw.public_url.ok_or_else(|| invalid("public_url", "missing: the dashboard's public URL".into()))?;
    check_url(&public_url).map_err(|m| invalid("public_url", m))?;
    if let Some(engine) = &raw.engine {
        if !engine.is_absolute() {
            return Err(invalid("engine", format!("{} is not an absolute path", engine.display())));
        }
    }
    let http = http_limits(&raw.http).map_err(|(key, m)| invalid(&format!("http.{key}"), m))?;
    let sweep = crate::sweep::schedule::parse(raw.sweep).map_err(|(key, m)| invalid(&key, m))?;
    let disk = crate::disk::parse(raw.disk).map_err(|(key, m)| invalid(&key, m))?;

    Ok(Config {
        path: path.into(),
        forge,
        webhook_secret,
        repos,
        auth,
        max_tests,
        run_timeout,
        poll_interval: Duration::from_secs(poll_interval_seconds),
        data_dir: machine.data_dir,
        base_domain: machine.base_domain,
        proxy: machine.proxy,
        public_url: public_url.trim_end_matches('/').to_string(),
        listen: raw.listen.unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("a socket address")),
        dnsrr: machine.dnsrr,
        recipes_config_dir: raw.recipes_config_dir,
        tls: machine.tls,
        registry: machine.registry,
        infra: machine.infra,
        alerts: machine.alerts,
        engine: raw.engine,
        http,
        node_hosts: node_hosts(raw.node_hosts).map_err(|m| invalid("node_hosts", m))?,
        sweep,
        disk,
    })
}

/// `[http]` with defaults filled in; every value at least 1.
fn http_limits(raw: &RawHttp) -> Result<HttpLimits, (&'static str, String)> {
    let d = HttpLimits::default();
    let positive = |key: &'static str, v: Option<u64>, default: u64| match v {
        Some(0) => Err((key, "must be at least 1".to_string())),
        v => Ok(v.unwrap_or(default)),
    };
    let count = |key: &'static str, v: Option<usize>, default: usize| {
        positive(key, v.map(|v| v as u64), default as u64).map(|v| v as usize)
    };
    Ok(HttpLimits {
        header_timeout: Duration::from_secs(positive(
            "header_timeout_seconds",
            raw.header_timeout_seconds,
            d.header_timeout.as_secs(),
        )?),
        idle_timeout: Duration::from_secs(positive(
            "idle_timeout_seconds",
            raw.idle_timeout_seconds,
            d.idle_timeout.as_secs(),
        )?),
        max_connections: count("max_connections", raw.max_connections, d.max_connections)?,
        max_log_streams: count("max_log_streams", raw.max_log_streams, d.max_log_streams)?,
        max_log_streams_per_run: count(
            "max_log_streams_per_run",
            raw.max_log_streams_per_run,
            d.max_log_streams_per_run,
        )?,
    })
}

/// The node hosts, each a Docker host URL (`unix://`, `tcp://`, `http://`, `https://`).
fn node_hosts(hosts: Vec<String>) -> Result<Vec<String>, String> {
    let hosts: Vec<String> = hosts.into_iter().map(|h| h.trim().to_string()).collect();
    for host in &hosts {
        if !["unix://", "tcp://", "http://", "https://"].iter().any(|scheme| host.starts_with(scheme)) {
            return Err(format!("{host:?} is not a Docker host (unix:///path or tcp://host:port)"));
        }
    }
    Ok(hosts)
}

fn valid_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// A git URL an upstream can be fetched from without credentials in it: `https://`, `http://`,
/// `git://`, `ssh://`, `file://`, `user@host:path` or an absolute path.
fn check_git_url(url: &str) -> Result<(), String> {
    let schemes = ["https://", "http://", "git://", "ssh://", "file://"];
    if let Some(rest) = schemes.iter().find_map(|s| url.strip_prefix(s)) {
        let authority = rest.split('/').next().unwrap_or("");
        if authority.contains(':') && authority.contains('@') {
            return Err("must not carry credentials (`user:password@`): upstreams are read anonymously".into());
        }
        return if rest.is_empty() { Err(format!("{url:?} names no repository")) } else { Ok(()) };
    }
    if let Some((scheme, _)) = url.split_once("://") {
        return Err(format!(
            "{scheme}:// is not a git transport cc-ci reads (https://, http://, git://, ssh://, file://)"
        ));
    }
    let scp_like = url.split_once(':').is_some_and(|(host, path)| !host.contains('/') && !path.is_empty());
    if url.starts_with('/') || scp_like {
        Ok(())
    } else {
        Err(format!("{url:?} is not a git URL (https://…, ssh://…, git://…, file://…, host:path or /path)"))
    }
}

fn check_url(url: &str) -> Result<(), String> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.starts_with('/') => Ok(()),
        _ => Err(format!("{url:?} is not an http(s) URL")),
    }
}

/// Exactly one of a file or an env var; reads it and refuses an empty value.
pub(crate) fn resolve_secret(
    file_key: &'static str,
    env_key: &'static str,
    file: Option<PathBuf>,
    var: Option<String>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Secret, (&'static str, String)> {
    let (source, value) = match (file, var) {
        (Some(_), Some(_)) => return Err((file_key, format!("set either `{file_key}` or `{env_key}`, not both"))),
        (None, None) => return Err((file_key, format!("missing: set `{file_key}` or `{env_key}`"))),
        (Some(path), None) => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| (file_key, format!("cannot read secret file {}: {e}", path.display())))?;
            (SecretSource::File(path), text)
        }
        (None, Some(name)) => {
            let text = env(&name).ok_or((env_key, format!("environment variable {name} is not set")))?;
            (SecretSource::Env(name), text)
        }
    };
    let value = value.trim().to_string();
    if value.is_empty() {
        let key = if matches!(source, SecretSource::File(_)) { file_key } else { env_key };
        return Err((key, format!("the secret from {} is empty", describe(&source))));
    }
    Ok(Secret { source, value: SecretString::from(value) })
}

fn describe(source: &SecretSource) -> String {
    match source {
        SecretSource::File(p) => format!("file {}", p.display()),
        SecretSource::Env(v) => format!("environment variable {v}"),
    }
}

/// The configuration in force, as TOML, every default filled in and every secret value shown as
/// `***` (where it comes from is shown, so an operator can check the right file is used).
pub fn effective(config: &Config) -> String {
    let mut out = String::new();
    let q = |s: &str| toml::Value::String(s.to_string()).to_string();
    let _ = writeln!(out, "# effective configuration from {}", config.path.display());
    let _ = writeln!(out, "max_tests = {}", config.max_tests);
    match config.run_timeout.as_secs() {
        s if s % 60 == 0 => writeln!(out, "run_timeout_minutes = {}", s / 60),
        s => writeln!(out, "run_timeout_seconds = {s}"),
    }
    .ok();
    let _ = writeln!(out, "poll_interval_seconds = {}", config.poll_interval.as_secs());
    let _ = writeln!(out, "data_dir = {}", q(&config.data_dir.to_string_lossy()));
    let _ = writeln!(out, "base_domain = {}", q(&config.base_domain));
    match config.proxy {
        Some(p) => {
            let _ = writeln!(out, "proxy = {}", q(&p.to_string()));
        }
        None => {
            let _ = writeln!(out, "# proxy: not set (app domains resolve to the proxy)");
        }
    }
    let _ = writeln!(out, "public_url = {}", q(&config.public_url));
    let _ = writeln!(out, "listen = {}", q(&config.listen.to_string()));
    let _ = writeln!(out, "dnsrr = {}", config.dnsrr);
    if config.node_hosts.is_empty() {
        let _ = writeln!(out, "# node_hosts: not set (a single-node swarm)");
    } else {
        let hosts: Vec<String> = config.node_hosts.iter().map(|h| q(h)).collect();
        let _ = writeln!(out, "node_hosts = [{}]", hosts.join(", "));
    }
    match &config.recipes_config_dir {
        Some(dir) => {
            let _ = writeln!(out, "recipes_config_dir = {}", q(&dir.to_string_lossy()));
        }
        None => {
            let _ = writeln!(out, "# recipes_config_dir: not set (only ccci.toml inside recipes)");
        }
    }
    match &config.engine {
        Some(engine) => {
            let _ = writeln!(out, "engine = {}", q(&engine.to_string_lossy()));
        }
        None => {
            let _ = writeln!(out, "# engine: not set (runs are started with this ccci)");
        }
    }
    let _ = writeln!(out, "\n[forge]");
    let _ = writeln!(out, "kind = {}", q(config.forge.kind.as_str()));
    let _ = writeln!(out, "base_url = {}", q(&config.forge.base_url));
    let _ = writeln!(out, "bot_login = {}", q(&config.forge.bot_login));
    write_secret(&mut out, "token", &config.forge.token, &q);
    match &config.webhook_secret {
        Some(s) => {
            let _ = writeln!(out, "\n[webhook]");
            write_secret(&mut out, "secret", s, &q);
        }
        None => {
            let _ = writeln!(out, "\n# [webhook]: not set (polling only)");
        }
    }
    let _ = writeln!(out, "\n[auth]");
    if let Some(org) = &config.auth.org {
        let _ = writeln!(out, "org = {}", q(org));
    }
    let allow: Vec<String> = config.auth.allow.iter().map(|a| q(a)).collect();
    let _ = writeln!(out, "allow = [{}]", allow.join(", "));
    infra_config::write_effective(&mut out, &config.tls, &config.registry, &config.infra, &config.data_dir);
    alerts_config::write_effective(&mut out, &config.alerts);
    let h = &config.http;
    let _ = writeln!(out, "\n[http]");
    let _ = writeln!(out, "header_timeout_seconds = {}", h.header_timeout.as_secs());
    let _ = writeln!(out, "idle_timeout_seconds = {}", h.idle_timeout.as_secs());
    let _ = writeln!(out, "max_connections = {}", h.max_connections);
    let _ = writeln!(out, "max_log_streams = {}", h.max_log_streams);
    let _ = writeln!(out, "max_log_streams_per_run = {}", h.max_log_streams_per_run);
    crate::sweep::schedule::write_effective(&mut out, &config.sweep);
    crate::disk::write_effective(&mut out, &config.disk);
    for r in &config.repos {
        let _ = writeln!(out, "\n[[repos]]\nrepo = {}\nrecipe = {}", q(&r.repo), q(&r.recipe));
        if let Some(upstream) = &r.upstream {
            let _ = writeln!(out, "upstream = {}", q(upstream));
        }
    }
    out
}

pub(crate) fn write_secret(out: &mut String, name: &str, secret: &Secret, q: &dyn Fn(&str) -> String) {
    let _ = match &secret.source {
        SecretSource::File(p) => writeln!(out, "{name}_file = {}", q(&p.to_string_lossy())),
        SecretSource::Env(v) => writeln!(out, "{name}_env = {}", q(v)),
    };
    let _ = writeln!(out, "# {name} = \"***\" ({} characters read)", secret.value.expose_secret().chars().count());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn env_token(name: &str) -> Option<String> {
        (name == "CCCI_TOKEN").then(|| "tok-s3cret-value".to_string())
    }

    const MINIMAL: &str = r#"
        base_domain = "ci.example.org"
        public_url = "https://ci.example.org/"
        [forge]
        kind = "forgejo"
        base_url = "https://git.example.org"
        bot_login = "cc-ci"
        token_env = "CCCI_TOKEN"
        [auth]
        org = "coop-cloud"
    "#;

    fn p() -> &'static Path {
        Path::new("cc-ci.toml")
    }

    #[test]
    fn the_machine_side_of_a_config_is_what_load_machine_reads() {
        let text = format!(
            "{MINIMAL}\n[[infra.apps]]\nrecipe = \"https://git.example.org/coop-cloud/keycloak.git\"\n\
             [[alerts.sinks]]\nkind = \"webhook\"\nurl = \"https://hooks.example.org/cc-ci\"\n"
        );
        let config = parse(p(), &text, &env_token).unwrap();
        let mut raw: RawConfig = toml::from_str(&text).unwrap();
        let machine = machine(p(), &mut raw, &env_token).unwrap();
        assert_eq!(format!("{:?}", config.machine()), format!("{machine:?}"));
        assert_eq!(config.machine().infra.apps.len(), 1);
        assert_eq!(config.machine().alerts.sinks().len(), 1);
    }

    #[test]
    fn defaults_fill_everything_optional() {
        let c = parse(p(), MINIMAL, &env_token).unwrap();
        assert_eq!(c.max_tests, 1);
        assert_eq!(c.run_timeout, Duration::from_secs(3600));
        assert_eq!(c.poll_interval, Duration::from_secs(60));
        assert_eq!(c.data_dir, PathBuf::from("/var/lib/cc-ci"));
        assert_eq!(c.proxy, None);
        assert!(c.webhook_secret.is_none());
        assert!(c.repos.is_empty());
        assert_eq!(c.public_url, "https://ci.example.org");
        assert_eq!(c.forge.kind, ForgeKind::Forgejo);
        assert_eq!(c.forge.token.expose(), "tok-s3cret-value");
    }

    #[test]
    fn repos_default_recipe_to_repo_name_and_refuse_duplicates() {
        let text = format!(
            "{MINIMAL}\n[[repos]]\nrepo = \"coop-cloud/app-db\"\n[[repos]]\nrepo = \"me/x\"\nrecipe = \"other\"\n"
        );
        let c = parse(p(), &text, &env_token).unwrap();
        assert_eq!(
            c.repos[0],
            RepoConfig { repo: "coop-cloud/app-db".into(), recipe: "app-db".into(), upstream: None }
        );
        assert_eq!(c.repos[1].recipe, "other");
        let dup = format!("{text}[[repos]]\nrepo = \"Coop-Cloud/app-db\"\n");
        let err = parse(p(), &dup, &env_token).unwrap_err().to_string();
        assert!(err.contains("repos[2].repo") && err.contains("enrolled twice"), "{err}");
        let bad = format!("{MINIMAL}\n[[repos]]\nrepo = \"just-a-name\"\n");
        let err = parse(p(), &bad, &env_token).unwrap_err().to_string();
        assert!(err.contains("repos[0].repo") && err.contains("owner/name"), "{err}");
    }

    #[test]
    fn upstreams_sweep_and_disk_are_read_checked_and_shown() {
        let text = format!(
            "{MINIMAL}\n[sweep]\nevery = \"1d\"\nat = \"02:30\"\n[disk]\nmin_free_gib = 0.5\n\
             [[repos]]\nrepo = \"coop-cloud/app\"\nupstream = \"https://git.example.org/up/app.git\"\n"
        );
        let c = parse(p(), &text, &env_token).unwrap();
        assert_eq!(c.repos[0].upstream.as_deref(), Some("https://git.example.org/up/app.git"));
        assert_eq!(c.sweep.schedule.at, Some(150));
        assert_eq!(c.disk.min_free_bytes(), 1 << 29);
        let shown = effective(&c);
        for line in [
            "every = \"1d\"",
            "at = \"02:30\"",
            "min_free_gib = 0.5",
            "upstream = \"https://git.example.org/up/app.git\"",
        ] {
            assert!(shown.contains(line), "{line} missing from:\n{shown}");
        }
        for bad in ["https://bot:pw@git.example.org/up/app.git", "not a url", "ftp://x/y"] {
            let text = format!("{MINIMAL}\n[[repos]]\nrepo = \"coop-cloud/app\"\nupstream = {bad:?}\n");
            let err = parse(p(), &text, &env_token).unwrap_err().to_string();
            assert!(err.contains("repos[0].upstream"), "{bad}: {err}");
            assert!(!err.contains(":pw@"), "{err}");
        }
        let text = format!("{MINIMAL}\n[sweep]\nevery = \"weekly\"\n");
        assert!(parse(p(), &text, &env_token).unwrap_err().to_string().contains("sweep.every"));
    }

    #[test]
    fn node_hosts_are_docker_hosts_and_shown_in_the_effective_config() {
        assert!(parse(p(), MINIMAL, &env_token).unwrap().node_hosts.is_empty());
        let text = MINIMAL
            .replace("public_url", "node_hosts = [\"unix:///run/n1.sock\", \"tcp://10.0.0.3:2375\"]\npublic_url");
        let c = parse(p(), &text, &env_token).unwrap();
        assert_eq!(c.node_hosts, ["unix:///run/n1.sock", "tcp://10.0.0.3:2375"]);
        assert!(effective(&c).contains("node_hosts = [\"unix:///run/n1.sock\", \"tcp://10.0.0.3:2375\"]"));
        let text = MINIMAL.replace("public_url", "node_hosts = [\"node2:2375\"]\npublic_url");
        let err = parse(p(), &text, &env_token).unwrap_err().to_string();
        assert!(err.contains("node_hosts") && err.contains("\"node2:2375\" is not a Docker host"), "{err}");
    }

    #[test]
    fn unknown_key_is_an_error_naming_it_and_the_file() {
        let text = MINIMAL.replace("public_url", "max_test = 2\npublic_url");
        let err = parse(p(), &text, &env_token).unwrap_err().to_string();
        assert!(err.contains("cc-ci.toml") && err.contains("max_test"), "{err}");
        let text = MINIMAL.replace("bot_login", "colour = \"red\"\nbot_login");
        let err = parse(p(), &text, &env_token).unwrap_err().to_string();
        assert!(err.contains("colour"), "{err}");
    }

    #[test]
    fn inline_token_is_refused_saying_where_to_put_it() {
        let text = MINIMAL.replace("token_env = \"CCCI_TOKEN\"", "token = \"abc123\"");
        let err = parse(p(), &text, &no_env).unwrap_err().to_string();
        assert!(err.contains("forge.token") && err.contains("token_file") && err.contains("token_env"), "{err}");
        assert!(!err.contains("abc123"), "the error must not echo the token: {err}");
        let text = format!("{MINIMAL}\n[webhook]\nsecret = \"hunter2\"\n");
        let err = parse(p(), &text, &env_token).unwrap_err().to_string();
        assert!(err.contains("webhook.secret") && err.contains("secret_file") && !err.contains("hunter2"), "{err}");
    }

    #[test]
    fn missing_token_file_is_named_by_path() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("forge-token");
        let text = MINIMAL.replace("token_env = \"CCCI_TOKEN\"", &format!("token_file = {:?}", missing));
        let err = parse(p(), &text, &no_env).unwrap_err().to_string();
        assert!(err.contains("forge.token_file") && err.contains(&missing.display().to_string()), "{err}");
        let err = parse(p(), MINIMAL, &no_env).unwrap_err().to_string();
        assert!(err.contains("forge.token_env") && err.contains("CCCI_TOKEN is not set"), "{err}");
        let both = MINIMAL.replace("token_env", "token_file = \"/x\"\ntoken_env");
        let err = parse(p(), &both, &env_token).unwrap_err().to_string();
        assert!(err.contains("not both"), "{err}");
    }

    #[test]
    fn nobody_authorised_is_an_error() {
        let text = MINIMAL.replace("org = \"coop-cloud\"", "");
        let err = parse(p(), &text, &env_token).unwrap_err().to_string();
        assert!(err.contains("`auth`"), "{err}");
        let text = MINIMAL.replace("org = \"coop-cloud\"", "allow = [\"alice\"]");
        assert_eq!(parse(p(), &text, &env_token).unwrap().auth.allow, vec!["alice".to_string()]);
    }

    #[test]
    fn load_reads_file_secrets_and_effective_masks_them() {
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("token");
        std::fs::write(&token, "tok-from-file-42\n").unwrap();
        let secret = dir.path().join("hook");
        std::fs::write(&secret, "hook-secret-99-long-enough").unwrap();
        let text = MINIMAL.replace("token_env = \"CCCI_TOKEN\"", &format!("token_file = {:?}", token))
            + &format!("[webhook]\nsecret_file = {:?}\n", secret)
            + "[[repos]]\nrepo = \"coop-cloud/app-db\"\n";
        let path = dir.path().join("cc-ci.toml");
        std::fs::write(&path, &text).unwrap();
        let c = load(&path).unwrap();
        assert_eq!(c.forge.token.expose(), "tok-from-file-42");
        assert_eq!(c.webhook_secret.as_ref().unwrap().expose(), "hook-secret-99-long-enough");

        let shown = effective(&c);
        assert!(!shown.contains("tok-from-file-42") && !shown.contains("hook-secret-99"), "{shown}");
        assert!(shown.contains("***"), "{shown}");
        assert!(shown.contains(&token.display().to_string()), "{shown}");
        assert!(!format!("{c:?}").contains("tok-from-file-42"), "Debug must not show the token");

        // The effective config is itself a valid config file giving the same values.
        std::fs::write(&path, &shown).unwrap();
        let again = load(&path).unwrap();
        assert_eq!(effective(&again).lines().skip(1).collect::<Vec<_>>(), shown.lines().skip(1).collect::<Vec<_>>());
    }

    #[test]
    fn a_short_webhook_secret_is_refused_saying_how_long_it_must_be() {
        let env = |name: &str| match name {
            "CCCI_TOKEN" => Some("tok-s3cret-value".to_string()),
            "HOOK" => Some("fifteen-chars-x".to_string()),
            "GOOD_HOOK" => Some("sixteen-chars-xy".to_string()),
            _ => None,
        };
        let text = format!("{MINIMAL}\n[webhook]\nsecret_env = \"HOOK\"\n");
        let err = parse(p(), &text, &env).unwrap_err().to_string();
        assert!(
            err.contains("webhook.secret_env") && err.contains("15 characters") && err.contains("at least 16"),
            "{err}"
        );
        assert!(!err.contains("fifteen-chars-x"), "the error must not echo the secret: {err}");
        let text = format!("{MINIMAL}\n[webhook]\nsecret_env = \"GOOD_HOOK\"\n");
        assert!(parse(p(), &text, &env).unwrap().webhook_secret.is_some());
    }

    #[test]
    fn http_limits_default_and_refuse_zero() {
        let c = parse(p(), MINIMAL, &env_token).unwrap();
        assert_eq!(c.http, HttpLimits::default());
        let text = format!("{MINIMAL}\n[http]\nheader_timeout_seconds = 2\nmax_log_streams_per_run = 1\n");
        let c = parse(p(), &text, &env_token).unwrap();
        assert_eq!((c.http.header_timeout, c.http.max_log_streams_per_run), (Duration::from_secs(2), 1));
        assert_eq!(c.http.max_connections, HttpLimits::default().max_connections);
        let text = format!("{MINIMAL}\n[http]\nmax_connections = 0\n");
        let err = parse(p(), &text, &env_token).unwrap_err().to_string();
        assert!(err.contains("http.max_connections") && err.contains("at least 1"), "{err}");
        let text = format!("{MINIMAL}\n[http]\ntimeout = 3\n");
        assert!(parse(p(), &text, &env_token).unwrap_err().to_string().contains("timeout"));
    }

    #[test]
    fn engine_must_be_an_absolute_path() {
        let text = MINIMAL.replace("public_url", "engine = \"bin/ccci\"\npublic_url");
        let err = parse(p(), &text, &env_token).unwrap_err().to_string();
        assert!(err.contains("`engine`") && err.contains("absolute"), "{err}");
        let text = MINIMAL.replace("public_url", "engine = \"/usr/local/bin/ccci-sandboxed\"\npublic_url");
        assert_eq!(parse(p(), &text, &env_token).unwrap().engine, Some(PathBuf::from("/usr/local/bin/ccci-sandboxed")));
    }

    #[test]
    fn unreadable_config_file_is_named() {
        let err = load(Path::new("/nonexistent/cc-ci.toml")).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/cc-ci.toml"), "{err}");
    }
}
