//! Reading a recipe's files defensively: every file the engine reads goes through here, so a
//! hostile or broken checkout cannot make it read outside the recipe (symlink escape), read a
//! huge file into memory (size cap) or choke on bytes that are not text (UTF-8 check). Each refusal
//! is a [`RecipeError`] naming the file, and the line for bad UTF-8.

use std::fs;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use crate::{RecipeError, Result};

/// The largest file the engine reads. Real recipe files are a few kilobytes; a megabyte of YAML
/// or env is certainly a mistake (or an attack), so 1 MiB leaves ample room.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// How deep below the recipe root compose overlays are searched for.
const MAX_DEPTH: usize = 4;

/// `root.join(rel)`, refusing absolute paths and `..` components in `rel`.
pub fn join_inside(root: &Path, rel: &Path) -> Result<PathBuf> {
    if rel.components().any(|c| !matches!(c, Component::Normal(_) | Component::CurDir)) {
        return Err(RecipeError::at(rel, None, "path leaves the recipe directory (absolute or contains `..`)"));
    }
    Ok(root.join(rel))
}

/// Check that `path` (inside `root`), after resolving symlinks, stays inside `root`.
pub fn check_inside(root: &Path, path: &Path) -> Result<()> {
    let root_real =
        root.canonicalize().map_err(|e| RecipeError::at(root, None, format!("cannot read recipe directory: {e}")))?;
    let real = path.canonicalize().map_err(|e| RecipeError::at(path, None, format!("cannot resolve: {e}")))?;
    if real.starts_with(&root_real) {
        Ok(())
    } else {
        Err(RecipeError::at(path, None, format!("symlink points outside the recipe directory (to {})", real.display())))
    }
}

/// Read the text file `rel` of the recipe at `root`: inside the recipe, at most
/// [`MAX_FILE_BYTES`], valid UTF-8. Errors name the file as `root/rel`.
pub fn read_text(root: &Path, rel: &Path) -> Result<String> {
    let path = join_inside(root, rel)?;
    check_inside(root, &path)?;
    let meta = fs::metadata(&path).map_err(|e| RecipeError::at(&path, None, format!("cannot read: {e}")))?;
    if !meta.is_file() {
        return Err(RecipeError::at(&path, None, "not a regular file"));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(RecipeError::at(
            &path,
            None,
            format!("file is {} bytes, over the {} byte limit for recipe files", meta.len(), MAX_FILE_BYTES),
        ));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    fs::File::open(&path)
        .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| RecipeError::at(&path, None, format!("cannot read: {e}")))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(RecipeError::at(&path, None, "file grew over the size limit while being read"));
    }
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..valid].iter().filter(|&&b| b == b'\n').count() + 1;
        RecipeError::at(&path, Some(line), "not valid UTF-8 text")
    })
}

/// Like [`read_text`], but `Ok(None)` when the file does not exist (a dangling symlink counts
/// as existing, and is refused by the escape check).
pub fn read_text_if_exists(root: &Path, rel: &Path) -> Result<Option<String>> {
    let path = join_inside(root, rel)?;
    if fs::symlink_metadata(&path).is_err() {
        return Ok(None);
    }
    read_text(root, rel).map(Some)
}

/// The files below `root` (relative paths, sorted) whose names satisfy `wanted`, searching at
/// most a few levels deep, skipping hidden directories (`.git`, ...) and never following
/// symlinked directories.
pub fn find_files(root: &Path, wanted: impl Fn(&str) -> bool) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    walk(root, Path::new(""), 0, &wanted, &mut found)?;
    found.sort();
    Ok(found)
}

fn walk(root: &Path, rel: &Path, depth: usize, wanted: &dyn Fn(&str) -> bool, found: &mut Vec<PathBuf>) -> Result<()> {
    let dir = root.join(rel);
    let entries = fs::read_dir(&dir).map_err(|e| RecipeError::at(&dir, None, format!("cannot list: {e}")))?;
    for entry in entries {
        let entry = entry.map_err(|e| RecipeError::at(&dir, None, format!("cannot list: {e}")))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let file_type = entry.file_type().map_err(|e| RecipeError::at(entry.path(), None, e.to_string()))?;
        let child = rel.join(name);
        if file_type.is_dir() {
            if depth + 1 < MAX_DEPTH && !name.starts_with('.') {
                walk(root, &child, depth + 1, wanted, found)?;
            }
        } else if wanted(name) {
            found.push(child);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_components_are_refused() {
        let err = join_inside(Path::new("/r"), Path::new("../etc/passwd")).unwrap_err();
        assert!(err.to_string().contains("leaves the recipe"));
    }

    #[test]
    fn bad_utf8_reports_its_line() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("f"), b"ok\nok\n\xff\n").unwrap();
        let err = read_text(dir.path(), Path::new("f")).unwrap_err();
        assert_eq!(err.location.unwrap().line, Some(3));
    }
}
