//! The CI's app-instance names (SPEC D1) and the check that every Docker name a deployment
//! would create fits Docker's limits.
//!
//! A run's app lives at `<recipe[:4]>-<6 hex>.<base domain>`, the hex being the start of a
//! SHA-256 over (recipe, PR, ref, run id), so concurrent runs of one recipe never share a domain.
//! The stack name is derived from the domain as abra does it ([`crate::app_env::stack_name`]). The harness calls
//! [`docker_names`] on the rendered compose document and refuses to deploy when any name overflows.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// Docker's limit on secret and config names.
pub const MAX_SECRET_NAME: usize = 64;
/// Docker's limit on service names (a DNS label).
pub const MAX_SERVICE_NAME: usize = 63;
/// Networks and volumes have no documented engine limit; their names become file names under
/// `/var/lib/docker`, so 255 (a file-name component) is the bound checked.
pub const MAX_FILE_NAME: usize = 255;

/// What identifies one run, for its domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunIdentity<'a> {
    pub recipe: &'a str,
    /// The pull request number, if the run is for one.
    pub pr: Option<u64>,
    /// The git ref under test.
    pub git_ref: &'a str,
    pub run_id: &'a str,
}

/// The first four characters of the recipe name made DNS-safe (lowercase `a-z0-9-`), without
/// leading or trailing hyphens: `app-db` gives `app`, never `app-`, whose domain label `app--<hex>`
/// would have hyphens in the places DNS reserves for IDNA (`xn--`).
fn recipe_prefix(recipe: &str) -> String {
    let four: String = recipe
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(4)
        .collect();
    let cleaned = four.trim_matches('-');
    if cleaned.is_empty() {
        "app".to_string()
    } else {
        cleaned.to_string()
    }
}

/// Six hex digits identifying the run.
pub fn run_hash(id: &RunIdentity<'_>) -> String {
    let mut hasher = Sha256::new();
    let pr = id.pr.map(|n| n.to_string()).unwrap_or_default();
    for part in [id.recipe, &pr, id.git_ref, id.run_id] {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    hasher.finalize()[..3].iter().map(|b| format!("{b:02x}")).collect()
}

/// The app domain of a run: `<recipe[:4]>-<6 hex>.<base domain>`.
pub fn app_domain(id: &RunIdentity<'_>, base_domain: &str) -> String {
    format!("{}-{}.{}", recipe_prefix(id.recipe), run_hash(id), base_domain.trim_matches('.'))
}

/// The kind of Docker object a name belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ObjectKind {
    Service,
    Secret,
    Config,
    Network,
    Volume,
}

/// One name a deployment would create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NameCheck {
    pub kind: ObjectKind,
    /// The key in the compose document (`app`, `db_password`, ...).
    pub key: String,
    /// The name Docker would get.
    pub name: String,
    pub length: usize,
    pub limit: usize,
    pub fits: bool,
}

impl NameCheck {
    fn new(kind: ObjectKind, key: &str, name: String, limit: usize) -> NameCheck {
        let length = name.chars().count();
        NameCheck { kind, key: key.to_string(), name, length, limit, fits: length <= limit }
    }
}

fn mapping<'a>(
    doc: &'a serde_norway::Value,
    section: &str,
) -> impl Iterator<Item = (&'a str, &'a serde_norway::Value)> {
    doc.get(section).and_then(|v| v.as_mapping()).into_iter().flatten().filter_map(|(k, v)| Some((k.as_str()?, v)))
}

fn is_external(def: &serde_norway::Value) -> bool {
    match def.get("external") {
        Some(serde_norway::Value::Bool(b)) => *b,
        Some(serde_norway::Value::Mapping(_)) => true,
        _ => false,
    }
}

fn explicit_name(def: &serde_norway::Value) -> Option<String> {
    def.get("name").and_then(|n| n.as_str()).map(str::to_string)
}

/// Every name a `docker stack deploy` of `doc` (a rendered compose document) as `stack` creates or
/// needs, with its limit. Secrets and configs use their `name:` when set (Docker then uses it
/// verbatim), else `<stack>_<key>`; external networks and volumes are not created and not listed.
/// External secrets are listed: the deployer creates them.
pub fn docker_names(stack: &str, doc: &serde_norway::Value) -> Vec<NameCheck> {
    let mut out = Vec::new();
    let prefixed = |key: &str| format!("{stack}_{key}");
    for (key, _) in mapping(doc, "services") {
        out.push(NameCheck::new(ObjectKind::Service, key, prefixed(key), MAX_SERVICE_NAME));
    }
    for (section, kind) in [("secrets", ObjectKind::Secret), ("configs", ObjectKind::Config)] {
        for (key, def) in mapping(doc, section) {
            let name = explicit_name(def).unwrap_or_else(|| prefixed(key));
            out.push(NameCheck::new(kind, key, name, MAX_SECRET_NAME));
        }
    }
    for (section, kind) in [("networks", ObjectKind::Network), ("volumes", ObjectKind::Volume)] {
        for (key, def) in mapping(doc, section) {
            if is_external(def) {
                continue;
            }
            let name = explicit_name(def).unwrap_or_else(|| prefixed(key));
            out.push(NameCheck::new(kind, key, name, MAX_FILE_NAME));
        }
    }
    out
}

/// The names of `checks` that do not fit, for a refusal message.
pub fn overflows(checks: &[NameCheck]) -> Vec<&NameCheck> {
    checks.iter().filter(|c| !c.fits).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> RunIdentity<'static> {
        RunIdentity { recipe: "custom-php", pr: Some(7), git_ref: "abc123", run_id: "r1" }
    }

    #[test]
    fn prefix_never_ends_in_a_hyphen() {
        assert_eq!(recipe_prefix("app-db"), "app");
        assert_eq!(recipe_prefix("-x.y"), "x-y");
        assert_eq!(recipe_prefix("---"), "app");
        assert_eq!(recipe_prefix("Go-SSB-room"), "go-s");
    }

    #[test]
    fn domain_has_prefix_hash_and_base() {
        let domain = app_domain(&id(), "ci.example.org");
        let (label, base) = domain.split_once('.').unwrap();
        assert_eq!(base, "ci.example.org");
        assert!(label.starts_with("cust-"));
        assert_eq!(label.len(), 11);
        assert!(label[5..].chars().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn each_identity_part_changes_the_hash() {
        let base = run_hash(&id());
        assert_eq!(base, run_hash(&id()));
        assert_ne!(base, run_hash(&RunIdentity { pr: None, ..id() }));
        assert_ne!(base, run_hash(&RunIdentity { git_ref: "def", ..id() }));
        assert_ne!(base, run_hash(&RunIdentity { run_id: "r2", ..id() }));
        assert_ne!(base, run_hash(&RunIdentity { recipe: "custom-phq", ..id() }));
    }

    #[test]
    fn names_over_limits_are_flagged() {
        let doc: serde_norway::Value = serde_norway::from_str(
            "services: {app: {}}\nsecrets:\n  db_root_password: {external: true, name: STACK_db_root_password_v1}\n\
             configs:\n  nginx: {file: x}\nnetworks: {proxy: {external: true}, internal: {}}\nvolumes: {data: {}}\n",
        )
        .unwrap();
        let checks = docker_names(&"s".repeat(45), &doc);
        let kinds: Vec<_> = checks.iter().map(|c| (c.kind, c.key.as_str())).collect();
        assert_eq!(
            kinds,
            [
                (ObjectKind::Service, "app"),
                (ObjectKind::Secret, "db_root_password"),
                (ObjectKind::Config, "nginx"),
                (ObjectKind::Network, "internal"),
                (ObjectKind::Volume, "data")
            ]
        );
        assert!(checks.iter().all(|c| c.fits), "{checks:?}");
        let long = docker_names(&"s".repeat(60), &doc);
        let over: Vec<_> = overflows(&long).iter().map(|c| c.key.as_str()).collect();
        assert_eq!(over, ["app", "nginx"]);
    }
}
