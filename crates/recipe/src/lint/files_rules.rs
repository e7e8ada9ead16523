//! Rules on the recipe's files: R007 (README metadata filled in), R008 (`.env.sample` present),
//! R012 (config versions vendored in `abra.sh`), C003 (every `COMPOSE_FILE` entry exists) and
//! C004 (every config `file:` exists).

use std::path::Path;

use serde_norway::Value;

use super::{Ctx, Level, Report};
use crate::interpolate::{self, Dialect};
use crate::metadata::EXPECTED_KEYS;

pub(super) fn check(ctx: &Ctx<'_>, report: &mut Report) {
    readme(ctx, report);
    if ctx.recipe.env_sample.is_none() {
        report.add(
            "R008",
            Level::Error,
            ".env.sample",
            None,
            "no .env.sample: operators have no env template and the CI cannot render the recipe",
            "add a .env.sample with TYPE, DOMAIN, LETS_ENCRYPT_ENV and every key the compose files use",
        );
    }
    vendored_config_versions(ctx, report);
    overlays(ctx, report);
    config_files(ctx, report);
}

/// R007.
fn readme(ctx: &Ctx<'_>, report: &mut Report) {
    let fix = "fill in the block between `<!-- metadata -->` and `<!-- endmetadata -->` \
               (Category, Status, Image, Healthcheck, Backups, Email, Tests, SSO)";
    if ctx.recipe.readme.is_none() {
        report.add("R007", Level::Warning, "README.md", None, "no README.md", fix);
        return;
    }
    let Some(meta) = &ctx.recipe.metadata else {
        report.add("R007", Level::Warning, "README.md", None, "README.md has no metadata block", fix);
        return;
    };
    let unfilled: Vec<(&str, Option<usize>)> = EXPECTED_KEYS
        .iter()
        .filter_map(|key| match meta.get(key) {
            Some(entry) if !entry.value.trim().is_empty() => None,
            Some(entry) => Some((*key, Some(entry.line))),
            None => Some((*key, None)),
        })
        .collect();
    if !unfilled.is_empty() {
        let line = unfilled.iter().find_map(|(_, l)| *l).or(Some(meta.start_line));
        let keys: Vec<&str> = unfilled.iter().map(|(k, _)| *k).collect();
        report.add(
            "R007",
            Level::Warning,
            "README.md",
            line,
            format!("README metadata not filled in: {}", keys.join(", ")),
            fix,
        );
    }
}

/// A variable referenced in an interpolation template, and whether it has a default.
fn var_refs(template: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(i) = rest.find('$') {
        rest = &rest[i + 1..];
        if let Some(inner) = rest.strip_prefix('{') {
            let end = inner.find('}').unwrap_or(inner.len());
            let expr = &inner[..end];
            let name_len = expr.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(expr.len());
            let op = &expr[name_len..];
            out.push((expr[..name_len].to_string(), op.starts_with(":-") || op.starts_with('-')));
            rest = &inner[end..];
        } else if rest.starts_with('$') {
            rest = &rest[1..];
        } else {
            let len = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
            if len > 0 {
                out.push((rest[..len].to_string(), false));
            }
        }
    }
    out
}

/// R012: a config name's version variable must come from abra.sh (or have a default).
fn vendored_config_versions(ctx: &Ctx<'_>, report: &mut Report) {
    let exported = |key: &str| ctx.recipe.abra_sh.iter().flatten().any(|(k, _)| k == key);
    for cf in &ctx.recipe.compose_files {
        let Some(configs) = cf.doc.get("configs").and_then(Value::as_mapping) else {
            continue;
        };
        for (key, def) in configs {
            let (Some(key), Some(name)) = (key.as_str(), def.get("name").and_then(Value::as_str)) else {
                continue;
            };
            for (var, has_default) in var_refs(name) {
                if var == "STACK_NAME" || has_default || exported(&var) {
                    continue;
                }
                let why =
                    if ctx.recipe.abra_sh.is_none() { "there is no abra.sh" } else { "abra.sh does not export it" };
                report.add(
                    "R012",
                    Level::Error,
                    &cf.path,
                    super::line_of(&cf.text, &["configs", key, "name"]),
                    format!("config `{key}` takes its version from `{var}`, but {why}"),
                    format!("add `export {var}=v1` to abra.sh and bump it whenever the config file changes"),
                );
            }
        }
    }
}

/// C003.
fn overlays(ctx: &Ctx<'_>, report: &mut Report) {
    let path = ctx.env_sample_path();
    for (combination, missing) in &ctx.combinations {
        for file in missing {
            let state = if combination.commented { "a commented-out COMPOSE_FILE" } else { "COMPOSE_FILE" };
            report.add(
                "C003",
                Level::Error,
                &path,
                combination.line,
                format!("{state} names `{file}`, which does not exist in the recipe"),
                format!("add `{file}` or correct the COMPOSE_FILE entry"),
            );
        }
    }
}

/// C004: config and secret `file:` paths exist (relative to the recipe directory).
fn config_files(ctx: &Ctx<'_>, report: &mut Report) {
    for cf in &ctx.recipe.compose_files {
        for section in ["configs", "secrets"] {
            let Some(defs) = cf.doc.get(section).and_then(Value::as_mapping) else {
                continue;
            };
            for (key, def) in defs {
                let (Some(key), Some(file)) = (key.as_str(), def.get("file").and_then(Value::as_str)) else {
                    continue;
                };
                let file =
                    interpolate::substitute(file, &ctx.env, Dialect::DockerStack).unwrap_or_else(|_| file.to_string());
                if Path::new(&file).is_absolute() || ctx.recipe.dir.join(&file).is_file() {
                    continue;
                }
                report.add(
                    "C004",
                    Level::Error,
                    &cf.path,
                    super::line_of(&cf.text, &[section, key, "file"]),
                    format!(
                        "{} `{key}` reads `{file}`, which does not exist in the recipe",
                        &section[..section.len() - 1]
                    ),
                    format!("add `{file}` to the recipe or fix the path (relative to the recipe directory)"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variable_references_with_defaults() {
        assert_eq!(
            var_refs("${STACK_NAME}_x_${X_VERSION:-v3}_$Y$$Z"),
            [("STACK_NAME".to_string(), false), ("X_VERSION".to_string(), true), ("Y".to_string(), false)]
        );
    }
}
