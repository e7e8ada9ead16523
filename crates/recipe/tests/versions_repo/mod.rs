//! Test support: git repositories built in a tempdir (commits and tags made with system git,
//! independent of the machine's git identity), and the shared recipe corpus location.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The corpus of real recipes: `$CCCI_SHARED_DIR/recipes`, else `../shared/recipes` beside the repo.
pub fn corpus() -> PathBuf {
    let shared = std::env::var_os("CCCI_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    shared.join("recipes")
}

/// The corpus recipe names, sorted.
pub fn corpus_recipes() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(corpus())
        .expect("the recipe corpus (set CCCI_SHARED_DIR)")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Run the program `bin` (e.g. the `ccci` binary under test) with `args`: its exit code, stdout
/// and stderr as one text, with the corpus path replaced by `<corpus>` so snapshots are portable.
pub fn run_cleaned(bin: &str, args: &[&str]) -> (String, i32) {
    let out = Command::new(bin).args(args).output().expect("the program runs");
    let raw = corpus().to_string_lossy().into_owned();
    let real = corpus().canonicalize().map(|p| p.to_string_lossy().into_owned()).unwrap_or(raw.clone());
    let clean = |b: &[u8]| String::from_utf8_lossy(b).replace(&raw, "<corpus>").replace(&real, "<corpus>");
    let code = out.status.code().expect("exited, not killed by a signal");
    (format!("exit: {code}\n--- stdout\n{}--- stderr\n{}", clean(&out.stdout), clean(&out.stderr)), code)
}

/// Run git in `dir` with a fixed identity; panics with git's stderr on failure.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false", "-c", "init.defaultBranch=main"])
        .args(args)
        .env("GIT_AUTHOR_NAME", "ccci test")
        .env("GIT_AUTHOR_EMAIL", "test@example.invalid")
        .env("GIT_COMMITTER_NAME", "ccci test")
        .env("GIT_COMMITTER_EMAIL", "test@example.invalid")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A new repository at `dir` with one commit of whatever `dir` holds.
pub fn init(dir: &Path) {
    git(dir, &["init", "-q"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "--allow-empty", "-m", "initial"]);
}

/// An empty commit.
pub fn commit(dir: &Path, message: &str) -> String {
    git(dir, &["commit", "-q", "--allow-empty", "-m", message]);
    git(dir, &["rev-parse", "HEAD"])
}

/// Tag HEAD, annotated or lightweight.
pub fn tag(dir: &Path, name: &str, annotated: bool) {
    if annotated {
        git(dir, &["tag", "-a", name, "-m", name]);
    } else {
        git(dir, &["tag", name]);
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else if entry.file_name() != "TAGS.txt" {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A git repository of corpus recipe `name` (in `parent/<name>`): the files in a first commit,
/// then for each line of its TAGS.txt (`<tag> <annotated|lightweight> ...`) one commit carrying
/// that tag, then one more commit (the "PR head"). Returns the repository path.
pub fn corpus_repo(parent: &Path, name: &str) -> PathBuf {
    let src = corpus().join(name);
    let dir = parent.join(name);
    copy_dir(&src, &dir);
    init(&dir);
    let tags = std::fs::read_to_string(src.join("TAGS.txt")).unwrap();
    for line in tags.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let mut parts = line.split_whitespace();
        let (tag_name, kind) = (parts.next().unwrap(), parts.next().unwrap());
        commit(&dir, &format!("release {tag_name}"));
        tag(&dir, tag_name, kind == "annotated");
    }
    commit(&dir, "work after the last release");
    dir
}
