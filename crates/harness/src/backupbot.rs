//! backup-bot-two's label semantics, read from an app's rendered document: which services take
//! part in backups (and their hooks), which volumes are backed up and which paths inside them.
//!
//! - `backupbot.backup=true` on a service (in `deploy.labels`, map or list form) turns backups on
//!   for the app; every such service's hooks run inside its running container (`sh -c`):
//!   `backupbot.backup.pre-hook`, `backupbot.backup.post-hook`, `backupbot.restore.pre-hook`,
//!   `backupbot.restore.post-hook`.
//! - All of the stack's own (non-external) volumes are backed up unless a backup service says
//!   `backupbot.backup.volumes.<vol>=false`; `backupbot.backup.volumes.<vol>.path=a,b` limits a
//!   volume to those paths (relative to the volume root).
//! - The older `backupbot.backup.path=/abs/a,/abs/b` names paths inside the service's container;
//!   when any service uses it, only those paths are backed up, each mapped to the named volume
//!   mounted over it. A path outside every named volume cannot be backed up from a volume and is
//!   listed in [`BackupPlan::unmapped`].
//!
//! Pure: no Docker here; the tiers carry the plan out.

use std::collections::BTreeMap;

use serde_norway::Value;

const ENABLE: &str = "backupbot.backup";
const LEGACY_PATH: &str = "backupbot.backup.path";
const VOLUMES: &str = "backupbot.backup.volumes.";

/// A service taking part in backups, with its hooks (shell command lines).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BackupService {
    pub name: String,
    pub backup_pre_hook: Option<String>,
    pub backup_post_hook: Option<String>,
    pub restore_pre_hook: Option<String>,
    pub restore_post_hook: Option<String>,
}

/// A volume to back up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupVolume {
    /// The volume's key in the compose file (`db-data`).
    pub key: String,
    /// The Docker volume's name (`<stack>_db-data`, or the volume's `name:`).
    pub full_name: String,
    /// Paths relative to the volume root; empty means the whole volume.
    pub paths: Vec<String>,
    /// A service mounting it (a backup service first) and where: `(service, target)`.
    pub mounted_by: Option<(String, String)>,
    /// The image of that service (used for the volume helper container).
    pub image: Option<String>,
}

/// What a backup of the app covers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BackupPlan {
    pub services: Vec<BackupService>,
    pub volumes: Vec<BackupVolume>,
    /// Legacy paths that lie in no named volume (`service:/path`).
    pub unmapped: Vec<String>,
}

impl BackupPlan {
    /// Whether any service turns backups on.
    pub fn enabled(&self) -> bool {
        !self.services.is_empty()
    }
}

/// The labels of `service` in `doc` (`deploy.labels`, map or `k=v` list form).
pub fn service_labels(doc: &Value, service: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Some(labels) =
        doc.get("services").and_then(|s| s.get(service)).and_then(|s| s.get("deploy")).and_then(|d| d.get("labels"))
    else {
        return out;
    };
    match labels {
        Value::Mapping(m) => {
            for (k, v) in m {
                if let Some(k) = k.as_str() {
                    out.insert(k.to_string(), scalar(v));
                }
            }
        }
        Value::Sequence(items) => {
            for item in items.iter().filter_map(Value::as_str) {
                let (k, v) = item.split_once('=').unwrap_or((item, ""));
                out.insert(k.to_string(), v.to_string());
            }
        }
        _ => {}
    }
    out
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

/// The named-volume mounts of `service`: `(volume key, target)`, short or long syntax.
pub fn volume_mounts(doc: &Value, service: &str) -> Vec<(String, String)> {
    let declared = |k: &str| doc.get("volumes").and_then(|v| v.get(k)).is_some();
    let Some(Value::Sequence(items)) = doc.get("services").and_then(|s| s.get(service)).and_then(|s| s.get("volumes"))
    else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| match item {
            Value::String(s) => {
                let mut parts = s.splitn(3, ':');
                let (source, target) = (parts.next()?, parts.next()?);
                Some((source.to_string(), target.to_string()))
            }
            Value::Mapping(_) => {
                let typ = item.get("type").and_then(Value::as_str).unwrap_or("volume");
                (typ == "volume").then_some(())?;
                Some((item.get("source")?.as_str()?.to_string(), item.get("target")?.as_str()?.to_string()))
            }
            _ => None,
        })
        .filter(|(source, _)| declared(source))
        .collect()
}

/// Service names in document order.
pub fn service_names(doc: &Value) -> Vec<String> {
    doc.get("services")
        .and_then(Value::as_mapping)
        .map(|m| m.keys().filter_map(|k| k.as_str().map(String::from)).collect())
        .unwrap_or_default()
}

fn is_true(v: Option<&String>) -> bool {
    v.is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "true" | "1" | "yes" | "on"))
}

fn split_list(v: &str) -> Vec<String> {
    v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
}

/// The stack's own volumes in document order: `(key, Docker name)`.
pub fn stack_volumes(doc: &Value, stack: &str) -> Vec<(String, String)> {
    let Some(Value::Mapping(m)) = doc.get("volumes") else {
        return Vec::new();
    };
    m.iter()
        .filter_map(|(k, v)| {
            let key = k.as_str()?;
            let external = v.get("external").is_some_and(|e| e.as_bool() == Some(true) || e.is_mapping());
            if external {
                return None;
            }
            let name = v.get("name").and_then(Value::as_str).map_or_else(|| format!("{stack}_{key}"), String::from);
            Some((key.to_string(), name))
        })
        .collect()
}

/// The backup plan of `doc` deployed as `stack`.
pub fn plan(doc: &Value, stack: &str) -> BackupPlan {
    let names = service_names(doc);
    let mut plan = BackupPlan::default();
    let mut excluded = Vec::new();
    let mut limits: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut legacy: Vec<(String, String)> = Vec::new();
    for name in &names {
        let labels = service_labels(doc, name);
        if !is_true(labels.get(ENABLE)) {
            continue;
        }
        plan.services.push(BackupService {
            name: name.clone(),
            backup_pre_hook: labels.get("backupbot.backup.pre-hook").cloned(),
            backup_post_hook: labels.get("backupbot.backup.post-hook").cloned(),
            restore_pre_hook: labels.get("backupbot.restore.pre-hook").cloned(),
            restore_post_hook: labels.get("backupbot.restore.post-hook").cloned(),
        });
        for (k, v) in &labels {
            if let Some(rest) = k.strip_prefix(VOLUMES) {
                if let Some(vol) = rest.strip_suffix(".path") {
                    limits.entry(vol.to_string()).or_default().extend(split_list(v));
                } else if v.trim().eq_ignore_ascii_case("false") {
                    excluded.push(rest.to_string());
                }
            }
        }
        if let Some(paths) = labels.get(LEGACY_PATH) {
            legacy.extend(split_list(paths).into_iter().map(|p| (name.clone(), p)));
        }
    }
    if !plan.enabled() {
        return plan;
    }
    let backup_services: Vec<&String> = plan.services.iter().map(|s| &s.name).collect();
    let mounted_by = |key: &str| {
        let ordered = backup_services.iter().copied().chain(names.iter().filter(|n| !backup_services.contains(n)));
        ordered.into_iter().find_map(|svc| {
            volume_mounts(doc, svc).into_iter().find(|(k, _)| k == key).map(|(_, target)| (svc.clone(), target))
        })
    };
    let image = |svc: &str| doc.get("services")?.get(svc)?.get("image")?.as_str().map(String::from);
    for (key, full_name) in stack_volumes(doc, stack) {
        if excluded.contains(&key) {
            continue;
        }
        let mounted = mounted_by(&key);
        let img = mounted.as_ref().and_then(|(svc, _)| image(svc));
        let paths = limits.get(&key).cloned().unwrap_or_default();
        plan.volumes.push(BackupVolume { key, full_name, paths, mounted_by: mounted, image: img });
    }
    if !legacy.is_empty() {
        apply_legacy(doc, &mut plan, &legacy);
    }
    plan
}

/// Legacy mode: only the listed container paths, each mapped into the volume mounted over it.
fn apply_legacy(doc: &Value, plan: &mut BackupPlan, legacy: &[(String, String)]) {
    let mut wanted: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (svc, path) in legacy {
        let path = path.trim_end_matches('/');
        let best = volume_mounts(doc, svc)
            .into_iter()
            .filter(|(_, target)| {
                let t = target.trim_end_matches('/');
                path == t || path.starts_with(&format!("{t}/"))
            })
            .max_by_key(|(_, target)| target.len());
        match best {
            Some((key, target)) => {
                let rel = path[target.trim_end_matches('/').len()..].trim_start_matches('/').to_string();
                let entry = wanted.entry(key).or_default();
                if rel.is_empty() {
                    entry.push(String::new());
                } else {
                    entry.push(rel);
                }
            }
            None => plan.unmapped.push(format!("{svc}:{path}")),
        }
    }
    plan.volumes.retain(|v| wanted.contains_key(&v.key));
    for v in &mut plan.volumes {
        let rels = &wanted[&v.key];
        // A path equal to the mount target means the whole volume.
        v.paths = if rels.iter().any(String::is_empty) { Vec::new() } else { rels.clone() };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Value {
        serde_norway::from_str(text).unwrap()
    }

    const APP_DB: &str = r#"
services:
  app:
    image: a:1
    deploy: {labels: ["traefik.enable=true", "coop-cloud.s.version=1.0.0"]}
  db:
    image: db:1
    volumes: [{type: volume, source: db-data, target: /var/lib/db}, {type: bind, source: /x, target: /y}]
    deploy:
      labels:
        backupbot.backup: "true"
        backupbot.backup.pre-hook: /db-backup.sh backup
        backupbot.backup.volumes.db-data.path: backup.tar
        backupbot.restore.post-hook: /db-backup.sh restore
volumes:
  db-data: {}
  cache: {}
  shared: {external: true}
"#;

    #[test]
    fn map_form_labels_hooks_and_path_limits() {
        let p = plan(&doc(APP_DB), "s");
        assert_eq!(p.services.len(), 1);
        assert_eq!(p.services[0].backup_pre_hook.as_deref(), Some("/db-backup.sh backup"));
        assert_eq!(p.services[0].restore_post_hook.as_deref(), Some("/db-backup.sh restore"));
        let keys: Vec<&str> = p.volumes.iter().map(|v| v.key.as_str()).collect();
        assert_eq!(keys, ["db-data", "cache"], "every stack volume, externals excluded");
        assert_eq!(p.volumes[0].full_name, "s_db-data");
        assert_eq!(p.volumes[0].paths, ["backup.tar"]);
        assert_eq!(p.volumes[0].mounted_by, Some(("db".into(), "/var/lib/db".into())));
        assert_eq!(p.volumes[0].image.as_deref(), Some("db:1"));
        assert_eq!(p.volumes[1].mounted_by, None);
    }

    #[test]
    fn list_form_exclusion_and_no_labels() {
        let d = doc("services: {app: {image: a:1, volumes: ['data:/srv', 'other:/o:ro'], deploy: {labels: \
             ['backupbot.backup=true', 'backupbot.backup.volumes.other=false', \
             'backupbot.backup.volumes.data.path=a, b']}}}\nvolumes: {data: {name: custom}, other: {}}");
        let p = plan(&d, "s");
        assert_eq!(p.volumes.len(), 1);
        assert_eq!(p.volumes[0].full_name, "custom");
        assert_eq!(p.volumes[0].paths, ["a", "b"]);
        assert_eq!(volume_mounts(&d, "app"), [("data".into(), "/srv".into()), ("other".into(), "/o".into())]);
        let off = doc("services: {app: {image: a:1, deploy: {labels: {backupbot.backup: 'false'}}}}");
        assert!(!plan(&off, "s").enabled());
    }

    #[test]
    fn legacy_paths_map_into_volumes() {
        let d = doc("services: {app: {image: a:1, volumes: ['data:/srv/data', 'logs:/var/log'], deploy: {labels: \
             {backupbot.backup: 'true', backupbot.backup.path: '/srv/data/db,/srv/data/files,/etc/app'}}}}\n\
             volumes: {data: {}, logs: {}}");
        let p = plan(&d, "s");
        assert_eq!(p.volumes.len(), 1, "only volumes holding a legacy path: {p:?}");
        assert_eq!(p.volumes[0].paths, ["db", "files"]);
        assert_eq!(p.unmapped, ["app:/etc/app"]);
    }
}
