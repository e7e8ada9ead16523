//! The app env as abra builds it: the env file's active entries, `abra.sh` `export NAME=value`
//! lines merged on top (they win; other lines are ignored), `DOMAIN` and `STACK_NAME` for the
//! app's domain. Also where a recipe keeps its `.env.sample`, and every `COMPOSE_FILE`
//! combination an env file names (used by the plan and the render-vs-docker tests).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::env::{self, EnvFile};
use crate::{RecipeError, Result};

/// abra truncates stack names to this many characters (unconfirmed in abra; pinned by a test).
pub const STACK_NAME_MAX: usize = 45;

/// Where recipes keep their env skeleton, in the order searched (relative to the recipe).
pub const ENV_SAMPLE_SPOTS: &[&str] = &[".env.sample", "deploy/.env.sample", "env.sample"];

/// The compose file used when `COMPOSE_FILE` is unset.
pub const DEFAULT_COMPOSE_FILE: &str = "compose.yml";

/// `STACK_NAME` for a domain: `.` becomes `_`, cut to [`STACK_NAME_MAX`] characters.
pub fn stack_name(domain: &str) -> String {
    domain.replace('.', "_").chars().take(STACK_NAME_MAX).collect()
}

/// The recipe's `.env.sample`: the path found (relative to the recipe) and its parsed content.
#[derive(Debug, Clone)]
pub struct EnvSample {
    pub relative: PathBuf,
    pub file: EnvFile,
}

/// Find and parse the recipe's env sample; a clear error when it has none.
pub fn env_sample(recipe_dir: &Path) -> Result<EnvSample> {
    for spot in ENV_SAMPLE_SPOTS {
        let path = recipe_dir.join(spot);
        if std::fs::symlink_metadata(&path).is_ok() {
            let text = crate::files::read_text(recipe_dir, Path::new(spot))?;
            let file = env::parse_named(&text, &path)?;
            return Ok(EnvSample { relative: PathBuf::from(spot), file });
        }
    }
    Err(RecipeError::at(
        recipe_dir,
        None,
        format!(
            "the recipe has no .env.sample (looked for {}); give an env file explicitly",
            ENV_SAMPLE_SPOTS.join(", ")
        ),
    ))
}

/// The `export NAME=value` lines of an `abra.sh` text, in order (quotes removed).
pub fn abra_sh_exports(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| {
            let rest = line.trim_start().strip_prefix("export")?;
            if !rest.starts_with([' ', '\t']) {
                return None;
            }
            let parsed = env::parse(rest.trim_start()).ok()?;
            let entry = parsed.entries.into_iter().find(|e| !e.commented)?;
            Some((entry.key, entry.value))
        })
        .collect()
}

/// The exports of `<recipe>/abra.sh`, empty when the recipe has none.
pub fn read_abra_sh(recipe_dir: &Path) -> Result<Vec<(String, String)>> {
    let text = crate::files::read_text_if_exists(recipe_dir, Path::new("abra.sh"))?;
    Ok(text.map(|t| abra_sh_exports(&t)).unwrap_or_default())
}

/// Build the app env: `env_file`'s active entries, `abra_sh` exports on top, then `DOMAIN` and
/// `STACK_NAME` for `domain` when the caller names the instance (the CI's runs, `--domain`).
/// Without one, the env file is the app's own, as abra reads it: an explicit `STACK_NAME` in it
/// wins, and only when it is absent is `STACK_NAME` derived from the env's `DOMAIN`.
pub fn build(env_file: &EnvFile, abra_sh: &[(String, String)], domain: Option<&str>) -> BTreeMap<String, String> {
    let mut env = env_file.active_map();
    env.extend(abra_sh.iter().cloned());
    match domain {
        Some(domain) => {
            env.insert("DOMAIN".into(), domain.to_string());
            env.insert("STACK_NAME".into(), stack_name(domain));
        }
        None => {
            if let (false, Some(domain)) = (env.contains_key("STACK_NAME"), env.get("DOMAIN").cloned()) {
                env.insert("STACK_NAME".into(), stack_name(&domain));
            }
        }
    }
    env
}

/// The compose files an env selects: `COMPOSE_FILE` split on `:`, or `compose.yml`.
pub fn compose_files(env: &BTreeMap<String, String>) -> Vec<String> {
    match env.get("COMPOSE_FILE").filter(|v| !v.is_empty()) {
        Some(v) => v.split(':').filter(|f| !f.is_empty()).map(str::to_string).collect(),
        None => vec![DEFAULT_COMPOSE_FILE.to_string()],
    }
}

/// One `COMPOSE_FILE` choice an env file names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Combination {
    /// The `COMPOSE_FILE` value (expanded against the active entries above its line).
    pub value: String,
    /// The line naming it; `None` for the default when the file sets no `COMPOSE_FILE`.
    pub line: Option<usize>,
    /// True when it comes from a commented-out line.
    pub commented: bool,
    /// The files, in merge order.
    pub files: Vec<String>,
}

/// Every `COMPOSE_FILE` combination `env_file` names: the active value (or the default), then
/// each commented `COMPOSE_FILE=` line as its own chain built on the active value above it.
pub fn compose_combinations(env_file: &EnvFile) -> Vec<Combination> {
    let split = |value: &str| compose_files(&BTreeMap::from([("COMPOSE_FILE".to_string(), value.to_string())]));
    let active = env_file.get("COMPOSE_FILE");
    let mut out = vec![match active {
        Some(e) => Combination { value: e.value.clone(), line: Some(e.line), commented: false, files: split(&e.value) },
        None => Combination {
            value: DEFAULT_COMPOSE_FILE.into(),
            line: None,
            commented: false,
            files: vec![DEFAULT_COMPOSE_FILE.into()],
        },
    }];
    for e in env_file.entries.iter().filter(|e| e.commented && e.key == "COMPOSE_FILE") {
        let combination =
            Combination { value: e.value.clone(), line: Some(e.line), commented: true, files: split(&e.value) };
        if !out.iter().any(|c| c.files == combination.files) {
            out.push(combination);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_name_is_cut_at_45() {
        assert_eq!(stack_name("app.example.com"), "app_example_com");
        let long = format!("{}.example.com", "a".repeat(60));
        assert_eq!(stack_name(&long).len(), 45);
        assert_eq!(STACK_NAME_MAX, 45);
    }

    #[test]
    fn abra_sh_wins_and_functions_are_ignored() {
        let f = env::parse("DOMAIN=x.example.com\nPG_VERSION=v1\n").unwrap();
        let exports = abra_sh_exports("export PG_VERSION=v6\nexport OTHER=\"q\"\nfoo() {\n  export NOPE\n}\necho hi\n");
        assert_eq!(exports, vec![("PG_VERSION".into(), "v6".into()), ("OTHER".into(), "q".into())]);
        let env = build(&f, &exports, None);
        assert_eq!(env["PG_VERSION"], "v6");
        assert_eq!(env["STACK_NAME"], "x_example_com");
        assert_eq!(build(&f, &[], Some("a.b")).get("STACK_NAME").unwrap(), "a_b");
    }

    #[test]
    fn an_explicit_stack_name_in_the_apps_env_wins_unless_the_instance_is_named() {
        let f = env::parse("DOMAIN=x.example.com\nSTACK_NAME=custom\n").unwrap();
        assert_eq!(build(&f, &[], None)["STACK_NAME"], "custom");
        assert_eq!(build(&f, &[], Some("run.ccci.test"))["STACK_NAME"], "run_ccci_test");
    }

    #[test]
    fn combinations_accumulate_from_the_active_value() {
        let f = env::parse(
            "COMPOSE_FILE=\"compose.yml\"\n#COMPOSE_FILE=\"$COMPOSE_FILE:a.yml\"\nCOMPOSE_FILE=\"$COMPOSE_FILE:b.yml\"\n# COMPOSE_FILE=\"$COMPOSE_FILE:c.yml\"\n",
        )
        .unwrap();
        let files: Vec<Vec<String>> = compose_combinations(&f).into_iter().map(|c| c.files).collect();
        assert_eq!(
            files,
            vec![vec!["compose.yml", "b.yml"], vec!["compose.yml", "a.yml"], vec!["compose.yml", "b.yml", "c.yml"]]
        );
    }
}
