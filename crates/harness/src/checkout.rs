//! The run's private copy of the recipe (SPEC D3): a clone at the ref under test, or a copy of the
//! working tree as it is when no ref is given (a "chaos" deploy, as abra calls deploying an
//! unreleased checkout). Also snapshots the recipe's `tests/` right after checkout.

use std::path::{Path, PathBuf};
use std::process::Command;

use recipe::git;

use crate::error::RunError;

/// What was checked out.
#[derive(Debug, Clone)]
pub struct Checkout {
    pub dir: PathBuf,
    /// The recipe name (the source's last path segment without `.git`).
    pub name: String,
    /// The commit checked out, when the source is a git repository.
    pub commit: Option<String>,
    /// Whether the tree has changes not in `commit` (working-tree runs only).
    pub dirty: bool,
}

impl Checkout {
    /// Short commit for the chaos version label, `+U` when the tree has uncommitted changes.
    pub fn chaos_version(&self) -> String {
        let short = self.commit.as_deref().map(|c| &c[..c.len().min(8)]).unwrap_or("unknown");
        if self.dirty {
            format!("{short}+U")
        } else {
            short.to_string()
        }
    }
}

/// The recipe name of a directory path or git URL.
pub fn recipe_name(source: &str) -> String {
    let trimmed = source.trim_end_matches('/');
    let last = Path::new(trimmed)
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| trimmed.rsplit(['/', ':']).next().unwrap_or(trimmed).to_string());
    last.trim_end_matches(".git").to_string()
}

/// Check out `source` (a directory or git URL) at `git_ref` into `dest`, privately.
pub fn checkout(source: &str, git_ref: Option<&str>, dest: &Path) -> Result<Checkout, RunError> {
    let name = recipe_name(source);
    let is_dir = Path::new(source).is_dir();
    if is_dir && git_ref.is_none() {
        copy_tree(Path::new(source), dest)?;
        let commit = git::resolve_commit(dest, "HEAD").ok();
        let dirty = commit.is_some()
            && git::run(dest, &["status", "--porcelain"]).map(|s| !s.trim().is_empty()).unwrap_or(false);
        return Ok(Checkout { dir: dest.to_path_buf(), name, commit, dirty });
    }
    let url = if is_dir { absolute(source) } else { source.to_string() };
    git::clone_at(&url, dest, git_ref).map_err(|e| RunError::Input(e.to_string()))?;
    let commit = git::resolve_commit(dest, "HEAD").ok();
    Ok(Checkout { dir: dest.to_path_buf(), name, commit, dirty: false })
}

/// Where the recipe came from on disk: `source` when it is a directory, else the checkout.
pub fn origin(source: &str, checkout: &Path) -> PathBuf {
    let dir = Path::new(source);
    if dir.is_dir() {
        dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf())
    } else {
        checkout.to_path_buf()
    }
}

/// Copy the recipe's `tests/` (if any) to `dest`, so later tiers see it as it was at checkout.
pub fn snapshot_tests(checkout: &Path, dest: &Path) -> Result<bool, RunError> {
    let tests = checkout.join("tests");
    if !tests.is_dir() {
        return Ok(false);
    }
    copy_tree(&tests, dest)?;
    Ok(true)
}

fn absolute(path: &str) -> String {
    Path::new(path).canonicalize().map(|p| p.to_string_lossy().into_owned()).unwrap_or_else(|_| path.to_string())
}

fn copy_tree(from: &Path, to: &Path) -> Result<(), RunError> {
    std::fs::create_dir_all(to).map_err(|e| RunError::Infra(format!("creating {}: {e}", to.display())))?;
    // `cp -a src/. dest` copies contents including dotfiles and keeps symlinks as links.
    let status = Command::new("cp")
        .arg("-a")
        .arg(from.join("."))
        .arg(to)
        .status()
        .map_err(|e| RunError::Infra(format!("running cp: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(RunError::Input(format!("cannot copy {} ({status})", from.display())))
    }
}
