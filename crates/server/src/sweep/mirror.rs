//! Mirror sync (SPEC S1): when an enrolled repository names an `upstream`, the mirror on the CI's
//! forge is made to follow it faithfully — its default branch equal to upstream's default branch
//! (whatever upstream's `HEAD` names: `main`, `master`, …), every tag equal to upstream's (added,
//! moved, removed), forced where upstream rewrote history — in one atomic push of upstream's own
//! refs: the bot never pushes anything of its own. Then the mirror's open pull requests whose head
//! commit is already in upstream's default branch are closed with a comment; all others are left
//! alone. Nothing is pushed when the mirror is already equal, so a second sync changes nothing.
//!
//! Without an upstream the mirror is the source: it is only fetched into the cache.

use std::collections::BTreeMap;

use forge::{Client, RepoRef};
use serde::{Deserialize, Serialize};

use super::git::{Advertised, Cache, Remote};

/// How the mirror's default branch moved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BranchMove {
    pub branch: String,
    /// The commit it was at (`None`: the branch did not exist).
    pub from: Option<String>,
    pub to: String,
    /// Upstream rewrote history: the old commit is not in the new one's.
    pub forced: bool,
}

/// What the sync did to one mirror.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MirrorReport {
    /// The upstream followed; `None` when the repository names none (the mirror was only read).
    pub upstream: Option<String>,
    /// Upstream's default branch, as its `HEAD` names it.
    pub upstream_branch: Option<String>,
    /// The mirror's default branch.
    pub branch: String,
    /// The commit both are at now.
    pub head: String,
    pub moved: Option<BranchMove>,
    pub tags_added: Vec<String>,
    pub tags_moved: Vec<String>,
    pub tags_removed: Vec<String>,
    /// Pull requests closed because their head is in upstream's default branch.
    pub closed_pulls: Vec<u64>,
    /// Open pull requests left alone.
    pub open_pulls: Vec<u64>,
}

impl MirrorReport {
    /// Whether the sync pushed anything or closed a pull request.
    pub fn changed(&self) -> bool {
        self.moved.is_some()
            || !self.tags_added.is_empty()
            || !self.tags_moved.is_empty()
            || !self.tags_removed.is_empty()
            || !self.closed_pulls.is_empty()
    }

    /// One line for people.
    pub fn summary(&self) -> String {
        let Some(upstream) = &self.upstream else {
            return format!("no upstream configured: read the mirror's {} at {}", self.branch, short(&self.head));
        };
        let mut parts = Vec::new();
        match &self.moved {
            Some(m) => parts.push(format!(
                "{} {} → {}{}",
                m.branch,
                m.from.as_deref().map_or("(new)".to_string(), short),
                short(&m.to),
                if m.forced { " (forced: upstream rewrote it)" } else { "" }
            )),
            None => parts.push(format!("{} already at {}", self.branch, short(&self.head))),
        }
        for (what, tags) in [("added", &self.tags_added), ("moved", &self.tags_moved), ("removed", &self.tags_removed)]
        {
            if !tags.is_empty() {
                parts.push(format!("tags {what}: {}", tags.join(", ")));
            }
        }
        if !self.closed_pulls.is_empty() {
            let numbers: Vec<String> = self.closed_pulls.iter().map(|n| format!("#{n}")).collect();
            parts.push(format!("closed {} (merged upstream)", numbers.join(", ")));
        }
        format!("synced from {upstream} ({}): {}", self.upstream_branch.as_deref().unwrap_or("?"), parts.join("; "))
    }
}

/// The first 10 characters of a commit id.
pub fn short(commit: &str) -> String {
    commit.chars().take(10).collect()
}

/// The refspecs that make the mirror (as it advertises itself) equal to the cache, and the report
/// of what they change. Pure, so the rules are tested without a remote.
fn plan(
    cache_tags: &BTreeMap<String, String>,
    head: &str,
    mirror: &Advertised,
    branch: &str,
    forced: impl Fn(&str) -> bool,
) -> (Vec<String>, MirrorReport) {
    let mut report = MirrorReport { branch: branch.to_string(), head: head.to_string(), ..Default::default() };
    let mut refspecs = Vec::new();
    let current = mirror.heads.get(branch);
    if current.map(String::as_str) != Some(head) {
        refspecs.push(format!("+{head}:refs/heads/{branch}"));
        report.moved = Some(BranchMove {
            branch: branch.to_string(),
            from: current.cloned(),
            to: head.to_string(),
            forced: current.is_some_and(|old| forced(old)),
        });
    }
    for (tag, object) in cache_tags {
        match mirror.tags.get(tag) {
            Some(theirs) if theirs == object => {}
            Some(_) => report.tags_moved.push(tag.clone()),
            None => report.tags_added.push(tag.clone()),
        }
    }
    report.tags_removed = mirror.tags.keys().filter(|t| !cache_tags.contains_key(*t)).cloned().collect();
    refspecs
        .extend(report.tags_added.iter().chain(&report.tags_moved).map(|t| format!("+refs/tags/{t}:refs/tags/{t}")));
    refspecs.extend(report.tags_removed.iter().map(|t| format!(":refs/tags/{t}")));
    (refspecs, report)
}

/// Syncs the mirror from `upstream` into and through `cache` (blocking git; run it off the async
/// threads). Without an upstream, fetches the mirror into the cache.
pub fn sync(cache: &Cache, mirror: &Remote, upstream: Option<&str>) -> Result<MirrorReport, String> {
    let ours = mirror.advertised(&cache.dir).map_err(|e| format!("reading the mirror: {e}"))?;
    let Some(upstream_url) = upstream else {
        let branch = ours
            .default_branch
            .clone()
            .ok_or("the mirror has no default branch (its HEAD names none: is it empty?)")?;
        cache.fetch(mirror, &branch).map_err(|e| format!("fetching the mirror: {e}"))?;
        return Ok(MirrorReport { branch, head: cache.head()?, ..Default::default() });
    };
    let upstream = Remote::anonymous(upstream_url);
    let theirs = upstream.advertised(&cache.dir).map_err(|e| format!("reading upstream: {e}"))?;
    let upstream_branch = theirs
        .default_branch
        .clone()
        .ok_or_else(|| format!("upstream {upstream_url} has no default branch (its HEAD names none)"))?;
    cache.fetch(&upstream, &upstream_branch).map_err(|e| format!("fetching upstream: {e}"))?;
    let head = cache.head()?;
    // An empty mirror has no HEAD yet: it gets upstream's branch name.
    let branch = ours.default_branch.clone().unwrap_or_else(|| upstream_branch.clone());
    let (refspecs, mut report) = plan(&cache.tag_objects()?, &head, &ours, &branch, |old| !cache.contains(&head, old));
    if !refspecs.is_empty() {
        mirror.push(cache, &refspecs).map_err(|e| format!("pushing to the mirror: {e}"))?;
        let after = mirror.advertised(&cache.dir).map_err(|e| format!("reading the mirror after the push: {e}"))?;
        let (left, _) = plan(&cache.tag_objects()?, &head, &after, &branch, |_| false);
        if !left.is_empty() {
            return Err(format!("the mirror still differs from upstream after the push: {}", left.join(" ")));
        }
    }
    report.upstream = Some(upstream_url.to_string());
    report.upstream_branch = Some(upstream_branch);
    Ok(report)
}

/// The comment a pull request closed by the sync gets.
pub fn closing_comment(head: &str, upstream_branch: &str) -> String {
    format!(
        "cc-ci closed this pull request while syncing the mirror: its head commit {} is already in \
         upstream's `{upstream_branch}`, so it has been merged there. Nothing else was changed.",
        short(head)
    )
}

/// Closes the mirror's open pull requests whose head commit is in the history of upstream's
/// default branch (as fetched into `cache`), each with [`closing_comment`]; fills in
/// `report.closed_pulls` and `report.open_pulls`.
pub async fn close_merged_pulls(
    client: &Client,
    repo: &RepoRef,
    cache: &Cache,
    report: &mut MirrorReport,
) -> Result<(), String> {
    let Some(upstream_branch) = report.upstream_branch.clone() else { return Ok(()) };
    let pulls = client.list_open_pulls(repo).await.map_err(|e| format!("listing the mirror's pull requests: {e}"))?;
    for pull in pulls {
        let merged = {
            let (cache, head, sha) = (cache.clone(), report.head.clone(), pull.head.sha.clone());
            tokio::task::spawn_blocking(move || cache.contains(&head, &sha)).await.unwrap_or(false)
        };
        if !merged {
            report.open_pulls.push(pull.number);
            continue;
        }
        client
            .post_comment(repo, pull.number, &closing_comment(&pull.head.sha, &upstream_branch))
            .await
            .map_err(|e| format!("commenting on #{}: {e}", pull.number))?;
        client.close_pull(repo, pull.number).await.map_err(|e| format!("closing #{}: {e}", pull.number))?;
        report.closed_pulls.push(pull.number);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn an_equal_mirror_needs_no_push() {
        let mirror = Advertised {
            default_branch: Some("main".into()),
            heads: tags(&[("main", "c1"), ("feature", "c9")]),
            tags: tags(&[("1.0.0", "t1")]),
        };
        let (refspecs, report) = plan(&tags(&[("1.0.0", "t1")]), "c1", &mirror, "main", |_| true);
        assert!(refspecs.is_empty(), "{refspecs:?}");
        assert!(!report.changed());
    }

    #[test]
    fn branch_and_tags_are_made_equal_forced_where_rewritten() {
        let mirror = Advertised {
            default_branch: Some("main".into()),
            heads: tags(&[("main", "old")]),
            tags: tags(&[("keep", "k"), ("moved", "m1"), ("gone", "g")]),
        };
        let cache = tags(&[("keep", "k"), ("moved", "m2"), ("new", "n")]);
        let (refspecs, report) = plan(&cache, "c2", &mirror, "main", |old| old == "old");
        assert_eq!(
            refspecs,
            [
                "+c2:refs/heads/main",
                "+refs/tags/new:refs/tags/new",
                "+refs/tags/moved:refs/tags/moved",
                ":refs/tags/gone"
            ]
        );
        let moved = report.moved.clone().unwrap();
        assert_eq!((moved.from.as_deref(), moved.to.as_str(), moved.forced), (Some("old"), "c2", true));
        assert_eq!(
            (report.tags_added.clone(), report.tags_moved.clone()),
            (vec!["new".to_string()], vec!["moved".to_string()])
        );
        assert_eq!(report.tags_removed, ["gone"]);
        assert!(report.changed());
    }
}
