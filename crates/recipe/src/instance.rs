//! The hypothetical app instance that lint and plan reason about (no Docker involved): its
//! domain and stack name under the CI's naming scheme, the `COMPOSE_FILE` combinations the
//! recipe's `.env.sample` mentions, the app env, and a combination rendered through
//! [`crate::compose::load`].
//!
//! The worst case for names: C001 and the plan assume a base domain of [`WORST_CASE_BASE_DOMAIN`]
//! (45 characters). Any base domain of 34 characters or more makes the CI's domain
//! (`<4>-<6 hex>.<base>`, 12 characters + base) longer than abra's 45-character stack-name cap, so
//! the stack name is then exactly 45 characters: the longest stack name abra ever derives.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::naming::{self, RunIdentity};
use crate::recipe::Recipe;
use crate::{compose, Result};

/// The base domain assumed when none is given: long enough to hit the stack-name cap.
pub const WORST_CASE_BASE_DOMAIN: &str = "ci-runners.example-cooperative.coopcloud.tech";

/// The env key that selects compose files.
pub const COMPOSE_FILE: &str = "COMPOSE_FILE";

/// An app instance's names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Instance {
    pub domain: String,
    pub stack_name: String,
}

impl Instance {
    /// The CI instance for `recipe` on `base_domain` (worst case when `None`), for a stand-in run.
    pub fn worst_case(recipe: &str, base_domain: Option<&str>) -> Instance {
        let id = RunIdentity { recipe, pr: None, git_ref: "HEAD", run_id: "plan" };
        let domain = naming::app_domain(&id, base_domain.unwrap_or(WORST_CASE_BASE_DOMAIN));
        Instance { stack_name: naming::stack_name(&domain), domain }
    }
}

/// A `COMPOSE_FILE` value: the compose files to merge, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Combination {
    pub files: Vec<String>,
    /// The `.env.sample` line that sets it; `None` for the default (`compose.yml`).
    pub line: Option<usize>,
    /// Whether that line is commented out (an optional feature).
    pub commented: bool,
}

impl Combination {
    /// The files of the combination that do not exist in the recipe directory.
    pub fn missing_files(&self, dir: &Path) -> Vec<String> {
        self.files.iter().filter(|f| !dir.join(f).is_file()).cloned().collect()
    }

    /// `a.yml:b.yml`.
    pub fn joined(&self) -> String {
        self.files.join(":")
    }
}

fn split_files(value: &str) -> Vec<String> {
    value.split(':').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// The combinations `.env.sample` mentions: the active `COMPOSE_FILE` (or `compose.yml` when
/// unset) first, then each commented-out `COMPOSE_FILE=` line in file order, without repeats.
pub fn combinations(recipe: &Recipe) -> Vec<Combination> {
    let mut out: Vec<Combination> = Vec::new();
    let entries = recipe.env_sample.iter().flat_map(|s| s.env.entries.iter());
    let active = entries.clone().filter(|e| !e.commented && e.key == COMPOSE_FILE).last();
    out.push(match active {
        Some(e) => Combination { files: split_files(&e.value), line: Some(e.line), commented: false },
        None => Combination { files: vec!["compose.yml".to_string()], line: None, commented: false },
    });
    for e in entries.filter(|e| e.commented && e.key == COMPOSE_FILE) {
        let files = split_files(&e.value);
        if !out.iter().any(|c| c.files == files) {
            out.push(Combination { files, line: Some(e.line), commented: true });
        }
    }
    out
}

/// The app env abra would use for `instance`: the sample's active keys, then `abra.sh` exports
/// (which win), then `DOMAIN` and `STACK_NAME` of the instance.
pub fn app_env(recipe: &Recipe, instance: &Instance) -> BTreeMap<String, String> {
    let mut env = recipe.env_sample.as_ref().map(|s| s.env.active_map()).unwrap_or_default();
    for export in recipe.abra_sh.iter().flatten() {
        env.insert(export.key.clone(), export.value.clone());
    }
    env.insert("DOMAIN".to_string(), instance.domain.clone());
    env.insert("STACK_NAME".to_string(), instance.stack_name.clone());
    env
}

/// Render `combination` for `instance`: interpolate with the app env and merge.
pub fn render(recipe: &Recipe, instance: &Instance, combination: &Combination) -> Result<serde_norway::Value> {
    let mut env = app_env(recipe, instance);
    env.insert(COMPOSE_FILE.to_string(), combination.joined());
    Ok(compose::load(&recipe.dir, &combination.files, &env)?.doc)
}
