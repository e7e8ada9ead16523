//! Per-recipe config (SPEC T4): `recipes/<name>/ccci.toml` in the CI's config tree, and optionally
//! `ccci.toml` in the recipe itself. The CI tree wins key by key (tables such as `env` or `hooks`
//! merge per inner key; lists such as `screenshots` and `dependencies` are replaced whole). Unknown
//! keys are errors naming the key and the file. Secret values never live here: `secrets` names an
//! environment variable or a file holding each value. Pure: reads files, touches nothing else.
//! The schema with an example is in docs/per-recipe-config.md.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::plan::Overrides;
use crate::tier::Tier;

/// The file name of a per-recipe config, in the recipe and in the CI tree.
pub const FILE_NAME: &str = "ccci.toml";
/// Environment variable naming the CI's config tree (`--config-dir`).
pub const CONFIG_DIR_ENV: &str = "CCCI_CONFIG_DIR";

/// Why a config cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// A command: a string run with `sh -c`, or an argument vector run as it is.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Command {
    Shell(String),
    Argv(Vec<String>),
}

impl Command {
    /// The argument vector, with each `$NAME` / `${NAME}` of `vars` replaced by its value (the
    /// run's `CCCI_MARKER` or `CCCI_TENANT`: commands run in a service get no env of their own).
    pub fn argv(&self, vars: &[(&str, &str)]) -> Vec<String> {
        let subst = |s: &str| {
            vars.iter().fold(s.to_string(), |s, (name, value)| {
                s.replace(&format!("${{{name}}}"), value).replace(&format!("${name}"), value)
            })
        };
        match self {
            Command::Shell(s) => vec!["sh".into(), "-c".into(), subst(s)],
            Command::Argv(v) => v.iter().map(|a| subst(a)).collect(),
        }
    }
}

/// A hook: `command` run inside a running task of `service` of the app, or on the CI host (in the
/// run's sandbox, with the recipe-test environment) when `service` is absent.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Hook {
    #[serde(default)]
    pub service: Option<String>,
    pub command: Command,
    /// Whether the CI's own config tree gave this hook (not the recipe's `ccci.toml`): only such a
    /// hook may run trusted ([`RecipeConfig::trusted`]).
    #[serde(skip)]
    pub from_ci_tree: bool,
}

impl Hook {
    /// A hook as a file would give it (from the recipe, so never trusted).
    pub fn new(service: Option<&str>, command: Command) -> Hook {
        Hook { service: service.map(str::to_string), command, from_ci_tree: false }
    }
}

/// The moments a hook may run at.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Hooks {
    /// Before the first deploy; no service exists yet, so only a host command (no `service`).
    pub pre_install: Option<Hook>,
    /// After install converged and served.
    pub post_install: Option<Hook>,
    pub pre_upgrade: Option<Hook>,
    pub pre_backup: Option<Hook>,
    pub pre_restore: Option<Hook>,
}

/// The recipe's own data markers (SPEC T3): `write` stores `$CCCI_MARKER`, `check` exits 0 when
/// the marker is there, `spoil` (optional) deletes it and mutates the data before a restore.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MarkerHooks {
    pub write: Option<Hook>,
    pub check: Option<Hook>,
    pub spoil: Option<Hook>,
}

/// The ready probe replacing the default serving check (`GET /` answering 2xx/3xx).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Ready {
    /// HTTP path requested through the proxy.
    pub path: Option<String>,
    /// Expected HTTP status (any 2xx/3xx when absent).
    pub status: Option<u16>,
    /// A TCP port of the `app` service that must accept connections (instead of HTTP).
    pub tcp: Option<u16>,
}

/// Where an inserted (`generate=false`) secret's value comes from: never the config itself.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SecretSource {
    /// The environment variable of the `ccci` process holding the value.
    pub env: Option<String>,
    /// A file holding the value (trailing newline dropped); relative to the config file's dir.
    pub file: Option<PathBuf>,
}

/// A dependency (SPEC T6): another recipe the app needs. Cold (the default): deployed for the run
/// first, torn down with it. Warm: a long-lived shared app in which each run gets its own tenant.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Dependency {
    /// A short name for logs (default: the recipe's directory or repository name).
    pub name: Option<String>,
    /// A recipe directory (relative to the config file's dir) or git URL.
    pub recipe: String,
    /// The ref to deploy (default: the directory's working tree, or the repository's HEAD).
    #[serde(rename = "ref")]
    pub git_ref: Option<String>,
    /// Env for the dependent app (and its hooks and tests); values may use `{domain}`, `{url}`,
    /// `{stack}` of the dependency.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Extra env for the dependency's own app.
    #[serde(default)]
    pub set: BTreeMap<String, String>,
    /// A long-lived shared app (deployed once, kept) giving each run its own tenant, created by
    /// the dependency's `tenant` hooks; `env` may then use `{tenant}` and `{tenant.<key>}`.
    #[serde(default)]
    pub warm: bool,
}

/// How a warm dependency makes, removes and lists its tenants (in the dependency's own config).
/// Each runs with `$CCCI_TENANT` set (and replaced in the command, like `$CCCI_MARKER`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TenantHooks {
    /// Makes the tenant; prints its credentials as `KEY=VALUE` lines on stdout.
    pub create: Option<Hook>,
    /// Removes the tenant (succeeds when it is already gone).
    pub delete: Option<Hook>,
    /// Prints every tenant's name, one per line.
    pub list: Option<Hook>,
}

/// One config file as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    trusted: Option<bool>,
    timeout: Option<u64>,
    upgrade_base: Option<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    upgrade_env: BTreeMap<String, String>,
    ready: Option<Ready>,
    #[serde(default)]
    hooks: Hooks,
    #[serde(default)]
    marker: MarkerHooks,
    #[serde(default)]
    tenant: TenantHooks,
    #[serde(default)]
    secrets: BTreeMap<String, SecretSource>,
    #[serde(default)]
    skip: BTreeMap<String, String>,
    screenshots: Option<Vec<String>>,
    dependencies: Option<Vec<Dependency>>,
}

impl RawConfig {
    /// Mark every hook of this file as the CI tree's.
    fn mark_from_ci_tree(&mut self) {
        let (h, m, t) = (&mut self.hooks, &mut self.marker, &mut self.tenant);
        for hook in [
            &mut h.pre_install,
            &mut h.post_install,
            &mut h.pre_upgrade,
            &mut h.pre_backup,
            &mut h.pre_restore,
            &mut m.write,
            &mut m.check,
            &mut m.spoil,
            &mut t.create,
            &mut t.delete,
            &mut t.list,
        ]
        .into_iter()
        .flatten()
        {
            hook.from_ci_tree = true;
        }
    }
}

/// The effective config of a recipe (both files merged).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RecipeConfig {
    /// The files read, recipe's first; empty when there is none.
    pub sources: Vec<PathBuf>,
    /// The CI tree says its own hooks and tests for this recipe may run outside the sandbox, as
    /// the `ccci` process's user with its environment (`trusted = true`, read from the CI tree
    /// only). The recipe's own hooks and tests are sandboxed whatever this says.
    pub trusted: bool,
    /// Convergence timeout in seconds.
    pub timeout: Option<u64>,
    pub upgrade_base: Option<String>,
    /// Extra app env for install (and later tiers).
    pub env: BTreeMap<String, String>,
    /// Extra app env for the upgrade (on top of `env`).
    pub upgrade_env: BTreeMap<String, String>,
    pub ready: Option<Ready>,
    pub hooks: Hooks,
    pub marker: MarkerHooks,
    /// Tenant hooks, when this recipe serves as a warm dependency.
    pub tenant: TenantHooks,
    /// Secret key (as in the compose file) → where its value comes from.
    pub secrets: BTreeMap<String, SecretSource>,
    pub skip: Vec<(Tier, String)>,
    /// Paths of pages to screenshot in the custom tier.
    pub screenshots: Vec<String>,
    /// Dependencies with `recipe` resolved (relative directories made absolute).
    pub dependencies: Vec<Dependency>,
    /// Directory of the file that gave `secrets` entries, per key (for relative `file`).
    #[serde(skip)]
    secret_dirs: BTreeMap<String, PathBuf>,
}

/// `<config dir>/recipes/<name>`: the CI tree's directory for a recipe (config and tests).
pub fn ci_recipe_dir(config_dir: &Path, recipe: &str) -> PathBuf {
    config_dir.join("recipes").join(recipe)
}

/// Read the config of `recipe` from its checkout (`ccci.toml`) and the CI tree (`config_dir`).
pub fn load(recipe_dir: &Path, config_dir: Option<&Path>, recipe: &str) -> Result<RecipeConfig, ConfigError> {
    load_from(recipe_dir, recipe_dir, config_dir, recipe)
}

/// [`load`] for a recipe checked out into `recipe_dir` from the directory `origin`: relative
/// dependency paths in the recipe's own `ccci.toml` name places beside `origin` (a sibling
/// checkout), not beside the private copy.
pub fn load_from(
    recipe_dir: &Path,
    origin: &Path,
    config_dir: Option<&Path>,
    recipe: &str,
) -> Result<RecipeConfig, ConfigError> {
    let mut files = vec![(recipe_dir.join(FILE_NAME), origin.to_path_buf(), false)];
    if let Some(dir) = config_dir {
        let ci = ci_recipe_dir(dir, recipe);
        files.push((ci.join(FILE_NAME), ci, true));
    }
    let mut config = RecipeConfig::default();
    for (path, relative_to, from_ci_tree) in files {
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(ConfigError(format!("cannot read {}: {e}", path.display()))),
        };
        let raw = parse(&text, &path)?;
        config.merge(raw, &path, &relative_to, from_ci_tree)?;
        config.sources.push(path);
    }
    Ok(config)
}

fn parse(text: &str, path: &Path) -> Result<RawConfig, ConfigError> {
    toml::from_str(text).map_err(|e| {
        let msg = e.message().to_string();
        let at = e.span().map(|s| line_of(text, s.start)).map(|l| format!(" (line {l})")).unwrap_or_default();
        ConfigError(format!("{}{at}: {msg}", path.display()))
    })
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

impl RecipeConfig {
    /// Lay `raw` (read from `path`, the CI tree's file when `from_ci_tree`; relative paths in it
    /// are relative to `relative_to`) over what is there: its keys win.
    fn merge(
        &mut self,
        mut raw: RawConfig,
        path: &Path,
        relative_to: &Path,
        from_ci_tree: bool,
    ) -> Result<(), ConfigError> {
        let dir = relative_to.to_path_buf();
        let bad = |what: String| ConfigError(format!("{}: {what}", path.display()));
        match (raw.trusted, from_ci_tree) {
            (Some(_), false) => {
                return Err(bad(
                    "trusted: only the CI's config tree (recipes/<name>/ccci.toml) can say this; a recipe's own \
                     hooks and tests always run sandboxed"
                        .into(),
                ))
            }
            (Some(t), true) => self.trusted = t,
            (None, _) => {}
        }
        if from_ci_tree {
            raw.mark_from_ci_tree();
        }
        if let Some(t) = raw.timeout {
            if t == 0 {
                return Err(bad("timeout must be a positive number of seconds".into()));
            }
            self.timeout = Some(t);
        }
        self.upgrade_base = raw.upgrade_base.or(self.upgrade_base.take());
        self.env.extend(raw.env);
        self.upgrade_env.extend(raw.upgrade_env);
        if let Some(r) = raw.ready {
            match (&r.path, r.tcp) {
                (Some(_), Some(_)) => return Err(bad("ready: give either path (HTTP) or tcp, not both".into())),
                (None, None) if r.status.is_none() => return Err(bad("ready: give path (HTTP) or tcp".into())),
                (None, Some(_)) if r.status.is_some() => {
                    return Err(bad("ready: status goes with path, not tcp".into()))
                }
                _ => {}
            }
            if let Some(p) = &r.path {
                if !p.starts_with('/') {
                    return Err(bad(format!("ready.path {p:?} must start with /")));
                }
            }
            self.ready = Some(r);
        }
        let h = raw.hooks;
        if h.pre_install.as_ref().is_some_and(|h| h.service.is_some()) {
            return Err(bad("hooks.pre_install runs before any service exists: drop `service`".into()));
        }
        for (slot, new) in [
            (&mut self.hooks.pre_install, h.pre_install),
            (&mut self.hooks.post_install, h.post_install),
            (&mut self.hooks.pre_upgrade, h.pre_upgrade),
            (&mut self.hooks.pre_backup, h.pre_backup),
            (&mut self.hooks.pre_restore, h.pre_restore),
            (&mut self.marker.write, raw.marker.write),
            (&mut self.marker.check, raw.marker.check),
            (&mut self.marker.spoil, raw.marker.spoil),
            (&mut self.tenant.create, raw.tenant.create),
            (&mut self.tenant.delete, raw.tenant.delete),
            (&mut self.tenant.list, raw.tenant.list),
        ] {
            if new.is_some() {
                *slot = new;
            }
        }
        for (key, source) in raw.secrets {
            match (&source.env, &source.file) {
                (Some(_), None) | (None, Some(_)) => {}
                _ => return Err(bad(format!("secrets.{key}: give exactly one of env or file"))),
            }
            self.secret_dirs.insert(key.clone(), dir.clone());
            self.secrets.insert(key, source);
        }
        for (name, reason) in raw.skip {
            let tier = Tier::parse(&name).ok_or_else(|| {
                bad(format!("skip.{name}: unknown tier; the tiers are install, upgrade, backup, restore, custom"))
            })?;
            self.skip.retain(|(t, _)| *t != tier);
            self.skip.push((tier, reason));
        }
        self.skip.sort_by_key(|(t, _)| *t);
        if let Some(s) = raw.screenshots {
            if let Some(p) = s.iter().find(|p| !p.starts_with('/')) {
                return Err(bad(format!("screenshots: {p:?} must start with /")));
            }
            self.screenshots = s;
        }
        if let Some(deps) = raw.dependencies {
            self.dependencies = deps.into_iter().map(|d| resolve_dependency(d, &dir)).collect();
        }
        Ok(())
    }

    /// Whether `hook` runs trusted: the CI tree gave it and says `trusted = true`.
    pub fn runs_trusted(&self, hook: &Hook) -> bool {
        self.trusted && hook.from_ci_tree
    }

    /// The plan overrides this config asks for.
    pub fn overrides(&self) -> Overrides {
        let source = (!self.sources.is_empty())
            .then(|| self.sources.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" + "));
        Overrides {
            source,
            timeout_secs: self.timeout,
            upgrade_base: self.upgrade_base.clone(),
            skip_tiers: self.skip.clone(),
        }
    }

    /// The value of the inserted secret `key`, read from its env var or file; `None` when the
    /// config gives none.
    pub fn secret_value(&self, key: &str) -> Option<Result<String, ConfigError>> {
        let source = self.secrets.get(key)?;
        Some(match (&source.env, &source.file) {
            (Some(var), _) => std::env::var(var).map_err(|_| {
                ConfigError(format!("secret {key}: environment variable {var} is not set (or not UTF-8)"))
            }),
            (None, Some(file)) => {
                let path = self.secret_dirs.get(key).map_or_else(|| file.clone(), |d| d.join(file));
                std::fs::read_to_string(&path)
                    .map(|v| v.strip_suffix('\n').unwrap_or(&v).to_string())
                    .map_err(|e| ConfigError(format!("secret {key}: cannot read {}: {e}", path.display())))
            }
            (None, None) => Err(ConfigError(format!("secret {key}: no env or file"))),
        })
    }
}

/// A relative recipe directory is relative to the config file; URLs and absolute paths stay.
fn resolve_dependency(mut d: Dependency, dir: &Path) -> Dependency {
    let is_url = d.recipe.contains("://") || d.recipe.starts_with("git@");
    if !is_url && Path::new(&d.recipe).is_relative() {
        d.recipe = dir.join(&d.recipe).to_string_lossy().into_owned();
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, rel: &str, text: &str) -> PathBuf {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn no_files_is_an_empty_config() {
        let d = tempfile::tempdir().unwrap();
        let c = load(d.path(), Some(d.path()), "x").unwrap();
        assert_eq!(c, RecipeConfig::default());
        assert_eq!(c.overrides().source, None);
    }

    #[test]
    fn the_ci_tree_wins_key_by_key() {
        let d = tempfile::tempdir().unwrap();
        write(
            d.path(),
            "recipe/ccci.toml",
            "timeout = 100\nupgrade_base = \"1.0.0\"\nscreenshots = [\"/a\"]\n[env]\nA = \"r\"\nB = \"r\"\n[skip]\nbackup = \"recipe says\"\n[hooks.post_install]\nservice = \"app\"\ncommand = \"echo r\"\n",
        );
        write(
            d.path(),
            "ci/recipes/x/ccci.toml",
            "timeout = 200\n[env]\nB = \"ci\"\n[skip]\nrestore = \"ci says\"\n[ready]\npath = \"/healthz\"\nstatus = 204\n",
        );
        let c = load(&d.path().join("recipe"), Some(&d.path().join("ci")), "x").unwrap();
        assert_eq!(c.timeout, Some(200));
        assert_eq!(c.upgrade_base.as_deref(), Some("1.0.0"));
        assert_eq!(c.env["A"], "r");
        assert_eq!(c.env["B"], "ci");
        assert_eq!(c.skip, vec![(Tier::Backup, "recipe says".into()), (Tier::Restore, "ci says".into())]);
        assert_eq!(c.screenshots, vec!["/a".to_string()]);
        assert_eq!(c.hooks.post_install.as_ref().unwrap().command.argv(&[]), ["sh", "-c", "echo r"]);
        assert_eq!(c.ready.as_ref().unwrap().status, Some(204));
        let o = c.overrides();
        assert_eq!(o.timeout_secs, Some(200));
        assert!(o.source.unwrap().contains(" + "));
    }

    #[test]
    fn only_the_ci_tree_can_trust_and_only_its_own_hooks() {
        let d = tempfile::tempdir().unwrap();
        write(
            d.path(),
            "recipe/ccci.toml",
            "[hooks.pre_install]\ncommand = \"echo r\"\n[hooks.pre_backup]\ncommand = \"echo r\"\n",
        );
        write(d.path(), "ci/recipes/x/ccci.toml", "trusted = true\n[hooks.pre_backup]\ncommand = \"echo ci\"\n");
        let c = load(&d.path().join("recipe"), Some(&d.path().join("ci")), "x").unwrap();
        assert!(c.trusted);
        assert!(!c.runs_trusted(c.hooks.pre_install.as_ref().unwrap()), "the recipe's own hook stays sandboxed");
        assert!(c.runs_trusted(c.hooks.pre_backup.as_ref().unwrap()), "the CI tree's hook runs trusted");
        let untrusted = load(&d.path().join("recipe"), None, "x").unwrap();
        assert!(!untrusted.trusted && !untrusted.runs_trusted(untrusted.hooks.pre_backup.as_ref().unwrap()));
        write(d.path(), "recipe/ccci.toml", "trusted = true\n");
        let err = load(&d.path().join("recipe"), None, "x").unwrap_err().0;
        assert!(err.contains("trusted") && err.contains("CI's config tree"), "{err}");
    }

    #[test]
    fn unknown_keys_name_the_key_and_the_file() {
        let d = tempfile::tempdir().unwrap();
        let p = write(d.path(), "ccci.toml", "timeout = 5\n[hooks.pre_install]\ncommand = \"x\"\nsevrice = \"app\"\n");
        let err = load(d.path(), None, "x").unwrap_err().0;
        assert!(err.contains("sevrice"), "{err}");
        assert!(err.contains(&p.display().to_string()), "{err}");
        write(d.path(), "ccci.toml", "timout = 5\n");
        let err = load(d.path(), None, "x").unwrap_err().0;
        assert!(err.contains("timout") && err.contains("line 1"), "{err}");
    }

    #[test]
    fn bad_values_are_refused() {
        let d = tempfile::tempdir().unwrap();
        for bad in [
            "[skip]\nupgrad = \"x\"\n",
            "[secrets.pw]\nenv = \"A\"\nfile = \"b\"\n",
            "[secrets.pw]\nvalue = \"inline\"\n",
            "[ready]\npath = \"/\"\ntcp = 80\n",
            "[hooks.pre_install]\nservice = \"app\"\ncommand = \"x\"\n",
            "screenshots = [\"login\"]\n",
            "timeout = 0\n",
        ] {
            write(d.path(), "ccci.toml", bad);
            assert!(load(d.path(), None, "x").is_err(), "{bad}");
        }
    }

    #[test]
    fn secret_values_come_from_env_or_file_only() {
        let d = tempfile::tempdir().unwrap();
        write(d.path(), "pw.txt", "s3cret\n");
        write(
            d.path(),
            "ccci.toml",
            "[secrets.a]\nfile = \"pw.txt\"\n[secrets.b]\nenv = \"CCCI_CONFIG_TEST_UNSET_VAR\"\n",
        );
        let c = load(d.path(), None, "x").unwrap();
        assert_eq!(c.secret_value("a").unwrap().unwrap(), "s3cret");
        assert!(c.secret_value("b").unwrap().unwrap_err().0.contains("CCCI_CONFIG_TEST_UNSET_VAR"));
        assert!(c.secret_value("c").is_none());
    }

    #[test]
    fn markers_substitute_and_dependencies_resolve() {
        let d = tempfile::tempdir().unwrap();
        write(
            d.path(),
            "ccci.toml",
            "[marker.write]\nservice = \"db\"\ncommand = [\"put\", \"$CCCI_MARKER\"]\n[[dependencies]]\nrecipe = \"../idp\"\n[dependencies.env]\nIDP = \"{url}\"\n",
        );
        let c = load(d.path(), None, "x").unwrap();
        assert_eq!(c.marker.write.unwrap().command.argv(&[("CCCI_MARKER", "m1")]), ["put", "m1"]);
        assert_eq!(c.dependencies[0].recipe, d.path().join("../idp").to_string_lossy());
        assert_eq!(c.dependencies[0].env["IDP"], "{url}");
    }
}
