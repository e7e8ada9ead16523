//! What the sweep does with one recipe (SPEC S1), decided from its newest annotated release tag
//! and its canonical copy's version, without I/O: a newer release is cold-tested (and promoted on
//! green); an equal or older one is skipped ("no new version"); no release at all is skipped
//! ("never released"). A release whose cold run *failed* (the recipe's fault) is not tried again
//! on the same commit until a newer release comes, so a second sweep changes nothing and raises
//! no second alert; one that *errored* (the CI's fault) is tried again.

use recipe::versions::{Release, Version};

/// The decision and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Cold-test `tag` at `commit`; promote it on green.
    Test { tag: String, commit: String, why: String },
    /// Nothing to do.
    Skip { why: String },
}

/// An earlier failed seed of the same release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EarlierFailure {
    pub run: i64,
}

/// The reason of a skip for a recipe without any release tag.
pub const NEVER_RELEASED: &str = "never released";
/// The reason of a skip for a recipe whose copy is at its newest release (or newer).
pub const NO_NEW_VERSION: &str = "no new version";

/// Decides for a recipe whose newest release is `newest`, whose canonical copy is at `canonical`
/// (its recorded version), and whose newest release already failed in `failed` (if it did).
pub fn decide(newest: Option<&Release>, canonical: Option<&str>, failed: Option<EarlierFailure>) -> Decision {
    let Some(newest) = newest else {
        return Decision::Skip { why: format!("{NEVER_RELEASED}: no annotated release tag") };
    };
    let tag = &newest.version.tag;
    let current = canonical.map(|v| (v, Version::parse(v)));
    if let Some((at, Ok(version))) = &current {
        if newest.version <= *version {
            return Decision::Skip {
                why: format!("{NO_NEW_VERSION}: the canonical copy is at {at}, the newest release is {tag}"),
            };
        }
    }
    if let Some(failed) = failed {
        return Decision::Skip {
            why: format!("{tag} failed in run #{}; not tried again until a newer release", failed.run),
        };
    }
    let why = match current {
        None => format!("new release {tag}; no canonical copy yet"),
        Some((at, Ok(_))) => format!("new release {tag}; the canonical copy is at {at}"),
        Some((at, Err(_))) => format!("release {tag}; the canonical copy's version {at:?} is not a release"),
    };
    Decision::Test { tag: tag.clone(), commit: newest.commit.clone(), why }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(tag: &str) -> Release {
        Release { version: Version::parse(tag).unwrap(), commit: format!("commit-of-{tag}"), in_history: true }
    }

    #[test]
    fn a_newer_release_is_tested_an_equal_or_older_one_is_not() {
        let newest = release("1.1.0+1.36");
        assert_eq!(
            decide(Some(&newest), Some("1.0.0+1.35"), None),
            Decision::Test {
                tag: "1.1.0+1.36".into(),
                commit: "commit-of-1.1.0+1.36".into(),
                why: "new release 1.1.0+1.36; the canonical copy is at 1.0.0+1.35".into()
            }
        );
        for at in ["1.1.0+1.36", "1.2.0+1.36"] {
            let Decision::Skip { why } = decide(Some(&newest), Some(at), None) else { panic!("{at}: not skipped") };
            assert!(why.starts_with(NO_NEW_VERSION), "{why}");
        }
        assert!(
            matches!(decide(Some(&newest), None, None), Decision::Test { why, .. } if why.contains("no canonical copy"))
        );
    }

    #[test]
    fn no_release_is_never_released_and_a_failed_release_is_not_retried() {
        assert_eq!(
            decide(None, Some("1.0.0"), None),
            Decision::Skip { why: "never released: no annotated release tag".into() }
        );
        let newest = release("2.0.0+1");
        let Decision::Skip { why } = decide(Some(&newest), Some("1.0.0+1"), Some(EarlierFailure { run: 7 })) else {
            panic!("retried")
        };
        assert!(why.contains("run #7"), "{why}");
    }
}
