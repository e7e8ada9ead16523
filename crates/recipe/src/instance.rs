//! The hypothetical app instance that lint and plan reason about (no Docker involved): its
//! domain and stack name under the CI's naming scheme, the `COMPOSE_FILE` combinations the
//! recipe's `.env.sample` mentions and the app env (both from [`crate::app_env`]), and a
//! combination rendered through [`crate::compose::load`].
//!
//! The worst case for names: C001 and the plan assume a base domain of [`WORST_CASE_BASE_DOMAIN`]
//! (45 characters). Any base domain of 34 characters or more makes the CI's domain
//! (`<4>-<6 hex>.<base>`, 12 characters + base) longer than abra's 45-character stack-name cap, so
//! the stack name is then exactly 45 characters: the longest stack name abra ever derives.

use std::collections::BTreeMap;

use serde::Serialize;

pub use crate::app_env::Combination;
use crate::env::EnvFile;
use crate::naming::{self, RunIdentity};
use crate::recipe::Recipe;
use crate::{app_env, compose, Result};

/// The base domain assumed when none is given: long enough to hit the stack-name cap.
pub const WORST_CASE_BASE_DOMAIN: &str = "ci-runners.example-cooperative.coopcloud.tech";

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
        Instance { stack_name: app_env::stack_name(&domain), domain }
    }
}

/// The files of `combination` that do not exist in the recipe directory.
pub fn missing_files(recipe: &Recipe, combination: &Combination) -> Vec<String> {
    combination.files.iter().filter(|f| !recipe.dir.join(f).is_file()).cloned().collect()
}

/// The `COMPOSE_FILE` combinations the recipe's env sample names (the active one first; just
/// `compose.yml` without a sample).
pub fn combinations(recipe: &Recipe) -> Vec<Combination> {
    let empty = EnvFile::default();
    let file = recipe.env_sample.as_ref().map_or(&empty, |s| &s.env);
    app_env::compose_combinations(file)
}

/// The app env abra would build for `instance`: the sample's active keys, `abra.sh` exports on
/// top, then `DOMAIN` and `STACK_NAME` of the instance.
pub fn app_env(recipe: &Recipe, instance: &Instance) -> BTreeMap<String, String> {
    let empty = EnvFile::default();
    let file = recipe.env_sample.as_ref().map_or(&empty, |s| &s.env);
    let exports = recipe.abra_sh.clone().unwrap_or_default();
    app_env::build(file, &exports, Some(&instance.domain))
}

/// Render `combination` for `instance`: interpolate with the app env and merge.
pub fn render(recipe: &Recipe, instance: &Instance, combination: &Combination) -> Result<serde_norway::Value> {
    let mut env = app_env(recipe, instance);
    env.insert("COMPOSE_FILE".to_string(), combination.files.join(":"));
    Ok(compose::load(&recipe.dir, &combination.files, &env)?.doc)
}
