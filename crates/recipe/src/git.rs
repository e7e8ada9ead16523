//! A small wrapper around the system `git` binary: the few read operations the recipe engine
//! needs (tags, commits, ancestry), a private clone + checkout for loading a recipe from a URL,
//! and [`run_reproducibly`] for the CI's own repositories (the proxy recipe it ships).
//!
//! Every call runs `git -C <dir>` with the repository-selecting variables (`GIT_DIR`,
//! `GIT_WORK_TREE`, ...) removed from its environment, so the caller's shell cannot redirect it.

use std::path::Path;
use std::process::Command;

use crate::{RecipeError, Result};

/// Variables that would make `git` act on another repository than the one we name.
const REPO_SELECTING_VARS: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_CEILING_DIRECTORIES",
    "GIT_NAMESPACE",
];

/// One git tag as the repository stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// The tag name, e.g. `1.7.1+1.27.2`.
    pub name: String,
    /// True for an annotated tag (a tag object), false for a lightweight one.
    pub annotated: bool,
    /// The commit the tag points at (peeled through the tag object).
    pub commit: String,
}

fn command(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.arg("-C").arg(dir);
    for var in REPO_SELECTING_VARS {
        cmd.env_remove(var);
    }
    // Never prompt for credentials: a URL that needs them is an error, not a hang.
    cmd.env("GIT_TERMINAL_PROMPT", "0");
    cmd
}

/// Run `git -C dir args...` and return its standard output, or an error naming the command.
pub fn run(dir: &Path, args: &[&str]) -> Result<String> {
    execute(dir, args, command(dir))
}

fn execute(dir: &Path, args: &[&str], mut cmd: Command) -> Result<String> {
    let output =
        cmd.args(args).output().map_err(|e| RecipeError::new(format!("cannot run git (is it installed?): {e}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let first = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("no message");
        return Err(RecipeError::at(dir, None, format!("git {} failed: {}", args.join(" "), first.trim())));
    }
    String::from_utf8(output.stdout)
        .map_err(|_| RecipeError::at(dir, None, format!("git {} printed non-UTF-8 output", args.join(" "))))
}

/// [`run`] with `config` (`key`, `value`) pairs set for this one command only, through git's
/// `GIT_CONFIG_COUNT` environment rather than `-c` arguments, so a value (an `http.extraHeader`
/// carrying a credential) never shows in the process list or in an error message.
pub fn run_configured(dir: &Path, args: &[&str], config: &[(&str, &str)]) -> Result<String> {
    let mut cmd = command(dir);
    cmd.env("GIT_CONFIG_COUNT", config.len().to_string());
    for (i, (key, value)) in config.iter().enumerate() {
        cmd.env(format!("GIT_CONFIG_KEY_{i}"), key).env(format!("GIT_CONFIG_VALUE_{i}"), value);
    }
    execute(dir, args, cmd)
}

/// Run `git -C dir args...` as cc-ci itself, for repositories the CI builds: no system or user
/// configuration, a fixed author and committer, and `date` (unix seconds, UTC) as author,
/// committer and tagger date, so the same inputs give the same commit and tag ids on every machine.
pub fn run_reproducibly(dir: &Path, args: &[&str], date: u64) -> Result<String> {
    let date = format!("{date} +0000");
    let mut cmd = command(dir);
    cmd.env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "cc-ci")
        .env("GIT_AUTHOR_EMAIL", "cc-ci@cc-ci.invalid")
        .env("GIT_COMMITTER_NAME", "cc-ci")
        .env("GIT_COMMITTER_EMAIL", "cc-ci@cc-ci.invalid")
        .env("GIT_AUTHOR_DATE", &date)
        .env("GIT_COMMITTER_DATE", &date);
    execute(dir, args, cmd)
}

/// Whether `dir` is the top of a git work tree (not merely inside one).
pub fn is_work_tree_root(dir: &Path) -> bool {
    let Ok(top) = run(dir, &["rev-parse", "--show-toplevel"]) else {
        return false;
    };
    match (Path::new(top.trim()).canonicalize(), dir.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// The full commit id `rev` names (`HEAD`, a branch, a tag, a short id).
pub fn resolve_commit(dir: &Path, rev: &str) -> Result<String> {
    let spec = format!("{rev}^{{commit}}");
    Ok(run(dir, &["rev-parse", "--verify", "--quiet", &spec])
        .map_err(|_| RecipeError::at(dir, None, format!("git: no commit named `{rev}`")))?
        .trim()
        .to_string())
}

/// Every tag of the repository with its kind and peeled commit, sorted by name.
pub fn tags(dir: &Path) -> Result<Vec<Tag>> {
    let format = "%(refname:strip=2)%00%(objecttype)%00%(objectname)%00%(*objectname)";
    let out = run(dir, &["for-each-ref", "--sort=refname", &format!("--format={format}"), "refs/tags"])?;
    Ok(out.lines().filter_map(parse_tag_line).collect())
}

fn parse_tag_line(line: &str) -> Option<Tag> {
    let mut parts = line.split('\0');
    let name = parts.next()?.to_string();
    let kind = parts.next()?;
    let object = parts.next()?;
    let peeled = parts.next().unwrap_or("");
    let annotated = kind == "tag";
    let commit = if annotated && !peeled.is_empty() { peeled } else { object };
    Some(Tag { name, annotated, commit: commit.to_string() })
}

/// Whether `ancestor` is an ancestor of (or equal to) `descendant`.
pub fn is_ancestor(dir: &Path, ancestor: &str, descendant: &str) -> Result<bool> {
    let status = command(dir)
        .args(["merge-base", "--is-ancestor", ancestor, descendant])
        .status()
        .map_err(|e| RecipeError::new(format!("cannot run git: {e}")))?;
    match status.code() {
        Some(0) => Ok(true),
        Some(1) => Ok(false),
        _ => Err(RecipeError::at(dir, None, format!("git merge-base --is-ancestor {ancestor} {descendant} failed"))),
    }
}

/// Clone `url` into the new directory `dest` (which must not exist yet) and check out `rev`
/// (a branch, tag or commit; the remote's default branch when `None`), detached.
///
/// A pull request's head commit may be reachable only through `refs/pull/N/head` (a fork's PR, or
/// a deleted branch), which `git clone` does not fetch: when `rev` does not resolve after the
/// clone, the pull request heads are fetched (and `rev` itself when it is a ref like
/// `refs/pull/1/head`) and `rev` is resolved again.
pub fn clone_at(url: &str, dest: &Path, rev: Option<&str>) -> Result<()> {
    let parent = dest.parent().unwrap_or(Path::new("."));
    let dest_str = dest.to_string_lossy();
    run(parent, &["clone", "--quiet", "--no-checkout", "--", url, &dest_str])?;
    let resolve = |rev: &str| resolve_commit(dest, rev).or_else(|_| resolve_commit(dest, &format!("origin/{rev}")));
    let target = match rev {
        Some(rev) => resolve(rev)
            .or_else(|_| {
                // Failures here only mean nothing more resolves: the error below says so.
                let _ = run(dest, &["fetch", "--quiet", "origin", "+refs/pull/*/head:refs/remotes/origin/pull/*"]);
                resolve(rev)
            })
            .or_else(|e| match rev.starts_with("refs/") {
                true => {
                    run(dest, &["fetch", "--quiet", "origin", rev]).and_then(|_| resolve_commit(dest, "FETCH_HEAD"))
                }
                false => Err(e),
            })
            .map_err(|_| RecipeError::new(format!("{url}: no branch, tag or commit named `{rev}`")))?,
        None => resolve_commit(dest, "HEAD")?,
    };
    run(dest, &["checkout", "--quiet", "--detach", &target])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotated_tag_line_is_peeled_to_its_commit() {
        let tag = parse_tag_line("1.0.0+1.2\0tag\0aaaa\0cccc").unwrap();
        assert_eq!(tag, Tag { name: "1.0.0+1.2".into(), annotated: true, commit: "cccc".into() });
    }

    #[test]
    fn clone_at_reaches_a_commit_only_a_pull_request_ref_holds() {
        let tmp = tempfile::tempdir().unwrap();
        let origin = tmp.path().join("origin");
        std::fs::create_dir(&origin).unwrap();
        let git = |args: &[&str]| run(&origin, args).unwrap().trim().to_string();
        git(&["init", "--quiet", "--initial-branch=main"]);
        let commit = |message: &str| {
            git(&[
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@example.org",
                "commit",
                "--quiet",
                "--allow-empty",
                "-m",
                message,
            ])
        };
        commit("base");
        git(&["checkout", "--quiet", "-b", "feature"]);
        commit("pull request");
        let head = git(&["rev-parse", "HEAD"]);
        git(&["update-ref", "refs/pull/3/head", &head]);
        git(&["checkout", "--quiet", "main"]);
        git(&["branch", "--quiet", "-D", "feature"]);

        let url = format!("file://{}", origin.display());
        for (i, rev) in [head.as_str(), "refs/pull/3/head"].into_iter().enumerate() {
            let dest = tmp.path().join(format!("clone-{i}"));
            clone_at(&url, &dest, Some(rev)).unwrap();
            assert_eq!(resolve_commit(&dest, "HEAD").unwrap(), head, "{rev}");
        }
        let error = clone_at(&url, &tmp.path().join("none"), Some("refs/pull/9/head")).unwrap_err().to_string();
        assert!(error.contains("no branch, tag or commit named `refs/pull/9/head`"), "{error}");
    }

    #[test]
    fn lightweight_tag_line_points_at_its_commit() {
        let tag = parse_tag_line("v2.4.8\0commit\0bbbb\0").unwrap();
        assert_eq!(tag, Tag { name: "v2.4.8".into(), annotated: false, commit: "bbbb".into() });
    }
}
