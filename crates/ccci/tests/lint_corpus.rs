//! `ccci lint` on every recipe of the shared corpus: never a crash, output pinned by snapshots,
//! exit codes by level, and at least one true finding for each rule the corpus can show.

#[path = "../../recipe/tests/versions_repo/mod.rs"]
mod versions_repo;

use std::collections::BTreeSet;
use std::process::Command;

use versions_repo::{corpus, corpus_recipes, corpus_repo, run_cleaned};

fn ccci(args: &[&str]) -> (String, i32) {
    run_cleaned(env!("CARGO_BIN_EXE_ccci"), args)
}

/// The rule ids (with levels) `ccci lint --json` reports for a recipe directory.
fn rules(dir: &str) -> BTreeSet<(String, String)> {
    let out = Command::new(env!("CARGO_BIN_EXE_ccci")).args(["lint", "--json", dir]).output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("lint --json prints JSON");
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["rule"].as_str().unwrap().to_string(), f["level"].as_str().unwrap().to_string()))
        .collect()
}

fn corpus_rules(name: &str) -> BTreeSet<String> {
    rules(&corpus().join(name).to_string_lossy()).into_iter().map(|(r, _)| r).collect()
}

#[test]
fn lint_text_for_every_corpus_recipe() {
    for name in corpus_recipes() {
        let (out, code) = ccci(&["lint", &corpus().join(&name).to_string_lossy()]);
        assert!(!out.contains("panicked"), "{name}: {out}");
        let has_error = out.lines().any(|l| l.contains(": ERROR "));
        assert_eq!(code, if has_error { 1 } else { 0 }, "{name}: {out}");
        insta::assert_snapshot!(format!("lint_{name}"), out);
    }
}

#[test]
fn lint_json_for_every_corpus_recipe() {
    for name in corpus_recipes() {
        let (out, _) = ccci(&["lint", "--json", &corpus().join(&name).to_string_lossy()]);
        insta::assert_snapshot!(format!("lint_json_{name}"), out);
    }
}

#[test]
fn each_rule_the_corpus_shows_fires_on_the_recipe_that_shows_it() {
    let expect = [
        ("agora", "R002"),          // no healthchecks (commented out)
        ("agora", "R004"),          // moonlion/agora-server:testing
        ("agora", "R005"),          // `testing` is not semver-like
        ("gaseous", "R003"),        // image `mariadb` without a tag
        ("gaseous", "C002"),        // ...and so deployed untagged
        ("gaseous", "R004"),        // gaseousserver:latest
        ("bonfire", "R007"),        // empty Healthcheck/Backups/... metadata
        ("docs-coopcloud", "R007"), // no README at all
        ("docs-coopcloud", "R008"), // no .env.sample
        ("custom-php", "R012"),     // config versions with no abra.sh
        ("custom-php", "R015"),     // db_root_password: 65 characters under a 45-char stack
        ("bonfire", "R015"),        // livebook_password and more
        ("traefik", "C001"),        // file_provider_yml config name: 66 characters
        ("custom-php", "C001"),     // nginx_default_conf config name
        ("bonfire", "C004"),        // pg_backup.sh was left out of the corpus copy
    ];
    for (recipe, rule) in expect {
        assert!(corpus_rules(recipe).contains(rule), "{recipe} should trigger {rule}");
    }
    // And clean where the recipe is clean.
    assert!(!corpus_rules("traefik").contains("R012"), "traefik vendors its config versions in abra.sh");
    assert!(!corpus_rules("go-ssb-room").contains("R004"), "go-ssb-room pins 2.0.3");
}

#[test]
fn tag_rules_on_git_repositories_of_corpus_recipes() {
    let tmp = tempfile::tempdir().unwrap();
    // traefik's only tag, v2.4.8, is lightweight: R014 error and no published version (R006).
    let traefik = rules(&corpus_repo(tmp.path(), "traefik").to_string_lossy());
    assert!(traefik.contains(&("R014".into(), "error".into())), "{traefik:?}");
    assert!(traefik.contains(&("R006".into(), "warning".into())), "{traefik:?}");
    // bonfire's tags are annotated releases: neither rule fires.
    let bonfire = rules(&corpus_repo(tmp.path(), "bonfire").to_string_lossy());
    assert!(!bonfire.iter().any(|(r, _)| r == "R014" || r == "R006"), "{bonfire:?}");
}

#[test]
fn r013_is_skipped_with_its_reason_and_skip_removes_a_rule() {
    let (out, _) = ccci(&["lint", &corpus().join("go-ssb-room").to_string_lossy()]);
    assert!(out.contains("R013: skipped: needs the network"), "{out}");
    let (out, code) = ccci(&[
        "lint",
        "--skip",
        "R015",
        "--skip",
        "C001",
        "--skip",
        "R012",
        &corpus().join("traefik").to_string_lossy(),
    ]);
    assert_eq!(code, 0, "only warnings left: {out}");
    assert!(out.contains("C001: skipped: skipped on request"), "{out}");
}
