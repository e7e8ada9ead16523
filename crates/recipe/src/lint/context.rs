//! What the lint rules look at besides the raw files: the app env built from `.env.sample`, the
//! `COMPOSE_FILE` combinations it mentions, and each combination rendered (interpolated and
//! merged) under the CI's worst-case app name.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::instance::{self, Combination, Instance};
use crate::lint::LintOptions;
use crate::recipe::Recipe;
use crate::Result;

/// One `COMPOSE_FILE` combination rendered.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedCombo {
    pub combination: Combination,
    pub doc: serde_norway::Value,
}

/// Everything a rule may read.
pub struct Ctx<'a> {
    pub recipe: &'a Recipe,
    pub options: &'a LintOptions,
    /// The app instance the renders were made for.
    pub instance: Instance,
    /// The app env (sample + abra.sh + instance names); empty without `.env.sample`.
    pub env: BTreeMap<String, String>,
    /// Every combination the sample mentions, with the files that do not exist.
    pub combinations: Vec<(Combination, Vec<String>)>,
    /// Renders of the combinations whose files all exist; empty when rendering is impossible.
    pub renders: Vec<RenderedCombo>,
    render_skip: Option<String>,
}

impl<'a> Ctx<'a> {
    pub fn new(recipe: &'a Recipe, options: &'a LintOptions) -> Result<Ctx<'a>> {
        let instance = Instance::worst_case(&recipe.name, options.base_domain.as_deref());
        let env = instance::app_env(recipe, &instance);
        let combinations: Vec<_> = instance::combinations(recipe)
            .into_iter()
            .map(|c| {
                let missing = instance::missing_files(recipe, &c);
                (c, missing)
            })
            .collect();
        let mut renders = Vec::new();
        let render_skip = if recipe.env_sample.is_none() {
            Some("no .env.sample to render the compose files with".to_string())
        } else {
            for (combination, missing) in &combinations {
                if missing.is_empty() {
                    let doc = instance::render(recipe, &instance, combination)?;
                    renders.push(RenderedCombo { combination: combination.clone(), doc });
                }
            }
            renders.is_empty().then(|| "no COMPOSE_FILE combination has all its files".to_string())
        };
        Ok(Ctx { recipe, options, instance, env, combinations, renders, render_skip })
    }

    /// Why render-based rules could not run, if they could not.
    pub fn render_skip_reason(&self) -> Option<String> {
        self.render_skip.clone()
    }

    /// The relative path of the env sample, for findings about it.
    pub fn env_sample_path(&self) -> PathBuf {
        self.recipe.env_sample.as_ref().map(|s| s.path.clone()).unwrap_or_else(|| PathBuf::from(".env.sample"))
    }

    /// The last file of `combination` whose raw YAML has the key path, with its line.
    pub fn locate_in(&self, files: &[String], path: &[&str]) -> (PathBuf, Option<usize>) {
        for file in files.iter().rev() {
            if let Some(cf) = self.recipe.compose_file(Path::new(file)) {
                if let Some(line) = super::exact_line_of(&cf.text, path) {
                    return (cf.path.clone(), Some(line));
                }
            }
        }
        let first = files.first().map(PathBuf::from).unwrap_or_else(|| PathBuf::from("compose.yml"));
        (first, None)
    }
}
