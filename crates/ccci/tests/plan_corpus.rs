//! `ccci plan` on every recipe of the shared corpus: never a crash, output pinned by snapshots,
//! and the tier decisions the corpus shows (backupbot labels → backup runs; none → skipped;
//! no tags in a plain directory → upgrade skipped as "versions unknown").

#[path = "../../recipe/tests/versions_repo/mod.rs"]
mod versions_repo;

use versions_repo::{corpus, corpus_recipes, run_cleaned};

fn ccci(args: &[&str]) -> (String, i32) {
    run_cleaned(env!("CARGO_BIN_EXE_ccci"), args)
}

#[test]
fn plan_text_for_every_corpus_recipe() {
    for name in corpus_recipes() {
        let dir = corpus().join(&name);
        let (out, code) = ccci(&["plan", &dir.to_string_lossy()]);
        assert!(code == 0 || code == 2, "{name}: {out}");
        assert!(!out.contains("panicked"), "{name}: {out}");
        insta::assert_snapshot!(format!("plan_{name}"), out);
    }
}

#[test]
fn plan_json_for_every_corpus_recipe() {
    for name in corpus_recipes() {
        let dir = corpus().join(&name);
        let (out, _) = ccci(&["plan", "--json", &dir.to_string_lossy()]);
        insta::assert_snapshot!(format!("plan_json_{name}"), out);
    }
}

#[test]
fn tier_decisions_follow_the_recipe() {
    let plan = |name: &str| ccci(&["plan", &corpus().join(name).to_string_lossy()]).0;
    let bonfire = plan("bonfire");
    assert!(bonfire.contains("backup   runs: backupbot.backup on: app, db"), "{bonfire}");
    assert!(bonfire.contains("timeout: 300s (label coop-cloud.${STACK_NAME}.timeout on app)"), "{bonfire}");
    assert!(bonfire.contains("secret_key_base version v1: generate 128 chars"), "{bonfire}");
    let traefik = plan("traefik");
    assert!(traefik.contains("backup   skipped: no backupbot labels"), "{traefik}");
    assert!(traefik.contains("upgrade  skipped: versions unknown: not a git checkout"), "{traefik}");
    assert!(traefik.contains("timeout: 50s (default"), "{traefik}");
    assert!(traefik.contains("custom   runs: CI checks only: the recipe has no tests/"), "{traefik}");
    let (docs, code) = ccci(&["plan", &corpus().join("docs-coopcloud").to_string_lossy()]);
    assert_eq!(code, 2);
    assert!(docs.contains("<corpus>/docs-coopcloud/.env.sample: no .env.sample"), "{docs}");
}
