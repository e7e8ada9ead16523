//! The safety gate before any automatic update of a deployed app (SPEC I2): an update is **held**
//! (the app stays on its current version; a person decides) when
//!
//! - the recipe's major version changes (left of `+`), or the app's own major version changes
//!   (the first number right of `+`, a leading `v` ignored): a major bump signals breaking changes
//!   or manual steps (COOPCLOUD.md); or
//! - the target's release notes (`release/<tag>`) mention a manual step: any of the phrases in
//!   [`MANUAL_PHRASES`], case-insensitively, anywhere in the text.
//!
//! A patch or minor update with ordinary notes is not held. Pure: no I/O.

use crate::versions::Version;

/// Phrases in release notes that mean a person must act during the update.
pub const MANUAL_PHRASES: [&str; 7] = [
    "manual migration",
    "migrate manually",
    "manually migrate",
    "manual step",
    "manual intervention",
    "manual action",
    "breaking change",
];

/// Why an update from `current` to `target` must be held, or `None` when it may go ahead.
pub fn hold_reason(current: &Version, target: &Version, notes: Option<&str>) -> Option<String> {
    if target.recipe.major != current.recipe.major {
        return Some(format!(
            "the recipe's major version changes ({} → {}): breaking changes or manual steps",
            current.tag, target.tag
        ));
    }
    if let (Some(a), Some(b)) = (app_major(current), app_major(target)) {
        if a != b {
            return Some(format!(
                "the app's major version changes ({} → {}): breaking changes or manual steps",
                current.tag, target.tag
            ));
        }
    }
    let text = notes?.to_lowercase();
    let phrase = MANUAL_PHRASES.iter().find(|p| text.contains(*p))?;
    Some(format!("the release notes of {} mention a {phrase:?}", target.tag))
}

/// The first number of the app version (right of `+`), a leading `v` ignored.
fn app_major(v: &Version) -> Option<u64> {
    let app = v.app.as_deref()?.trim_start_matches(['v', 'V']);
    let digits: String = app.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(tag: &str) -> Version {
        Version::parse(tag).unwrap()
    }

    #[test]
    fn a_minor_update_with_ordinary_notes_goes_ahead() {
        assert_eq!(hold_reason(&v("1.0.0+v3.6.15"), &v("1.1.0+v3.7.15"), Some("Traefik 3.7.15; new metrics.")), None);
        assert_eq!(hold_reason(&v("1.0.0+1.2"), &v("1.0.1+1.2"), None), None);
    }

    #[test]
    fn a_major_bump_on_either_side_is_held() {
        let r = hold_reason(&v("1.4.0+v3.7.15"), &v("2.0.0+v3.7.15"), None).unwrap();
        assert!(r.contains("recipe's major version changes (1.4.0+v3.7.15 → 2.0.0+v3.7.15)"), "{r}");
        let r = hold_reason(&v("1.4.0+v2.11.0"), &v("1.5.0+v3.0.4"), None).unwrap();
        assert!(r.contains("app's major version changes"), "{r}");
    }

    #[test]
    fn notes_asking_for_a_manual_step_hold_the_update() {
        let notes = "Keycloak 25.\n\nMANUAL MIGRATION needed: export realms first.";
        let r = hold_reason(&v("1.4.0+24.0.1"), &v("1.5.0+24.1.0"), Some(notes)).unwrap();
        assert_eq!(r, "the release notes of 1.5.0+24.1.0 mention a \"manual migration\"");
    }
}
