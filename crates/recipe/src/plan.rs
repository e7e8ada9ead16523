//! The run plan (SPEC R4, T1): what a test run of a recipe at a ref would do and why, decided
//! without Docker from the checkout alone. `ccci plan` prints it; the harness executes it.
//!
//! Tiers, in order: install, upgrade, backup, restore, custom. Each either runs or is skipped
//! with a reason. Per-recipe configuration (SPEC T4, `crate::config`) enters through [`Overrides`]
//! (`RecipeConfig::overrides`), and the plan records which overrides it applied.

use serde::Serialize;
use serde_norway::Value;

use crate::instance::{self, Instance};
use crate::labels::{deploy_labels, label};
use crate::recipe::{Recipe, VersionInfo};
use crate::secrets::{self, Generator};
pub use crate::tier::Tier;
use crate::{RecipeError, Result};

/// The convergence timeout when the recipe sets none: abra's default (50 s, unconfirmed).
pub const DEFAULT_TIMEOUT_SECS: u64 = 50;

/// What per-recipe configuration (SPEC T4) changes in the plan: built by
/// `RecipeConfig::overrides` from the CI tree's and the recipe's `ccci.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Overrides {
    /// Where the overrides came from (e.g. a file path), for the plan's explanation.
    pub source: Option<String>,
    /// Convergence timeout in seconds, winning over the recipe's label.
    pub timeout_secs: Option<u64>,
    /// The release to upgrade from, winning over "latest release before the ref".
    pub upgrade_base: Option<String>,
    /// Tiers not to run, each with the reason to show.
    pub skip_tiers: Vec<(Tier, String)>,
}

/// Whether a tier runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "lowercase")]
pub enum Decision {
    Runs { why: String },
    Skipped { reason: String },
}

/// One tier's decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TierPlan {
    pub tier: Tier,
    #[serde(flatten)]
    pub decision: Decision,
}

/// What is known of the recipe's versions, for the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionsSummary {
    /// Release tags, oldest first; empty when unknown.
    pub releases: Vec<String>,
    /// Why versions are unknown, if they are.
    pub unknown: Option<String>,
    /// Remarks on tags that are not releases (lightweight, non-conforming, `v`-prefixed).
    pub notes: Vec<String>,
    /// Whether the ref under test is itself a release tag.
    pub ref_is_release: bool,
}

/// A commented-out `COMPOSE_FILE` of the sample: an optional feature the run does not deploy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OptionalCombination {
    pub compose_file: String,
    /// Its line in the env sample.
    pub line: Option<usize>,
}

/// A secret the run generates (or inserts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretPlan {
    pub key: String,
    pub name: String,
    pub version: Option<String>,
    pub generator: Generator,
}

/// A config the stack creates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigPlan {
    pub key: String,
    pub name: String,
    /// The version suffix of the name (`<stack>_<key>_<version>`), when the name follows that shape.
    pub version: Option<String>,
    /// The file it is made from, relative to the recipe when inside it.
    pub file: Option<String>,
}

/// A service and its image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServicePlan {
    pub name: String,
    pub image: Option<String>,
    /// Whether backupbot backs this service up.
    pub backup: bool,
}

/// The convergence timeout and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Timeout {
    pub seconds: u64,
    pub source: String,
}

/// Where the env template is, and a remark when it is not where abra looks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvSampleNote {
    pub path: String,
    pub note: Option<String>,
}

/// Everything a run would do, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub recipe: String,
    /// The ref under test as named (`HEAD` for a working tree).
    pub git_ref: String,
    /// The commit under test, when the recipe is a git checkout.
    pub commit: Option<String>,
    pub versions: VersionsSummary,
    pub upgrade_base: Option<String>,
    pub tiers: Vec<TierPlan>,
    /// The stand-in app instance the names below were computed for.
    pub instance: Instance,
    pub env_sample: EnvSampleNote,
    /// The compose files deployed (the sample's active `COMPOSE_FILE`).
    pub compose_files: Vec<String>,
    /// Optional overlay combinations the sample mentions (commented out): not used by the run.
    pub optional_combinations: Vec<OptionalCombination>,
    pub services: Vec<ServicePlan>,
    pub secrets: Vec<SecretPlan>,
    pub configs: Vec<ConfigPlan>,
    pub timeout: Timeout,
    pub overrides: Overrides,
}

/// Plan a run of `recipe` at `git_ref` (the checkout's HEAD when `None`). Reads nothing beyond
/// the checkout; fails when the recipe cannot be rendered (no `.env.sample`, a required
/// variable unset, a missing overlay...).
pub fn plan(recipe: &Recipe, git_ref: Option<&str>, overrides: &Overrides) -> Result<Plan> {
    let sample = recipe.env_sample.as_ref().ok_or_else(|| {
        RecipeError::at(
            recipe.dir.join(".env.sample"),
            None,
            "no .env.sample: cannot plan a deploy without an env template",
        )
    })?;
    let git_ref = git_ref.map(str::to_string).or_else(|| recipe.git_ref.clone()).unwrap_or_else(|| "HEAD".to_string());
    let instance = Instance::worst_case(&recipe.name, None);
    let mut combinations = instance::combinations(recipe).into_iter();
    let active = combinations.next().expect("combinations always has the active one");
    if let Some(missing) = instance::missing_files(recipe, &active).first() {
        return Err(RecipeError::at(
            recipe.dir.join(&sample.path),
            active.line,
            format!("COMPOSE_FILE names `{missing}`, which does not exist in the recipe"),
        ));
    }
    let doc = instance::render(recipe, &instance, &active)?;

    let services = services(&doc);
    let (versions, commit) = versions_summary(recipe, &git_ref);
    let upgrade_base = overrides.upgrade_base.clone().or_else(|| base_release(recipe, &git_ref));
    let tiers = tiers(recipe, &git_ref, &versions, upgrade_base.as_deref(), &services, overrides);
    let secrets = secrets::secret_specs(&doc, &sample.env, &recipe.dir.join(&sample.path))?
        .into_iter()
        .map(|s| SecretPlan { key: s.key, name: s.name, version: s.version, generator: s.generator })
        .collect();
    Ok(Plan {
        recipe: recipe.name.clone(),
        commit,
        versions,
        upgrade_base,
        tiers,
        env_sample: env_sample_note(&sample.path.to_string_lossy()),
        compose_files: active.files.clone(),
        optional_combinations: combinations
            .filter(|c| c.commented)
            .map(|c| OptionalCombination { compose_file: c.files.join(":"), line: c.line })
            .collect(),
        services,
        secrets,
        configs: configs(&doc, &instance.stack_name, &recipe.dir),
        timeout: timeout(&doc, &instance.stack_name, overrides),
        overrides: overrides.clone(),
        instance,
        git_ref,
    })
}

fn versions_summary(recipe: &Recipe, git_ref: &str) -> (VersionsSummary, Option<String>) {
    match &recipe.versions {
        VersionInfo::Unknown { reason } => (
            VersionsSummary {
                releases: Vec::new(),
                unknown: Some(reason.clone()),
                notes: Vec::new(),
                ref_is_release: false,
            },
            None,
        ),
        VersionInfo::Known(v) => {
            let ref_is_release = v.release_named(git_ref).is_some();
            (
                VersionsSummary {
                    releases: v.releases.iter().map(|r| r.version.tag.clone()).collect(),
                    unknown: None,
                    notes: v.notes.iter().map(|n| n.message()).collect(),
                    ref_is_release,
                },
                Some(v.head.clone()),
            )
        }
    }
}

fn base_release(recipe: &Recipe, git_ref: &str) -> Option<String> {
    let versions = recipe.versions.known()?;
    versions.latest_release_before(Some(git_ref)).map(|r| r.version.tag.clone())
}

fn tiers(
    recipe: &Recipe,
    git_ref: &str,
    versions: &VersionsSummary,
    upgrade_base: Option<&str>,
    services: &[ServicePlan],
    overrides: &Overrides,
) -> Vec<TierPlan> {
    let runs = |why: String| Decision::Runs { why };
    let skipped = |reason: String| Decision::Skipped { reason };
    let backed_up: Vec<&str> = services.iter().filter(|s| s.backup).map(|s| s.name.as_str()).collect();
    Tier::ALL
        .iter()
        .map(|&tier| {
            let overridden = overrides.skip_tiers.iter().find(|(t, _)| *t == tier);
            let decision = match (tier, overridden) {
                (_, Some((_, reason))) => skipped(format!("per-recipe config: {reason}")),
                (Tier::Install, _) => runs(format!("deploy {git_ref} and wait until it serves")),
                (Tier::Upgrade, _) => match (upgrade_base, &versions.unknown) {
                    (Some(base), _) => runs(format!("deploy {base}, then upgrade in place to {git_ref}")),
                    (None, Some(reason)) => skipped(format!("versions unknown: {reason}")),
                    (None, None) if versions.releases.is_empty() => skipped("never released".to_string()),
                    (None, None) => skipped(format!("no release older than {git_ref}")),
                },
                (Tier::Backup | Tier::Restore, _) if backed_up.is_empty() => skipped("no backupbot labels".to_string()),
                (Tier::Backup, _) => runs(format!("backupbot.backup on: {}", backed_up.join(", "))),
                (Tier::Restore, _) => runs("restore the backup taken in the backup tier".to_string()),
                (Tier::Custom, _) if recipe.has_tests_dir => {
                    runs("the recipe's tests/ and the CI's checks".to_string())
                }
                (Tier::Custom, _) => runs("CI checks only: the recipe has no tests/".to_string()),
            };
            TierPlan { tier, decision }
        })
        .collect()
}

fn services(doc: &Value) -> Vec<ServicePlan> {
    let Some(map) = doc.get("services").and_then(Value::as_mapping) else {
        return Vec::new();
    };
    map.iter()
        .filter_map(|(name, def)| {
            let labels = deploy_labels(def);
            Some(ServicePlan {
                name: name.as_str()?.to_string(),
                image: def.get("image").and_then(Value::as_str).map(str::to_string),
                backup: label(&labels, "backupbot.backup").is_some_and(|v| v.trim() == "true"),
            })
        })
        .collect()
}

/// `path` relative to the recipe directory when it lies inside it (the rendered document holds
/// absolute paths, as `docker stack config` prints them: lexically absolute, symlinks kept). The
/// directory may be given relative or reached through a symlink, so each spelling is tried.
fn relative_to(dir: &std::path::Path, path: &str) -> String {
    let path = std::path::Path::new(path);
    let lexical = crate::compose::clean(&crate::compose::absolute(dir));
    let spellings = [Some(lexical), dir.canonicalize().ok()];
    spellings
        .iter()
        .flatten()
        .find_map(|d| path.strip_prefix(d).ok())
        .map_or_else(|| path.display().to_string(), |p| p.display().to_string())
}

fn configs(doc: &Value, stack: &str, dir: &std::path::Path) -> Vec<ConfigPlan> {
    let Some(map) = doc.get("configs").and_then(Value::as_mapping) else {
        return Vec::new();
    };
    map.iter()
        .filter_map(|(key, def)| {
            let key = key.as_str()?;
            let name = def.get("name").and_then(Value::as_str).map(str::to_string).unwrap_or(format!("{stack}_{key}"));
            let version = name.strip_prefix(&format!("{stack}_{key}_")).filter(|v| !v.is_empty()).map(str::to_string);
            let file = def.get("file").and_then(Value::as_str).map(|f| relative_to(dir, f));
            Some(ConfigPlan { key: key.to_string(), name, version, file })
        })
        .collect()
}

fn timeout(doc: &Value, stack: &str, overrides: &Overrides) -> Timeout {
    if let Some(seconds) = overrides.timeout_secs {
        let from = overrides.source.as_deref().unwrap_or("per-recipe config");
        return Timeout { seconds, source: format!("{from}: timeout") };
    }
    let key = format!("coop-cloud.{stack}.timeout");
    let app = doc.get("services").and_then(|s| s.get("app"));
    let value = app.map(deploy_labels).and_then(|labels| label(&labels, &key).map(str::to_string));
    match value.as_deref().map(|v| (v, v.trim().parse::<u64>())) {
        Some((_, Ok(seconds))) => {
            Timeout { seconds, source: "label coop-cloud.${STACK_NAME}.timeout on app".to_string() }
        }
        Some((v, Err(_))) => Timeout {
            seconds: DEFAULT_TIMEOUT_SECS,
            source: format!("default: label coop-cloud.${{STACK_NAME}}.timeout={v:?} is not a number of seconds"),
        },
        None => Timeout {
            seconds: DEFAULT_TIMEOUT_SECS,
            source: "default: no coop-cloud.${STACK_NAME}.timeout label".to_string(),
        },
    }
}

fn env_sample_note(path: &str) -> EnvSampleNote {
    let note = (path != ".env.sample")
        .then(|| format!("non-standard location: abra reads .env.sample at the recipe's top; the CI uses {path}"));
    EnvSampleNote { path: path.to_string(), note }
}

impl Plan {
    /// The plan for humans, one fact per line.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let mut line = |s: String| {
            out.push_str(&s);
            out.push('\n');
        };
        line(format!("recipe: {}", self.recipe));
        match &self.commit {
            Some(c) => line(format!("ref: {} ({})", self.git_ref, &c[..c.len().min(12)])),
            None => line(format!("ref: {}", self.git_ref)),
        }
        match &self.versions.unknown {
            Some(reason) => line(format!("versions: unknown ({reason})")),
            None if self.versions.releases.is_empty() => line("versions: no releases".to_string()),
            None => line(format!("versions: {}", self.versions.releases.join(", "))),
        }
        for note in &self.versions.notes {
            line(format!("  note: {note}"));
        }
        line(format!("upgrade base: {}", self.upgrade_base.as_deref().unwrap_or("none")));
        line("tiers:".to_string());
        for t in &self.tiers {
            match &t.decision {
                Decision::Runs { why } => line(format!("  {:<8} runs: {why}", t.tier.to_string())),
                Decision::Skipped { reason } => line(format!("  {:<8} skipped: {reason}", t.tier.to_string())),
            }
        }
        line(format!("instance: {} (stack {})", self.instance.domain, self.instance.stack_name));
        line(format!("env sample: {}", self.env_sample.path));
        if let Some(note) = &self.env_sample.note {
            line(format!("  note: {note}"));
        }
        line(format!("compose files: {}", self.compose_files.join(":")));
        for c in &self.optional_combinations {
            line(format!("  optional (not used): {}", c.compose_file));
        }
        line("services:".to_string());
        for s in &self.services {
            let backup = if s.backup { " [backup]" } else { "" };
            line(format!("  {}: {}{backup}", s.name, s.image.as_deref().unwrap_or("(no image)")));
        }
        line("secrets:".to_string());
        for s in &self.secrets {
            let how = match &s.generator {
                Generator::Password { length, charset } => {
                    format!("generate {length} chars ({charset:?})").to_lowercase()
                }
                Generator::Passphrase { words } => format!("generate a {words}-word passphrase"),
                Generator::Insert => "insert (generate=false)".to_string(),
            };
            line(format!("  {} version {}: {how}", s.key, s.version.as_deref().unwrap_or("unset")));
        }
        line("configs:".to_string());
        for c in &self.configs {
            line(format!("  {} version {}", c.key, c.version.as_deref().unwrap_or("none")));
        }
        line(format!("timeout: {}s ({})", self.timeout.seconds, self.timeout.source));
        match &self.overrides.source {
            Some(source) => line(format!("overrides: {source}")),
            None => line("overrides: none (per-recipe config not available yet)".to_string()),
        }
        out
    }
}
