//! Files kept with a run: describing one for result.json, and redacting every kept text file at the
//! end of the run, since recipe tests and hooks may write what they like into the artifacts
//! directory. Compressed archives and images are kept as they are (a secret inside them is not
//! stored as plain text; a screenshot showing one cannot be redacted).

use std::path::Path;

use crate::redact::Redactor;
use crate::result::Artifact;

/// File endings of binary formats left unredacted.
const BINARY_ENDINGS: [&str; 7] = [".gz", ".tgz", ".zst", ".png", ".jpg", ".jpeg", ".webp"];

/// `path` (inside the output directory that holds `artifacts_dir`) as a result.json artifact.
pub fn describe(artifacts_dir: &Path, path: &Path, kind: &str) -> Option<Artifact> {
    let bytes = std::fs::metadata(path).ok()?.len();
    let rel = path.strip_prefix(artifacts_dir.parent()?).ok()?.to_string_lossy().into_owned();
    Some(Artifact { path: rel, kind: kind.into(), bytes })
}

/// Redact every registered secret value from every non-binary file under `dir`. Returns how many
/// files were changed.
pub fn redact_tree(dir: &Path, redactor: &Redactor) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut changed = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_dir() {
            changed += redact_tree(&path, redactor);
        } else if kind.is_file() && !is_binary(&path) {
            changed += usize::from(redact_file(&path, redactor));
        }
    }
    changed
}

fn is_binary(path: &Path) -> bool {
    let name = path.to_string_lossy().to_ascii_lowercase();
    BINARY_ENDINGS.iter().any(|e| name.ends_with(e))
}

fn redact_file(path: &Path, redactor: &Redactor) -> bool {
    let Ok(bytes) = std::fs::read(path) else {
        return false;
    };
    let clean = redactor.redact_bytes(&bytes);
    clean != bytes && std::fs::write(path, clean).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_files_are_redacted_in_place_and_archives_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("custom");
        std::fs::create_dir_all(&nested).unwrap();
        std::fs::write(nested.join("out.txt"), "token=s3cr3t-value-42\n").unwrap();
        std::fs::write(dir.path().join("backup.tar.gz"), "s3cr3t-value-42").unwrap();
        let r = Redactor::new();
        r.register("s3cr3t-value-42");
        assert_eq!(redact_tree(dir.path(), &r), 1);
        assert_eq!(std::fs::read_to_string(nested.join("out.txt")).unwrap(), "token=[redacted]\n");
        assert_eq!(std::fs::read_to_string(dir.path().join("backup.tar.gz")).unwrap(), "s3cr3t-value-42");
    }
}
