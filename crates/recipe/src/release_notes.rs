//! Release notes: `release/<tag>` files, one per version, free text. Hidden files such as
//! `release/.git-keep-me` only keep the folder in git and are ignored, as are sub-folders.

use std::fs;
use std::path::Path;

use serde::Serialize;

use crate::{files, RecipeError, Result};

/// The notes of one release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReleaseNote {
    /// The tag the notes belong to (the file name).
    pub tag: String,
    pub text: String,
}

/// Read `release/` of the recipe at `root`, sorted by tag name; empty when there is no folder.
pub fn load(root: &Path) -> Result<Vec<ReleaseNote>> {
    let dir = root.join("release");
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let entries = fs::read_dir(&dir).map_err(|e| RecipeError::at(&dir, None, format!("cannot list: {e}")))?;
    let mut notes = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| RecipeError::at(&dir, None, format!("cannot list: {e}")))?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if name.starts_with('.') || entry.path().is_dir() {
            continue;
        }
        let text = files::read_text(root, &Path::new("release").join(&name))?;
        notes.push(ReleaseNote { tag: name, text });
    }
    notes.sort_by(|a, b| a.tag.cmp(&b.tag));
    Ok(notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_files_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("release")).unwrap();
        fs::write(dir.path().join("release/.git-keep-me"), "").unwrap();
        fs::write(dir.path().join("release/1.0.0+2"), "first").unwrap();
        let notes = load(dir.path()).unwrap();
        assert_eq!(notes, vec![ReleaseNote { tag: "1.0.0+2".into(), text: "first".into() }]);
    }
}
