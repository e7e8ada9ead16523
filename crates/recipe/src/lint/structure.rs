//! Rules on the shape of the compose files as written: R001 (version 3.8), R002 (healthchecks),
//! R009 (a service named `app`), R010 (traefik enabled), R011 (every service has an image).
//! A service may be spread over several files (overlays extend it); a property counts when any
//! file gives it.

use std::path::{Path, PathBuf};

use serde_norway::Value;

use super::{Ctx, Level, Report};
use crate::labels::deploy_labels;

/// A service as one compose file writes it.
pub(super) struct RawService<'a> {
    pub file: &'a Path,
    pub text: &'a str,
    pub name: &'a str,
    pub def: &'a Value,
}

/// Every service definition of every compose file, in file order.
pub(super) fn raw_services<'a>(ctx: &Ctx<'a>) -> Vec<RawService<'a>> {
    let mut out = Vec::new();
    for cf in &ctx.recipe.compose_files {
        let Some(services) = cf.doc.get("services").and_then(Value::as_mapping) else {
            continue;
        };
        for (name, def) in services {
            if let Some(name) = name.as_str() {
                out.push(RawService { file: &cf.path, text: &cf.text, name, def });
            }
        }
    }
    out
}

/// The distinct service names, in order of first appearance.
fn service_names<'a>(services: &[RawService<'a>]) -> Vec<&'a str> {
    let mut names: Vec<&str> = Vec::new();
    for s in services {
        if !names.contains(&s.name) {
            names.push(s.name);
        }
    }
    names
}

pub(super) fn check(ctx: &Ctx<'_>, report: &mut Report) {
    version(ctx, report);
    let services = raw_services(ctx);
    let first_def = |name: &str| services.iter().find(|s| s.name == name);
    let line_of_service = |s: &RawService<'_>| super::line_of(s.text, &["services", s.name]);

    for name in service_names(&services) {
        let defs: Vec<_> = services.iter().filter(|s| s.name == name).collect();
        let first = first_def(name).expect("name comes from services");
        if !defs.iter().any(|s| s.def.get("healthcheck").is_some()) {
            report.add(
                "R002",
                Level::Warning,
                first.file,
                line_of_service(first),
                format!("service `{name}` has no healthcheck"),
                format!("add a `healthcheck:` to `{name}` so deploys wait for it to be healthy"),
            );
        }
        if !defs.iter().any(|s| s.def.get("image").is_some()) {
            report.add(
                "R011",
                Level::Error,
                first.file,
                line_of_service(first),
                format!("service `{name}` has no image"),
                format!("give `{name}` an `image:` with a pinned tag"),
            );
        }
    }

    let main = PathBuf::from("compose.yml");
    if !services.is_empty() && !services.iter().any(|s| s.name == "app") {
        let line = ctx.recipe.compose_file(&main).and_then(|c| super::line_of(&c.text, &["services"]));
        report.add(
            "R009",
            Level::Error,
            &main,
            line,
            "no service is named `app`",
            "rename the main web service to `app` (abra deploys, labels and injects env into `app`)",
        );
    }

    let traefik_on =
        services.iter().any(|s| deploy_labels(s.def).iter().any(|(k, v)| k == "traefik.enable" && v.trim() == "true"));
    if !services.is_empty() && !traefik_on {
        let (file, line) = first_def("app")
            .map(|s| (s.file.to_path_buf(), super::line_of(s.text, &["services", "app", "deploy"])))
            .unwrap_or((main, None));
        report.add(
            "R010",
            Level::Error,
            file,
            line,
            "no service has the label `traefik.enable=true`",
            "add `traefik.enable=true` and the router labels to the public service's deploy.labels, \
             or skip R010 for a recipe that is not served over HTTP",
        );
    }
}

/// R001: every compose file declares `version: "3.8"`.
fn version(ctx: &Ctx<'_>, report: &mut Report) {
    for cf in &ctx.recipe.compose_files {
        let found = match cf.doc.get("version") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        if found.as_deref() == Some("3.8") {
            continue;
        }
        let message = match found {
            Some(v) => format!("compose file version is \"{v}\", not \"3.8\""),
            None => "compose file declares no version".to_string(),
        };
        report.add(
            "R001",
            Level::Warning,
            &cf.path,
            super::line_of(&cf.text, &["version"]).or(Some(1)),
            message,
            "set `version: \"3.8\"` at the top of the file",
        );
    }
}
