//! The sweep's git, all of it real `git` (the system binary, through `recipe::git`): per enrolled
//! recipe a bare cache under `<data dir>/sweep/<owner>/<name>.git` holding its source's default
//! branch (as [`HEAD_REF`]) and every tag; what a remote advertises (`git ls-remote --symref`);
//! and pushes to the mirror.
//!
//! Only the CI's own forge gets the bot's credentials, as an `http.extraHeader` in the command's
//! environment (never an argument, never a URL); an upstream is always read anonymously.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use recipe::git;

/// Where the cache keeps the source's default branch as last fetched.
pub const HEAD_REF: &str = "refs/ccci/head";

/// A bare repository the sweep fetches into.
#[derive(Debug, Clone)]
pub struct Cache {
    pub dir: PathBuf,
}

/// A remote repository and the git configuration to reach it with.
#[derive(Clone)]
pub struct Remote {
    pub url: String,
    /// `http.extraHeader` and the like, for this remote's commands only.
    config: Vec<(String, String)>,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote").field("url", &self.url).finish_non_exhaustive()
    }
}

/// What a remote advertises.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Advertised {
    /// The branch its `HEAD` names: its default branch.
    pub default_branch: Option<String>,
    /// Branch name → commit.
    pub heads: BTreeMap<String, String>,
    /// Tag name → the object the tag ref names (the tag object for an annotated tag).
    pub tags: BTreeMap<String, String>,
}

impl Remote {
    /// A remote read without credentials (an upstream).
    pub fn anonymous(url: &str) -> Remote {
        Remote { url: url.to_string(), config: Vec::new() }
    }

    /// A remote on the CI's forge, reached as the bot: HTTP basic authentication with the token
    /// as the password, which Gitea and Forgejo accept for git over HTTP.
    pub fn as_bot(url: &str, login: &str, token: &str) -> Remote {
        use base64::Engine as _;
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{login}:{token}"));
        Remote {
            url: url.to_string(),
            config: vec![("http.extraHeader".into(), format!("Authorization: Basic {basic}"))],
        }
    }

    fn run(&self, dir: &Path, args: &[&str]) -> Result<String, String> {
        let config: Vec<(&str, &str)> = self.config.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        git::run_configured(dir, args, &config).map_err(|e| e.to_string())
    }

    /// Its default branch, branches and tags (`git ls-remote --symref`), run in `dir`.
    pub fn advertised(&self, dir: &Path) -> Result<Advertised, String> {
        let out = self.run(dir, &["ls-remote", "--symref", "--", &self.url])?;
        Ok(parse_advertised(&out))
    }

    /// Pushes `refspecs` from `cache` to this remote, all or nothing (`--atomic`).
    pub fn push(&self, cache: &Cache, refspecs: &[String]) -> Result<(), String> {
        let mut args = vec!["push", "--atomic", "--quiet", "--no-verify", "--", &self.url];
        args.extend(refspecs.iter().map(String::as_str));
        self.run(&cache.dir, &args).map(drop)
    }
}

fn parse_advertised(out: &str) -> Advertised {
    let mut advertised = Advertised::default();
    for line in out.lines() {
        if let Some(symref) = line.strip_prefix("ref: ") {
            if let Some((target, "HEAD")) = symref.split_once('\t') {
                advertised.default_branch = target.strip_prefix("refs/heads/").map(str::to_string);
            }
            continue;
        }
        let Some((object, name)) = line.split_once('\t') else { continue };
        if let Some(branch) = name.strip_prefix("refs/heads/") {
            advertised.heads.insert(branch.to_string(), object.to_string());
        } else if let Some(tag) = name.strip_prefix("refs/tags/").filter(|t| !t.ends_with("^{}")) {
            advertised.tags.insert(tag.to_string(), object.to_string());
        }
    }
    advertised
}

impl Cache {
    /// The cache of `repo` (`owner/name`) under `data_dir`, created empty if it is not there.
    pub fn open(data_dir: &Path, repo: &str) -> Result<Cache, String> {
        let dir = data_dir.join("sweep").join(format!("{repo}.git"));
        if !dir.join("HEAD").is_file() {
            let parent = dir.parent().ok_or("a cache path without a parent")?;
            std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
            git::run(parent, &["init", "--quiet", "--bare", "--", &dir.to_string_lossy()])
                .map_err(|e| e.to_string())?;
        }
        Ok(Cache { dir })
    }

    /// Makes the cache's [`HEAD_REF`] `branch` of `remote` and its tags exactly the remote's
    /// (moved where the remote rewrote them, removed where the remote removed them).
    pub fn fetch(&self, remote: &Remote, branch: &str) -> Result<(), String> {
        let head = format!("+refs/heads/{branch}:{HEAD_REF}");
        remote
            .run(
                &self.dir,
                &["fetch", "--quiet", "--prune", "--force", "--", &remote.url, &head, "+refs/tags/*:refs/tags/*"],
            )
            .map(drop)
    }

    /// The commit of [`HEAD_REF`].
    pub fn head(&self) -> Result<String, String> {
        git::resolve_commit(&self.dir, HEAD_REF).map_err(|e| e.to_string())
    }

    /// Tag name → the object its ref names, as [`Advertised::tags`] has them.
    pub fn tag_objects(&self) -> Result<BTreeMap<String, String>, String> {
        let out = git::run(&self.dir, &["for-each-ref", "--format=%(refname:strip=2)%00%(objectname)", "refs/tags"])
            .map_err(|e| e.to_string())?;
        Ok(out.lines().filter_map(|l| l.split_once('\0')).map(|(n, o)| (n.to_string(), o.to_string())).collect())
    }

    /// Whether `rev` names a commit the cache has.
    pub fn has_commit(&self, rev: &str) -> bool {
        git::resolve_commit(&self.dir, rev).is_ok()
    }

    /// Whether commit `ancestor` is in the history of `descendant` (both in the cache).
    pub fn contains(&self, descendant: &str, ancestor: &str) -> bool {
        self.has_commit(ancestor) && git::is_ancestor(&self.dir, ancestor, descendant).unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ls_remote_output_gives_the_default_branch_heads_and_unpeeled_tags() {
        let out = "ref: refs/heads/master\tHEAD\n\
                   1111111111111111111111111111111111111111\tHEAD\n\
                   1111111111111111111111111111111111111111\trefs/heads/master\n\
                   2222222222222222222222222222222222222222\trefs/heads/next\n\
                   3333333333333333333333333333333333333333\trefs/pull/1/head\n\
                   4444444444444444444444444444444444444444\trefs/tags/1.0.0+1.35\n\
                   1111111111111111111111111111111111111111\trefs/tags/1.0.0+1.35^{}\n";
        let a = parse_advertised(out);
        assert_eq!(a.default_branch.as_deref(), Some("master"));
        assert_eq!(a.heads.keys().collect::<Vec<_>>(), ["master", "next"]);
        assert_eq!(a.tags.len(), 1);
        assert_eq!(a.tags["1.0.0+1.35"], "4444444444444444444444444444444444444444");
        assert_eq!(parse_advertised("").default_branch, None, "an empty repository has no HEAD to follow");
    }

    #[test]
    fn the_bots_credentials_never_show_in_debug_output() {
        let remote = Remote::as_bot("http://forge.test/o/r.git", "bot", "tok-123");
        assert!(!format!("{remote:?}").contains("tok-123"));
        assert!(!format!("{remote:?}").contains("Basic"));
    }
}
