//! Loading compose files the way Docker's stack loader does: parse, interpolate with the app env
//! only, normalise, and merge overlays in order. The result equals what `docker stack config` prints.
//!
//! Per file, in Docker's order: YAML 1.1 parse ([`yaml`]), version check, forbidden properties,
//! interpolation with typed casts ([`interp`]), then reading each section into Docker's printed
//! form ([`normalise`], driven by the [`spec`] tables, which also type-check like Docker's
//! schema), environment resolution and path resolution. Files are then merged ([`merge`]).

mod golang;
mod interp;
mod merge;
mod normalise;
mod short;
mod spec;
mod yaml;

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde_norway::{Mapping, Value};

use crate::{RecipeError, Result};
use normalise::key;

/// The merged, interpolated, normalised compose document of an app.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// The document in Docker's normalised form (the value `docker stack config` prints).
    pub doc: serde_norway::Value,
    /// The compose files merged, in order, relative to the recipe directory.
    pub files: Vec<PathBuf>,
}

impl Rendered {
    /// The document as YAML text.
    pub fn to_yaml(&self) -> String {
        serde_norway::to_string(&self.doc).unwrap_or_default()
    }
}

const FORBIDDEN: &[&str] =
    &["extends", "volume_driver", "volumes_from", "cpu_quota", "cpu_shares", "cpuset", "mem_limit", "memswap_limit"];

const TOP_LEVEL: &[&str] = &["version", "services", "networks", "volumes", "secrets", "configs"];

/// One file read into Docker's form, before merging.
struct Loaded {
    version: String,
    services: BTreeMap<String, Mapping>,
    sections: [(&'static str, Mapping); 4],
    extras: Mapping,
}

/// Load and merge `compose_files` (paths relative to `recipe_dir`, in order) interpolated with `env`
/// and nothing else.
pub fn load(recipe_dir: &Path, compose_files: &[String], env: &BTreeMap<String, String>) -> Result<Rendered> {
    let first = compose_files.first().ok_or_else(|| RecipeError::new("no compose files given"))?;
    let working_dir = clean(&absolute(&recipe_dir.join(first))).parent().map(Path::to_path_buf).unwrap_or_default();
    let mut merged: Option<Loaded> = None;
    for file in compose_files {
        let path = recipe_dir.join(file);
        // Inside the recipe, size-capped, UTF-8: the same guards as every other recipe file.
        let text = crate::files::read_text(recipe_dir, Path::new(file))?;
        let loaded = load_one(&text, &working_dir, env).map_err(|message| RecipeError::at(&path, None, message))?;
        merged = Some(match merged {
            None => loaded,
            Some(base) => {
                if base.version != loaded.version {
                    return Err(RecipeError::at(
                        &path,
                        None,
                        format!(
                            "version mismatched between two composefiles : {} and {}",
                            base.version, loaded.version
                        ),
                    ));
                }
                merge_files(base, loaded)
            }
        });
    }
    let merged = merged.expect("at least one file");
    Ok(Rendered { doc: Value::Mapping(print(merged)), files: compose_files.iter().map(PathBuf::from).collect() })
}

fn load_one(text: &str, working_dir: &Path, env: &BTreeMap<String, String>) -> std::result::Result<Loaded, String> {
    let raw = yaml::parse(text)?;
    let version = match raw.get("version") {
        None => "3.13".to_string(),
        Some(v) => match golang::sprint(v).as_str() {
            "" | "3" => "3.13".to_string(),
            other => other.to_string(),
        },
    };
    check_version(&version)?;
    check_forbidden(&raw)?;
    let doc = interp::interpolate_doc(&raw, env)?;
    for k in doc.keys() {
        let name = k.as_str().unwrap_or_default();
        if !name.starts_with("x-") && !TOP_LEVEL.contains(&name) {
            return Err(format!("(root) Additional property {name} is not allowed"));
        }
    }
    let section = |name: &str| -> std::result::Result<Mapping, String> {
        match doc.get(name) {
            None => Ok(Mapping::new()),
            Some(Value::Mapping(m)) => Ok(m.clone()),
            Some(_) => Err(format!("{name} must be a mapping")),
        }
    };
    let mut services = BTreeMap::new();
    for (name, def) in section("services")? {
        let name = golang::sprint(&name);
        services.insert(name.clone(), service(&name, &def, working_dir, env)?);
    }
    let sections = [
        ("networks", top_entries(&section("networks")?, "networks", working_dir)?),
        ("volumes", top_entries(&section("volumes")?, "volumes", working_dir)?),
        ("secrets", top_entries(&section("secrets")?, "secrets", working_dir)?),
        ("configs", top_entries(&section("configs")?, "configs", working_dir)?),
    ];
    Ok(Loaded { version, services, sections, extras: normalise::extras(&Value::Mapping(doc)) })
}

fn check_version(version: &str) -> std::result::Result<(), String> {
    let minor = version.strip_prefix("3.").and_then(|m| m.parse::<u32>().ok());
    match minor {
        Some(m) if m <= 13 && !version.ends_with('.') => Ok(()),
        _ => Err(format!("unsupported Compose file version: {version}")),
    }
}

fn check_forbidden(raw: &Mapping) -> std::result::Result<(), String> {
    let Some(Value::Mapping(services)) = raw.get("services") else { return Ok(()) };
    let mut found: Vec<&str> = services
        .values()
        .filter_map(Value::as_mapping)
        .flat_map(|s| FORBIDDEN.iter().copied().filter(|f| s.contains_key(*f)))
        .collect();
    found.sort();
    found.dedup();
    if found.is_empty() {
        return Ok(());
    }
    Err(format!("Configuration contains forbidden properties: {}", found.join(", ")))
}

/// One service: fields, `x-` extras, environment from the app env, bind paths made absolute.
fn service(
    name: &str,
    def: &Value,
    working_dir: &Path,
    env: &BTreeMap<String, String>,
) -> std::result::Result<Mapping, String> {
    let path = format!("services.{name}");
    if !def.is_mapping() {
        return Err(format!("{path} must be a mapping"));
    }
    let mut svc = normalise::fields(def, spec::SERVICE, &path)?;
    resolve_environment(&mut svc, working_dir, env)?;
    if let Some(Value::Sequence(volumes)) = svc.get_mut("volumes") {
        for v in volumes.iter_mut().filter_map(Value::as_mapping_mut) {
            if v.get("type").and_then(Value::as_str) != Some("bind") {
                continue;
            }
            let source = v.get("source").and_then(Value::as_str).unwrap_or_default().to_string();
            if source.is_empty() {
                return Err(r#"invalid mount config for type "bind": field Source must not be empty"#.into());
            }
            let source = match (source.strip_prefix('~'), env.get("HOME")) {
                (Some(rest), Some(home)) => format!("{home}{rest}"),
                _ => source,
            };
            let resolved = if source.starts_with('/') || is_windows_abs(&source) {
                source
            } else {
                clean(&working_dir.join(&source)).to_string_lossy().into_owned()
            };
            v.insert(key("source"), Value::String(resolved));
        }
    }
    svc.extend(normalise::extras(def));
    Ok(svc)
}

fn is_windows_abs(p: &str) -> bool {
    let b = p.as_bytes();
    b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && (b[2] == b'/' || b[2] == b'\\')
}

/// Docker's `resolveEnvironment`: `env_file` entries, then `environment`; keys without a value
/// (or with an empty one) take the app env's value when it has the key.
fn resolve_environment(
    svc: &mut Mapping,
    working_dir: &Path,
    env: &BTreeMap<String, String>,
) -> std::result::Result<(), String> {
    let mut entries: Vec<(Value, Value)> = Vec::new();
    if let Some(Value::Sequence(files)) = svc.get("env_file") {
        for f in files.iter().filter_map(Value::as_str) {
            let path = if Path::new(f).is_absolute() { PathBuf::from(f) } else { clean(&working_dir.join(f)) };
            let text = std::fs::read_to_string(&path).map_err(|e| format!("open {}: {e}", path.display()))?;
            for line in text.lines().map(str::trim_start).filter(|l| !l.is_empty() && !l.starts_with('#')) {
                let (k, v) = match line.split_once('=') {
                    Some((k, v)) => (k.to_string(), Value::String(v.to_string())),
                    None => (line.trim_end().to_string(), Value::Null),
                };
                entries.push((Value::String(k), v));
            }
        }
    }
    if let Some(Value::Mapping(m)) = svc.get("environment") {
        entries.extend(m.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    if entries.is_empty() {
        return Ok(());
    }
    let mut resolved = Mapping::new();
    for (k, v) in entries {
        let from_env = env.get(k.as_str().unwrap_or_default());
        let empty = v.is_null() || v.as_str() == Some("");
        let v = match from_env {
            Some(val) if empty => Value::String(val.clone()),
            _ => v,
        };
        resolved.insert(k, v);
    }
    svc.insert(key("environment"), Value::Mapping(resolved));
    Ok(())
}

/// Top-level `networks`/`volumes`/`secrets`/`configs` entries in Docker's form.
fn top_entries(section: &Mapping, kind: &str, working_dir: &Path) -> std::result::Result<Mapping, String> {
    let fields = match kind {
        "networks" => spec::NETWORK,
        "volumes" => spec::VOLUME_DEF,
        _ => spec::FILE_OBJECT,
    };
    let mut out = Mapping::new();
    for (name, def) in section {
        let name = golang::sprint(name);
        let path = format!("{kind}.{name}");
        let mut without_external = def.as_mapping().cloned().unwrap_or_default();
        let external = without_external.remove("external");
        if !def.is_null() && !def.is_mapping() {
            return Err(format!("{path} must be a mapping"));
        }
        let mut entry = normalise::fields(&Value::Mapping(without_external), fields, &path)?;
        let (is_external, external_name) = match &external {
            None => (false, None),
            Some(Value::Bool(b)) => (*b, None),
            Some(Value::Mapping(m)) => (true, m.get("name").map(golang::sprint)),
            Some(_) => return Err(format!("{path}.external must be a boolean or mapping")),
        };
        let keeps_extras = kind == "secrets" || kind == "configs" || is_external;
        if is_external {
            if kind == "volumes" {
                for conflict in ["driver", "driver_opts", "labels"] {
                    if entry.contains_key(conflict) {
                        return Err(format!(
                            "conflicting parameters \"external\" and \"{conflict}\" specified for volume \"{name}\""
                        ));
                    }
                }
            }
            match external_name.filter(|n| !n.is_empty()) {
                Some(n) if entry.contains_key("name") => {
                    let _ = n;
                    let singular = kind.trim_end_matches('s');
                    return Err(format!("{singular} {name}: {singular}.external.name and {singular}.name conflict; only use {singular}.name"));
                }
                Some(n) => {
                    entry.insert(key("name"), Value::String(n));
                }
                None if !entry.contains_key("name") => {
                    entry.insert(key("name"), Value::String(name.clone()));
                }
                None => {}
            }
            entry.insert(key("external"), Value::Bool(true));
        } else if kind == "secrets" || kind == "configs" {
            let has_driver = entry.contains_key("driver");
            let file = entry.get("file").and_then(Value::as_str).map(str::to_string);
            if has_driver && file.is_some() {
                let singular = kind.trim_end_matches('s');
                return Err(format!(
                    "{singular} {name}: {singular}.driver and {singular}.file conflict; only use {singular}.driver"
                ));
            }
            if !has_driver {
                let file = file.unwrap_or_default();
                let abs =
                    if Path::new(&file).is_absolute() { PathBuf::from(&file) } else { clean(&working_dir.join(&file)) };
                entry.insert(key("file"), Value::String(abs.to_string_lossy().into_owned()));
            }
        }
        if keeps_extras {
            entry.extend(normalise::extras(def));
        }
        out.insert(Value::String(name), Value::Mapping(entry));
    }
    Ok(out)
}

fn merge_files(mut base: Loaded, over: Loaded) -> Loaded {
    for (name, svc) in over.services {
        let merged = match base.services.get(&name) {
            Some(existing) => merge::service(existing, &svc, spec::SERVICE),
            None => svc,
        };
        base.services.insert(name, merged);
    }
    for (i, (_, entries)) in over.sections.into_iter().enumerate() {
        base.sections[i].1.extend(entries);
    }
    base
}

fn print(doc: Loaded) -> Mapping {
    let mut out = Mapping::new();
    out.insert(key("version"), Value::String(doc.version));
    let services: Mapping = doc.services.into_iter().map(|(k, v)| (Value::String(k), Value::Mapping(v))).collect();
    out.insert(key("services"), Value::Mapping(services));
    for (name, entries) in doc.sections {
        if !entries.is_empty() {
            out.insert(key(name), Value::Mapping(entries));
        }
    }
    out.extend(doc.extras);
    out
}

pub(crate) fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Lexical path cleaning like Go's `filepath.Clean` (no symlinks resolved).
pub(crate) fn clean(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}
