//! The run's secret values file (mode 0600, in the private work dir, never in the output dir):
//! every value the run creates, under its compose key and its Docker secret name, for
//! `ccci run-secret` (recipe tests read the app's secrets through it).

use std::collections::BTreeMap;
use std::path::Path;

/// Names the run's private work dir; `ccci run-secret` reads [`SECRETS_FILE`] there.
pub const RUN_DIR_ENV: &str = "CCCI_RUN_DIR";
/// The file name, in the work dir.
pub const SECRETS_FILE: &str = "secrets.json";

/// Record a secret value under each of `names` (created 0600, replaced atomically).
pub fn record_secret(workdir: &Path, names: &[&str], value: &str) -> std::io::Result<()> {
    let path = workdir.join(SECRETS_FILE);
    let mut all: BTreeMap<String, String> =
        std::fs::read_to_string(&path).ok().and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default();
    for n in names {
        all.insert((*n).to_string(), value.to_string());
    }
    crate::durable::write_atomically(&path, serde_json::to_string(&all).unwrap_or_default().as_bytes(), 0o600)
}

/// The value recorded under `name` (a compose secret key, or a Docker secret name).
pub fn read_secret(run_dir: &Path, name: &str) -> Option<String> {
    let text = std::fs::read_to_string(run_dir.join(SECRETS_FILE)).ok()?;
    let all: BTreeMap<String, String> = serde_json::from_str(&text).ok()?;
    all.get(name).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_secrets_file_is_private_and_readable_by_name() {
        let d = tempfile::tempdir().unwrap();
        record_secret(d.path(), &["db_password", "s_db_password_v1"], "v1").unwrap();
        record_secret(d.path(), &["other"], "v2").unwrap();
        assert_eq!(read_secret(d.path(), "s_db_password_v1").as_deref(), Some("v1"));
        assert_eq!(read_secret(d.path(), "other").as_deref(), Some("v2"));
        assert_eq!(read_secret(d.path(), "nope"), None);
        let mode = std::fs::metadata(d.path().join(SECRETS_FILE)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
