//! Loading a recipe (SPEC R1) from a directory, or from a git URL + ref into a private checkout:
//! its compose files (overlays included, also in sub-folders), `.env.sample`, `abra.sh` exports,
//! `release/` notes, README metadata and its versions from git tags.
//!
//! Every file is read through [`crate::files`] (size cap, symlink escape check, UTF-8), and every
//! compose file is parsed as YAML here, so a recipe that loads is one every later step can read.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::env::{self, EnvFile};
use crate::metadata::{self, Metadata};
use crate::release_notes::{self, ReleaseNote};
use crate::versions::Versions;
use crate::{app_env, files, git, RecipeError, Result};

/// One compose file of the recipe as written (not interpolated, not merged).
#[derive(Debug, Clone, PartialEq)]
pub struct ComposeFile {
    /// Path relative to the recipe directory, e.g. `compose.yml`, `postgres/compose.tune.yml`.
    pub path: PathBuf,
    pub text: String,
    /// The parsed YAML, uninterpolated.
    pub doc: serde_norway::Value,
}

/// The recipe's env template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvSample {
    /// Path relative to the recipe directory (`.env.sample`, or a non-standard place).
    pub path: PathBuf,
    pub text: String,
    pub env: EnvFile,
}

/// What is known of the recipe's versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum VersionInfo {
    /// The recipe is a git checkout; its tags were read.
    Known(Versions),
    /// The versions cannot be known (e.g. a plain directory without `.git`).
    Unknown { reason: String },
}

impl VersionInfo {
    pub fn known(&self) -> Option<&Versions> {
        match self {
            VersionInfo::Known(v) => Some(v),
            VersionInfo::Unknown { .. } => None,
        }
    }
}

/// A loaded recipe.
#[derive(Debug)]
pub struct Recipe {
    /// The recipe name: the directory name, or the last path segment of the git URL.
    pub name: String,
    /// Where the files are (the private checkout for a git load).
    pub dir: PathBuf,
    /// All compose files, `compose.yml` first, then overlays sorted by path.
    pub compose_files: Vec<ComposeFile>,
    pub env_sample: Option<EnvSample>,
    /// `abra.sh` exports (`NAME`, value) in order, if the recipe has an `abra.sh`.
    pub abra_sh: Option<Vec<(String, String)>>,
    pub release_notes: Vec<ReleaseNote>,
    /// `README.md` text, if present.
    pub readme: Option<String>,
    pub metadata: Option<Metadata>,
    pub versions: VersionInfo,
    /// Whether the recipe ships a `tests/` directory.
    pub has_tests_dir: bool,
    /// The ref that was checked out for a git load.
    pub git_ref: Option<String>,
    /// Keeps a private checkout alive as long as the recipe.
    _checkout: Option<tempfile::TempDir>,
}

/// Whether a file name is a compose file abra would consider (`compose.yml`, `compose.*.yml`).
pub fn is_compose_file_name(name: &str) -> bool {
    (name.starts_with("compose.") || name == "compose") && (name.ends_with(".yml") || name.ends_with(".yaml"))
}

/// Where the env sample lives: the first of [`app_env::ENV_SAMPLE_SPOTS`] that exists (a symlink
/// counts, and is then checked by the guarded read).
fn find_env_sample(dir: &Path) -> Option<PathBuf> {
    app_env::ENV_SAMPLE_SPOTS.iter().map(PathBuf::from).find(|spot| std::fs::symlink_metadata(dir.join(spot)).is_ok())
}

impl Recipe {
    /// Load the recipe in directory `dir` as it is on disk (working tree, HEAD for versions).
    pub fn load(dir: &Path) -> Result<Recipe> {
        let name = dir
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| dir.display().to_string());
        Self::load_named(dir, name, None, None)
    }

    /// Load from `source`, a directory or a git URL. A directory is read in place unless a ref is
    /// given, in which case it is cloned (as a repository) into a private checkout at that ref.
    pub fn open(source: &str, git_ref: Option<&str>) -> Result<Recipe> {
        let path = Path::new(source);
        match (path.is_dir(), git_ref) {
            (true, None) => Recipe::load(path),
            (true, Some(_)) if !git::is_work_tree_root(path) => {
                Err(RecipeError::at(path, None, "--ref needs a git checkout, and this directory is not one"))
            }
            _ => Recipe::load_git(source, git_ref),
        }
    }

    /// Clone `url` (a URL or a local repository path) into a fresh private directory, check out
    /// `git_ref` (default branch when `None`) and load it.
    pub fn load_git(url: &str, git_ref: Option<&str>) -> Result<Recipe> {
        let checkout = tempfile::Builder::new()
            .prefix("ccci-recipe-")
            .tempdir()
            .map_err(|e| RecipeError::new(format!("cannot create a checkout directory: {e}")))?;
        let dest = checkout.path().join("recipe");
        let source = match Path::new(url).canonicalize() {
            Ok(local) if local.is_dir() => local.to_string_lossy().into_owned(),
            _ => url.to_string(),
        };
        git::clone_at(&source, &dest, git_ref)?;
        let name = recipe_name_from_url(url);
        Self::load_named(&dest, name, git_ref.map(str::to_string), Some(checkout))
    }

    fn load_named(
        dir: &Path,
        name: String,
        git_ref: Option<String>,
        checkout: Option<tempfile::TempDir>,
    ) -> Result<Recipe> {
        if !dir.is_dir() {
            return Err(RecipeError::at(dir, None, "not a directory"));
        }
        let compose_files = load_compose_files(dir)?;
        let env_sample = match find_env_sample(dir) {
            Some(path) => {
                // The guarded read vets the file; parse_file then reports errors as file:line.
                let text = files::read_text(dir, &path)?;
                let env = env::parse_file(&dir.join(&path))?;
                Some(EnvSample { path, text, env })
            }
            None => None,
        };
        let abra_sh = files::read_text_if_exists(dir, Path::new("abra.sh"))?.map(|t| app_env::abra_sh_exports(&t));
        let readme = files::read_text_if_exists(dir, Path::new("README.md"))?;
        let metadata = readme.as_deref().and_then(metadata::parse);
        Ok(Recipe {
            name,
            compose_files,
            env_sample,
            abra_sh,
            release_notes: release_notes::load(dir)?,
            readme,
            metadata,
            versions: read_versions(dir)?,
            has_tests_dir: dir.join("tests").is_dir(),
            git_ref,
            dir: dir.to_path_buf(),
            _checkout: checkout,
        })
    }

    /// The compose file at `path` (relative), if the recipe has it.
    pub fn compose_file(&self, path: &Path) -> Option<&ComposeFile> {
        self.compose_files.iter().find(|c| c.path == path)
    }
}

fn recipe_name_from_url(url: &str) -> String {
    let last = url.trim_end_matches('/').rsplit(['/', ':']).next().unwrap_or(url);
    last.trim_end_matches(".git").to_string()
}

fn load_compose_files(dir: &Path) -> Result<Vec<ComposeFile>> {
    let mut paths = files::find_files(dir, is_compose_file_name)?;
    paths.sort_by_key(|p| (p != Path::new("compose.yml"), p.clone()));
    paths
        .into_iter()
        .map(|path| {
            let text = files::read_text(dir, &path)?;
            let doc = parse_yaml(&text).map_err(|(line, msg)| RecipeError::at(dir.join(&path), line, msg))?;
            Ok(ComposeFile { path, text, doc })
        })
        .collect()
}

/// Parse YAML text; on failure the 1-based line (when known) and a message.
pub fn parse_yaml(text: &str) -> std::result::Result<serde_norway::Value, (Option<usize>, String)> {
    serde_norway::from_str::<serde_norway::Value>(text).map_err(|e| {
        let line = e.location().map(|l| l.line());
        let msg = e.to_string();
        // serde_norway appends " at line L column C"; the location is shown by the error itself.
        let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
        (line, format!("invalid YAML: {msg}"))
    })
}

fn read_versions(dir: &Path) -> Result<VersionInfo> {
    if !git::is_work_tree_root(dir) {
        return Ok(VersionInfo::Unknown { reason: "not a git checkout".to_string() });
    }
    let head = match git::resolve_commit(dir, "HEAD") {
        Ok(head) => head,
        Err(_) => return Ok(VersionInfo::Unknown { reason: "git checkout without commits".to_string() }),
    };
    let tags = git::tags(dir)?;
    let mut error = None;
    let versions = Versions::from_tags(&tags, &head, |commit| {
        git::is_ancestor(dir, commit, &head).unwrap_or_else(|e| {
            error.get_or_insert(e);
            false
        })
    });
    match error {
        Some(e) => Err(e),
        None => Ok(VersionInfo::Known(versions)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compose_names() {
        assert!(is_compose_file_name("compose.yml"));
        assert!(is_compose_file_name("compose.postgres.tune.yml"));
        assert!(!is_compose_file_name("docker-compose.yml"));
        assert!(!is_compose_file_name("compose.yml.tmpl"));
    }

    #[test]
    fn names_from_urls() {
        assert_eq!(recipe_name_from_url("https://git.example/coop-cloud/traefik.git"), "traefik");
        assert_eq!(recipe_name_from_url("git@host:org/bonfire"), "bonfire");
        assert_eq!(recipe_name_from_url("/tmp/x/custom-php/"), "custom-php");
    }
}
