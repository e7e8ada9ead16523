//! Versions read from a real git repository built by the test: annotated vs lightweight tags,
//! `+` metadata ordering, `v`-prefixed and non-conforming tags, and the upgrade base.

mod versions_repo;

use recipe::recipe::{Recipe, VersionInfo};
use recipe::versions::TagNoteKind;
use versions_repo::{commit, init, tag};

fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("compose.yml"), "version: \"3.8\"\nservices: {app: {image: x:1}}\n").unwrap();
    init(dir.path());
    for (name, annotated) in [
        ("1.0.0+1.25.10", true),
        ("1.0.0+1.25.3", true),
        ("v1.1.0+1.26.0", true),
        ("1.2.0+1.27.0", false),
        ("nightly", true),
        ("2.0.0+1.28.0", true),
    ] {
        commit(dir.path(), name);
        tag(dir.path(), name, annotated);
    }
    commit(dir.path(), "head");
    dir
}

#[test]
fn releases_are_annotated_conforming_tags_in_version_order() {
    let dir = repo();
    let recipe = Recipe::load(dir.path()).unwrap();
    let VersionInfo::Known(versions) = &recipe.versions else { panic!("git checkout has versions") };
    let tags: Vec<&str> = versions.releases.iter().map(|r| r.version.tag.as_str()).collect();
    // `+1.25.3` orders before `+1.25.10` (natural order of the app part), `v` prefix accepted.
    assert_eq!(tags, ["1.0.0+1.25.3", "1.0.0+1.25.10", "v1.1.0+1.26.0", "2.0.0+1.28.0"]);
    assert_eq!(versions.latest().unwrap().version.tag, "2.0.0+1.28.0");
}

#[test]
fn lightweight_non_conforming_and_v_prefixed_tags_are_reported() {
    let dir = repo();
    let recipe = Recipe::load(dir.path()).unwrap();
    let versions = recipe.versions.known().unwrap();
    let notes: Vec<(&str, &TagNoteKind)> = versions.notes.iter().map(|n| (n.tag.as_str(), &n.kind)).collect();
    assert!(notes.contains(&("1.2.0+1.27.0", &TagNoteKind::Lightweight)), "{notes:?}");
    assert!(notes.contains(&("v1.1.0+1.26.0", &TagNoteKind::VPrefixed)), "{notes:?}");
    assert!(notes.iter().any(|(t, k)| *t == "nightly" && matches!(k, TagNoteKind::NonConforming { .. })), "{notes:?}");
    assert!(versions.release_named("1.2.0+1.27.0").is_none(), "a lightweight tag is never a release");
}

#[test]
fn upgrade_base_is_the_latest_release_before_the_ref() {
    let dir = repo();
    // HEAD is past the last release: the base is the last release.
    let recipe = Recipe::load(dir.path()).unwrap();
    let versions = recipe.versions.known().unwrap();
    assert_eq!(versions.latest_release_before(None).unwrap().version.tag, "2.0.0+1.28.0");

    // A private checkout at a release tag: the base is the release before it.
    let at_tag = Recipe::load_git(&dir.path().to_string_lossy(), Some("2.0.0+1.28.0")).unwrap();
    let versions = at_tag.versions.known().unwrap();
    assert_eq!(versions.latest_release_before(Some("2.0.0+1.28.0")).unwrap().version.tag, "v1.1.0+1.26.0");
    assert_ne!(at_tag.dir, dir.path(), "loading from git uses a private checkout");

    // The first release has nothing before it.
    let first = Recipe::load_git(&dir.path().to_string_lossy(), Some("1.0.0+1.25.3")).unwrap();
    assert!(first.versions.known().unwrap().latest_release_before(Some("1.0.0+1.25.3")).is_none());
}

#[test]
fn a_plain_directory_has_unknown_versions() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("compose.yml"), "version: \"3.8\"\n").unwrap();
    let recipe = Recipe::load(dir.path()).unwrap();
    assert_eq!(recipe.versions, VersionInfo::Unknown { reason: "not a git checkout".into() });
}
