//! Where an infrastructure app's recipe comes from and which release of it is deployed: for the
//! proxy, the recipe shipped in the binary ([`crate::proxy_recipe`], materialised into the data
//! dir) or an operator's own git repository; for a warm dependency, its git repository. A git
//! source is cloned once and its tags fetched on each call; a release (the newest annotated
//! release tag by default) is checked out into a directory of its own, so the repository's work
//! tree is never touched.

use std::path::{Path, PathBuf};

use recipe::git;
use recipe::versions::Version;

use crate::proxy_recipe::{self, remove_dir_if_present};
use crate::{Change, Error, Result};

/// Where the proxy recipe comes from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum RecipeSource {
    /// The recipe shipped with cc-ci.
    #[default]
    Builtin,
    /// An operator's recipe repository (any URL `git clone` takes).
    Git(String),
}

impl std::fmt::Display for RecipeSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecipeSource::Builtin => f.write_str("builtin"),
            RecipeSource::Git(url) => f.write_str(url),
        }
    }
}

/// The proxy recipe at the release to deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyCheckout {
    /// A checkout of the release (detached, clean).
    pub dir: PathBuf,
    /// The release tag.
    pub version: String,
    /// What happened to the recipe's repository.
    pub repository: Change,
}

/// The proxy recipe's repository of `source` under `infra_dir`, up to date, and a checkout of
/// `version` (the newest release when `None`) beside it.
pub fn prepare(source: &RecipeSource, version: Option<&str>, infra_dir: &Path) -> Result<ProxyCheckout> {
    prepare_app(proxy_recipe::NAME, source, version, infra_dir)
}

/// [`prepare`] for the recipe `name` (the proxy's, or a warm dependency's).
pub fn prepare_app(
    name: &str,
    source: &RecipeSource,
    version: Option<&str>,
    infra_dir: &Path,
) -> Result<ProxyCheckout> {
    let (repo, repository) = repository(name, source, infra_dir)?;
    let releases = releases(&repo)?;
    let version = match version {
        Some(v) if releases.iter().any(|r| r == v) => v.to_string(),
        Some(v) => {
            return Err(Error::Recipe(format!(
                "the recipe {name} ({source}) has no release {v}; its releases are {}",
                list(&releases)
            )))
        }
        None => releases
            .last()
            .cloned()
            .ok_or_else(|| Error::Recipe(format!("the recipe {name} ({source}) has no annotated release tag")))?,
    };
    let dir = infra_dir.join(format!("{name}-{version}"));
    check_out(&repo, &version, &dir)?;
    Ok(ProxyCheckout { dir, version, repository })
}

/// The repository of recipe `name` from `source` under `infra_dir`: the shipped proxy recipe
/// materialised, or a git source cloned (`<name>-git`) and its tags fetched.
pub fn repository(name: &str, source: &RecipeSource, infra_dir: &Path) -> Result<(PathBuf, Change)> {
    match source {
        RecipeSource::Builtin if name == proxy_recipe::NAME => {
            let (recipe, change) = proxy_recipe::materialise(&infra_dir.join(proxy_recipe::NAME))?;
            Ok((recipe.path, change))
        }
        RecipeSource::Builtin => {
            Err(Error::Recipe(format!("no recipe {name} is shipped with cc-ci: give its git URL")))
        }
        RecipeSource::Git(url) => fetch(url, &infra_dir.join(format!("{name}-git"))),
    }
}

/// The annotated release tags of `repo`, oldest first.
pub fn releases(repo: &Path) -> Result<Vec<String>> {
    let mut releases: Vec<(Version, String)> = git::tags(repo)?
        .into_iter()
        .filter(|t| t.annotated)
        .filter_map(|t| Some((Version::parse(&t.name).ok()?, t.name)))
        .collect();
    releases.sort();
    Ok(releases.into_iter().map(|(_, tag)| tag).collect())
}

/// The release notes of `tag`: its `release/<tag>` file at that tag, if it has one.
pub fn release_notes(repo: &Path, tag: &str) -> Option<String> {
    git::run(repo, &["show", &format!("{tag}:release/{tag}")]).ok().map(|t| t.trim_end().to_string())
}

fn list(releases: &[String]) -> String {
    if releases.is_empty() {
        "none".into()
    } else {
        releases.join(", ")
    }
}

/// Clone `url` into `dir` if it is not there yet, else fetch its tags.
fn fetch(url: &str, dir: &Path) -> Result<(PathBuf, Change)> {
    if git::is_work_tree_root(dir) {
        git::run(dir, &["fetch", "--quiet", "--tags", "--force", "origin"])?;
        return Ok((dir.to_path_buf(), Change::Unchanged));
    }
    remove_dir_if_present(dir)?;
    let parent = dir.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(Error::io(parent))?;
    git::run(parent, &["clone", "--quiet", "--", url, &dir.to_string_lossy()])?;
    Ok((dir.to_path_buf(), Change::Created))
}

/// Make `dir` a clean, detached checkout of `tag` from `repo` (kept when it already is one).
fn check_out(repo: &Path, tag: &str, dir: &Path) -> Result<()> {
    let want = git::resolve_commit(repo, tag)?;
    if git::is_work_tree_root(dir)
        && git::resolve_commit(dir, "HEAD").ok().as_deref() == Some(want.as_str())
        && git::run(dir, &["status", "--porcelain", "--untracked-files=all"]).is_ok_and(|s| s.is_empty())
    {
        return Ok(());
    }
    remove_dir_if_present(dir)?;
    git::clone_at(&repo.to_string_lossy(), dir, Some(&want))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_recipe_is_checked_out_at_its_newest_release_or_the_one_asked_for() {
        let tmp = tempfile::tempdir().unwrap();
        let newest = prepare(&RecipeSource::Builtin, None, tmp.path()).unwrap();
        assert_eq!(newest.version, *proxy_recipe::release_tags().last().unwrap());
        assert_eq!(newest.repository, Change::Created);
        let compose = std::fs::read_to_string(newest.dir.join("compose.yml")).unwrap();
        assert!(compose.contains(&format!("version={}", newest.version)), "{compose}");

        let again = prepare(&RecipeSource::Builtin, None, tmp.path()).unwrap();
        assert_eq!((again.repository, &again.dir), (Change::Unchanged, &newest.dir));

        let first = proxy_recipe::release_tags()[0];
        let older = prepare(&RecipeSource::Builtin, Some(first), tmp.path()).unwrap();
        let compose = std::fs::read_to_string(older.dir.join("compose.yml")).unwrap();
        assert!(compose.contains(&format!("version={first}")), "{compose}");

        let err = prepare(&RecipeSource::Builtin, Some("9.9.9+v9"), tmp.path()).unwrap_err().to_string();
        assert!(err.contains("no release 9.9.9+v9") && err.contains(first), "{err}");
    }

    #[test]
    fn a_git_source_is_cloned_then_fetched() {
        let tmp = tempfile::tempdir().unwrap();
        let (origin, _) = proxy_recipe::materialise(&tmp.path().join("origin")).unwrap();
        let source = RecipeSource::Git(format!("file://{}", origin.path.display()));
        let infra = tmp.path().join("infra");
        let first = prepare(&source, None, &infra).unwrap();
        assert_eq!((first.repository, first.version.as_str()), (Change::Created, origin.tags.last().unwrap().as_str()));
        let again = prepare(&source, None, &infra).unwrap();
        assert_eq!(again.repository, Change::Unchanged);
    }
}
