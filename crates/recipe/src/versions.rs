//! Recipe versions from git tags: which tags are releases, how they order, and the two questions
//! the planner asks (is this ref a release? which release is the upgrade base?).
//!
//! A release tag is an **annotated** tag named `<recipe-semver>+<app-version>`, e.g. `1.7.1+1.27.2`
//! or `2.0.1+1.0.6-social-amd64`. Releases order by the semver of the left part (pre-releases
//! before their release, as semver says), then by the right part in natural order (digit runs
//! compare as numbers, so `1.25.3` < `1.25.10`); a tag without a right part orders before the
//! same left part with one.
//!
//! A leading `v` (`v1.2.3+4.5`) is accepted: it is stripped before parsing, the version keeps the
//! tag's full name in [`Version::tag`], and an info note says so. A tag whose left part is not
//! semver, or a lightweight tag, is never a release: each is reported as a [`TagNote`] so the
//! caller can show it (lint rule R014 turns lightweight tags into errors).

use std::cmp::Ordering;
use std::fmt;

use serde::Serialize;

use crate::git::Tag;

/// A parsed recipe version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Version {
    /// The tag name exactly as written in git (with its `v`, if any).
    pub tag: String,
    /// The recipe's own semver (left of `+`).
    #[serde(serialize_with = "serialize_display")]
    pub recipe: semver::Version,
    /// The app (main image) version (right of `+`), if the tag has one.
    pub app: Option<String>,
}

fn serialize_display<S: serde::Serializer>(v: &semver::Version, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

impl Version {
    /// Parse a tag name. Returns why it does not conform on failure.
    pub fn parse(tag: &str) -> Result<Version, String> {
        let body = tag.strip_prefix('v').unwrap_or(tag);
        let (left, right) = match body.split_once('+') {
            Some((l, r)) => (l, Some(r)),
            None => (body, None),
        };
        if let Some(r) = right {
            if r.is_empty() || r.chars().any(|c| c.is_whitespace() || c == '+') {
                return Err(format!("`{tag}`: the app version after `+` is empty or malformed"));
            }
        }
        let recipe =
            semver::Version::parse(left).map_err(|e| format!("`{tag}`: `{left}` is not a semver version ({e})"))?;
        Ok(Version { tag: tag.to_string(), recipe, app: right.map(str::to_string) })
    }

    /// Whether the tag was written with a leading `v`.
    pub fn v_prefixed(&self) -> bool {
        self.tag.starts_with('v')
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.tag)
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.recipe
            .cmp(&other.recipe)
            .then_with(|| match (&self.app, &other.app) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Less,
                (Some(_), None) => Ordering::Greater,
                (Some(a), Some(b)) => natural_cmp(a, b),
            })
            .then_with(|| self.tag.cmp(&other.tag))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Natural order: runs of ASCII digits compare as numbers, everything else byte-wise.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let la = a.iter().take_while(|c| c.is_ascii_digit()).count();
                let lb = b.iter().take_while(|c| c.is_ascii_digit()).count();
                let (na, nb) = (trim_zeros(&a[..la]), trim_zeros(&b[..lb]));
                let ord = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
                if ord != Ordering::Equal {
                    return ord;
                }
                a = &a[la..];
                b = &b[lb..];
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(y);
                }
                a = &a[1..];
                b = &b[1..];
            }
        }
    }
}

fn trim_zeros(digits: &[u8]) -> &[u8] {
    let start = digits.iter().position(|&d| d != b'0').unwrap_or(digits.len());
    &digits[start..]
}

/// A release: an annotated, conforming tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Release {
    pub version: Version,
    /// The commit the tag points at.
    pub commit: String,
    /// Whether the commit is an ancestor of (or equal to) the checkout's HEAD.
    pub in_history: bool,
}

/// Why a tag is mentioned beside the releases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TagNoteKind {
    /// A lightweight tag: abra ignores it as a release (R014).
    Lightweight,
    /// A tag whose name is not `<semver>[+<app-version>]`.
    NonConforming { reason: String },
    /// An accepted release written with a leading `v`.
    VPrefixed,
}

/// A tag that is not a release, or a release worth a remark.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TagNote {
    pub tag: String,
    #[serde(flatten)]
    pub kind: TagNoteKind,
}

impl TagNote {
    /// One line for humans.
    pub fn message(&self) -> String {
        match &self.kind {
            TagNoteKind::Lightweight => {
                format!("tag `{}` is lightweight: not a release (release tags must be annotated)", self.tag)
            }
            TagNoteKind::NonConforming { reason } => {
                format!("tag `{}` is not a release: {reason}", self.tag)
            }
            TagNoteKind::VPrefixed => {
                format!("tag `{}` has a `v` prefix: read as {}", self.tag, self.tag.trim_start_matches('v'))
            }
        }
    }
}

/// The versions of a recipe checkout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Versions {
    /// Releases, oldest first.
    pub releases: Vec<Release>,
    /// Tags that are not releases, and remarks on releases.
    pub notes: Vec<TagNote>,
    /// The commit checked out.
    pub head: String,
}

impl Versions {
    /// Sort tags into releases and notes. `in_history(commit)` tells whether a commit is an
    /// ancestor of the checkout's HEAD.
    pub fn from_tags(tags: &[Tag], head: &str, mut in_history: impl FnMut(&str) -> bool) -> Versions {
        let mut releases = Vec::new();
        let mut notes = Vec::new();
        for tag in tags {
            let parsed = Version::parse(&tag.name);
            match (&parsed, tag.annotated) {
                (Err(reason), _) => notes.push(TagNote {
                    tag: tag.name.clone(),
                    kind: TagNoteKind::NonConforming { reason: reason.clone() },
                }),
                (Ok(_), false) => notes.push(TagNote { tag: tag.name.clone(), kind: TagNoteKind::Lightweight }),
                (Ok(version), true) => {
                    if version.v_prefixed() {
                        notes.push(TagNote { tag: tag.name.clone(), kind: TagNoteKind::VPrefixed });
                    }
                    releases.push(Release {
                        version: version.clone(),
                        commit: tag.commit.clone(),
                        in_history: in_history(&tag.commit),
                    });
                }
            }
        }
        releases.sort_by(|a, b| a.version.cmp(&b.version));
        Versions { releases, notes, head: head.to_string() }
    }

    /// The newest release, if any.
    pub fn latest(&self) -> Option<&Release> {
        self.releases.last()
    }

    /// The release whose tag is exactly `name`, if `name` is a release tag.
    pub fn release_named(&self, name: &str) -> Option<&Release> {
        self.releases.iter().find(|r| r.version.tag == name)
    }

    /// The releases at the checked-out commit (a commit may carry several tags).
    pub fn releases_at_head(&self) -> impl Iterator<Item = &Release> {
        self.releases.iter().filter(|r| r.commit == self.head)
    }

    /// The upgrade base for the checked-out ref: the newest release that is in the ref's history
    /// and older than it. When the ref is itself a release (named `ref_name`, or tagged at HEAD),
    /// "older" means a lower version; otherwise it means a release commit other than HEAD.
    pub fn latest_release_before(&self, ref_name: Option<&str>) -> Option<&Release> {
        let current = ref_name
            .and_then(|name| self.release_named(name))
            .or_else(|| self.releases_at_head().min_by(|a, b| a.version.cmp(&b.version)));
        self.releases
            .iter()
            .filter(|r| r.in_history)
            .filter(|r| match current {
                Some(cur) => r.version < cur.version,
                None => r.commit != self.head,
            })
            .max_by(|a, b| a.version.cmp(&b.version))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn app_part_orders_naturally() {
        assert!(v("1.0.0+1.25.3") < v("1.0.0+1.25.10"));
        assert!(v("1.0.0+1.25.10") < v("1.1.0+1.2.0"));
        assert!(v("1.0.0-rc.1+9") < v("1.0.0+1"));
        assert!(v("1.0.0") < v("1.0.0+0.1"));
    }

    #[test]
    fn natural_cmp_treats_digit_runs_as_numbers() {
        assert_eq!(natural_cmp("1.0.6-social", "1.0.10-social"), Ordering::Less);
        assert_eq!(natural_cmp("007", "7"), Ordering::Equal);
        assert_eq!(natural_cmp("a", "b"), Ordering::Less);
    }

    #[test]
    fn v_prefix_is_stripped_but_kept_in_the_tag() {
        let version = v("v2.4.8");
        assert_eq!(version.recipe, semver::Version::new(2, 4, 8));
        assert!(version.v_prefixed());
        assert_eq!(version.tag, "v2.4.8");
    }

    #[test]
    fn non_conforming_tags_are_rejected_with_a_reason() {
        assert!(Version::parse("latest").unwrap_err().contains("not a semver"));
        assert!(Version::parse("1.2+3").is_err());
        assert!(Version::parse("1.2.3+").is_err());
    }

    fn tag(name: &str, annotated: bool, commit: &str) -> Tag {
        Tag { name: name.into(), annotated, commit: commit.into() }
    }

    #[test]
    fn upgrade_base_is_the_newest_older_release_in_history() {
        let tags = [
            tag("1.0.0+1.0", true, "c1"),
            tag("1.1.0+1.0", true, "c2"),
            tag("2.0.0+2.0", true, "c3"),
            tag("9.0.0+9", true, "other-branch"),
        ];
        let in_hist = |c: &str| c != "other-branch";
        // HEAD beyond the last release: base is the last release.
        let vs = Versions::from_tags(&tags, "c4", in_hist);
        assert_eq!(vs.latest_release_before(None).unwrap().version.tag, "2.0.0+2.0");
        // HEAD at a release: base is the one before.
        let vs = Versions::from_tags(&tags, "c3", in_hist);
        assert_eq!(vs.latest_release_before(None).unwrap().version.tag, "1.1.0+1.0");
        // Ref named explicitly.
        assert_eq!(vs.latest_release_before(Some("1.1.0+1.0")).unwrap().version.tag, "1.0.0+1.0");
        assert!(vs.latest_release_before(Some("1.0.0+1.0")).is_none());
    }
}
