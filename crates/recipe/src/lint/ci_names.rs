//! Name-length rules. R015 (abra): every secret name, with the longest stack name abra derives
//! (45 characters), fits Docker's 64. C001 (CI pre-flight): every other Docker name a deployment
//! creates (services, configs, networks, volumes) fits its limit under the CI's domain scheme
//! (see [`crate::instance`] for the base-domain assumption; `--base-domain` checks a real one).
//! Secrets are R015's alone so one long name gives one finding.

use std::collections::BTreeSet;

use serde_norway::Value;

use super::{Ctx, Level, Report};
use crate::interpolate::{self, Dialect};
use crate::naming::{self, ObjectKind, MAX_SECRET_NAME};

pub(super) fn check(ctx: &Ctx<'_>, report: &mut Report) {
    secret_names(ctx, report);
    other_names(ctx, report);
}

/// R015 on the raw secrets of every compose file, versions from the sample (commented keys too).
fn secret_names(ctx: &Ctx<'_>, report: &mut Report) {
    let mut env = ctx.env.clone();
    for entry in ctx.recipe.env_sample.iter().flat_map(|s| s.env.entries.iter()) {
        env.entry(entry.key.clone()).or_insert_with(|| entry.value.clone());
    }
    let stack = &ctx.instance.stack_name;
    for cf in &ctx.recipe.compose_files {
        let Some(secrets) = cf.doc.get("secrets").and_then(Value::as_mapping) else {
            continue;
        };
        for (key, def) in secrets {
            let Some(key) = key.as_str() else { continue };
            let template =
                def.get("name").and_then(Value::as_str).map(str::to_string).unwrap_or(format!("{stack}_{key}"));
            let Ok(name) = interpolate::substitute(&template, &env, Dialect::DockerStack) else {
                continue;
            };
            let length = name.chars().count();
            if length <= MAX_SECRET_NAME {
                continue;
            }
            report.add(
                "R015",
                Level::Error,
                &cf.path,
                super::line_of(&cf.text, &["secrets", key]),
                format!(
                    "secret `{key}` would be named with {length} characters (over Docker's {MAX_SECRET_NAME}) \
                     for a {}-character stack name: `{name}`",
                    stack.chars().count()
                ),
                format!("shorten the secret key `{key}` by at least {} characters", length - MAX_SECRET_NAME),
            );
        }
    }
}

/// C001 on every rendered combination.
fn other_names(ctx: &Ctx<'_>, report: &mut Report) {
    let mut seen = BTreeSet::new();
    for combo in &ctx.renders {
        for check in naming::docker_names(&ctx.instance.stack_name, &combo.doc) {
            if check.fits || check.kind == ObjectKind::Secret || !seen.insert((check.kind, check.name.clone())) {
                continue;
            }
            let (section, noun) = match check.kind {
                ObjectKind::Service => ("services", "service"),
                ObjectKind::Config => ("configs", "config"),
                ObjectKind::Network => ("networks", "network"),
                ObjectKind::Volume => ("volumes", "volume"),
                ObjectKind::Secret => ("secrets", "secret"),
            };
            let (file, line) = ctx.locate_in(&combo.combination.files, &[section, &check.key]);
            report.add(
                "C001",
                Level::Error,
                file,
                line,
                format!(
                    "{noun} `{}` would be named `{}`: {} characters, over the limit of {} (stack `{}`, COMPOSE_FILE={})",
                    check.key,
                    check.name,
                    check.length,
                    check.limit,
                    ctx.instance.stack_name,
                    combo.combination.files.join(":")
                ),
                format!("shorten `{}` by at least {} characters", check.key, check.length - check.limit),
            );
        }
    }
}
