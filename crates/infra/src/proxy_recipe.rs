//! The proxy recipe cc-ci ships: Traefik 3, coop-cloud style (compose.yml, compose.wildcard.yml,
//! .env.sample, abra.sh config versions, release notes), one release per packaged Traefik
//! version. Its files are embedded in the binary from `crates/infra/recipes/traefik/<tag>/`, each
//! release directory holding what changed since the release before it, and [`materialise`] writes
//! them into a real git repository with one commit and one annotated tag per release. Commits and
//! tags have fixed authors and dates, so a given build of cc-ci always produces the same commit and
//! tag ids: materialising again changes nothing, and a newer build with more releases replaces the
//! repository whole. Operators who want their own proxy recipe point the config at its git URL
//! instead.

use std::fs;
use std::path::{Path, PathBuf};

use recipe::git::{run, run_reproducibly};

use crate::{Change, Error, Result};

/// The recipe's name (its directory under the data dir, abra's `TYPE`).
pub const NAME: &str = "traefik";

/// One release: its tag and the files it adds or changes (path in the recipe, content).
struct Release {
    tag: &'static str,
    files: &'static [(&'static str, &'static str)],
}

/// `embed!("<tag>", "<path>", ...)`: the files of one release directory, compiled in.
macro_rules! embed {
    ($tag:literal, $($path:literal),+ $(,)?) => {
        &[$(($path, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/recipes/traefik/", $tag, "/", $path)))),+]
    };
}

/// Every release, oldest first.
const RELEASES: &[Release] = &[
    Release {
        tag: "1.0.0+v3.6.15",
        files: embed!(
            "1.0.0+v3.6.15",
            ".env.sample",
            "README.md",
            "abra.sh",
            "compose.wildcard.yml",
            "compose.yml",
            "file-provider.yml.tmpl",
            "release/1.0.0+v3.6.15",
            "traefik.yml.tmpl",
        ),
    },
    Release { tag: "1.1.0+v3.7.15", files: embed!("1.1.0+v3.7.15", "compose.yml", "release/1.1.0+v3.7.15") },
];

/// The first release's commit date (2025-01-01T00:00:00Z); each later release is a day later.
const FIRST_DATE: u64 = 1_735_689_600;
/// The branch the releases are committed on.
const BRANCH: &str = "main";

/// The release tags, oldest first.
pub fn release_tags() -> Vec<&'static str> {
    RELEASES.iter().map(|r| r.tag).collect()
}

/// The materialised recipe repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyRecipe {
    /// The repository's work tree (the newest release checked out on `main`).
    pub path: PathBuf,
    /// Annotated release tags, oldest first.
    pub tags: Vec<String>,
    /// The commit `main` points at (the newest release).
    pub head: String,
}

/// Make `dest` the proxy recipe's git repository: [`Change::Created`] if it did not exist,
/// [`Change::Unchanged`] if it already is exactly this build's repository (same commits, same tag
/// objects, clean work tree), [`Change::Replaced`] otherwise (an older build's, or edited by
/// hand). The new repository is built beside `dest` and renamed into place, so `dest` is never
/// half-written.
pub fn materialise(dest: &Path) -> Result<(ProxyRecipe, Change)> {
    let parent = dest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(Error::io(parent))?;
    let name = dest.file_name().and_then(|n| n.to_str()).unwrap_or(NAME);
    let staging = parent.join(format!(".{name}.new-{}", std::process::id()));
    remove_dir_if_present(&staging)?;
    let built = build(&staging).inspect_err(|_| {
        let _ = fs::remove_dir_all(&staging);
    })?;

    let change = if !dest.exists() {
        Change::Created
    } else if recipe::git::is_work_tree_root(dest) && fingerprint(dest).ok() == Some(fingerprint(&staging)?) {
        remove_dir_if_present(&staging)?;
        return Ok((ProxyRecipe { path: dest.to_path_buf(), ..built }, Change::Unchanged));
    } else {
        let old = parent.join(format!(".{name}.old-{}", std::process::id()));
        remove_dir_if_present(&old)?;
        fs::rename(dest, &old).map_err(Error::io(dest))?;
        remove_dir_if_present(&old)?;
        Change::Replaced
    };
    fs::rename(&staging, dest).map_err(Error::io(dest))?;
    Ok((ProxyRecipe { path: dest.to_path_buf(), ..built }, change))
}

/// Build the repository in the new directory `dir`: one commit and annotated tag per release.
fn build(dir: &Path) -> Result<ProxyRecipe> {
    fs::create_dir_all(dir).map_err(Error::io(dir))?;
    run_reproducibly(dir, &["init", "--quiet", "--initial-branch", BRANCH], FIRST_DATE)?;
    for (i, release) in RELEASES.iter().enumerate() {
        for (path, content) in release.files {
            let file = dir.join(path);
            if let Some(parent) = file.parent() {
                fs::create_dir_all(parent).map_err(Error::io(parent))?;
            }
            fs::write(&file, content).map_err(Error::io(&file))?;
        }
        let date = FIRST_DATE + 86_400 * i as u64;
        let notes = release.files.iter().find(|(p, _)| *p == format!("release/{}", release.tag)).map(|(_, c)| c.trim());
        run_reproducibly(dir, &["add", "--all"], date)?;
        run_reproducibly(dir, &["commit", "--quiet", "--message", &format!("Release {}", release.tag)], date)?;
        run_reproducibly(dir, &["tag", "--annotate", release.tag, "--message", notes.unwrap_or(release.tag)], date)?;
    }
    Ok(ProxyRecipe {
        path: dir.to_path_buf(),
        tags: release_tags().into_iter().map(String::from).collect(),
        head: run(dir, &["rev-parse", "HEAD"])?.trim().to_string(),
    })
}

/// What identifies a materialised repository: HEAD, every tag with its object id, and the work
/// tree's status (empty when clean).
fn fingerprint(dir: &Path) -> Result<String> {
    let head = run(dir, &["rev-parse", "HEAD"])?;
    let tags = run(dir, &["for-each-ref", "--format=%(refname) %(objectname) %(objecttype)", "refs/tags"])?;
    let status = run(dir, &["status", "--porcelain", "--untracked-files=all"])?;
    Ok(format!("{head}\n{tags}\n{status}"))
}

fn remove_dir_if_present(dir: &Path) -> Result<()> {
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(dir)(e)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_of_the_release_directories_is_embedded() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("recipes/traefik");
        let mut on_disk: Vec<String> = Vec::new();
        for release in fs::read_dir(&root).unwrap() {
            let release = release.unwrap().path();
            collect(&release, &release, &mut on_disk);
        }
        on_disk.sort();
        let mut embedded: Vec<String> =
            RELEASES.iter().flat_map(|r| r.files.iter().map(move |(p, _)| format!("{}/{p}", r.tag))).collect();
        embedded.sort();
        assert_eq!(embedded, on_disk, "list every file of recipes/traefik/<tag>/ in RELEASES");
    }

    fn collect(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                collect(base, &path, out);
            } else {
                let tag = base.file_name().unwrap().to_string_lossy();
                out.push(format!("{tag}/{}", path.strip_prefix(base).unwrap().display()));
            }
        }
    }

    #[test]
    fn a_repository_materialised_twice_is_identical_and_the_second_time_unchanged() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, change_a) = materialise(&tmp.path().join("a/traefik")).unwrap();
        let (b, change_b) = materialise(&tmp.path().join("b/traefik")).unwrap();
        assert_eq!((change_a, change_b), (Change::Created, Change::Created));
        assert_eq!(a.head, b.head, "commit ids are reproducible");
        assert_eq!(fingerprint(&a.path).unwrap(), fingerprint(&b.path).unwrap());
        let (again, change) = materialise(&a.path).unwrap();
        assert_eq!((change, again), (Change::Unchanged, a));
        let leftovers: Vec<_> = fs::read_dir(tmp.path().join("a")).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(leftovers, vec!["traefik"], "no staging directory is left behind");
    }

    #[test]
    fn tags_are_annotated_releases_whose_version_label_matches() {
        let tmp = tempfile::tempdir().unwrap();
        let (repo, _) = materialise(&tmp.path().join("traefik")).unwrap();
        let tags = recipe::git::tags(&repo.path).unwrap();
        assert_eq!(tags.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), release_tags());
        assert!(tags.iter().all(|t| t.annotated), "{tags:?}");
        for tag in &tags {
            let compose = run(&repo.path, &["show", &format!("{}:compose.yml", tag.name)]).unwrap();
            let traefik = tag.name.split_once('+').unwrap().1;
            assert!(compose.contains(&format!("image: \"traefik:{traefik}\"")), "{}: image", tag.name);
            assert!(
                compose.contains(&format!("coop-cloud.${{STACK_NAME}}.version={}", tag.name)),
                "{}: label",
                tag.name
            );
            let message = run(&repo.path, &["tag", "--list", "--format=%(contents)", &tag.name]).unwrap();
            assert!(message.contains("Traefik"), "{}: the tag message is the release note: {message}", tag.name);
        }
        assert_eq!(repo.head, tags.last().unwrap().commit, "main is the newest release");
    }

    #[test]
    fn the_materialised_recipe_passes_the_linter_with_its_releases() {
        let tmp = tempfile::tempdir().unwrap();
        let (repo, _) = materialise(&tmp.path().join("traefik")).unwrap();
        let loaded = recipe::recipe::Recipe::load(&repo.path).unwrap();
        let report = recipe::lint::lint(&loaded, &recipe::lint::LintOptions::default()).unwrap();
        let findings: Vec<String> = report.findings.iter().map(|f| f.to_line()).collect();
        assert!(findings.is_empty(), "{findings:#?}");
        assert!(!report.skipped.iter().any(|s| s.rule == "R006" || s.rule == "R014"), "{:?}", report.skipped);
    }

    #[test]
    fn an_edited_or_foreign_repository_is_replaced() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("traefik");
        let (repo, _) = materialise(&dest).unwrap();
        fs::write(dest.join("compose.yml"), "edited by hand\n").unwrap();
        let (again, change) = materialise(&dest).unwrap();
        assert_eq!((change, &again), (Change::Replaced, &repo));
        assert_eq!(run(&dest, &["status", "--porcelain"]).unwrap(), "");

        let foreign = tmp.path().join("foreign");
        fs::create_dir_all(&foreign).unwrap();
        fs::write(foreign.join("README"), "not a repository\n").unwrap();
        let (_, change) = materialise(&foreign).unwrap();
        assert_eq!(change, Change::Replaced);
        assert!(foreign.join(".git").is_dir());
    }
}
