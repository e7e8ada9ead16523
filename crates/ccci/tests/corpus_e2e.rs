//! End to end on the real swarm: real published recipes from the shared corpus, read where they
//! lie (never copied into this repository), pass `ccci test --tiers install` unmodified through the
//! real Traefik over HTTPS with the certificate verified, their own labels, middlewares and rules
//! meeting the real proxy; the images are the testbed's look-alikes under the recipes' own names
//! (scripts/testbed-setup). go-ssb-room and docs-coopcloud are left out: Traefik 3 refuses their
//! routers (lint C006 and C005, docs/testbed.md).

#[path = "../../recipe/tests/versions_repo/mod.rs"]
mod versions_repo;

mod support;

use support::{ccci_test, leftovers, testbed};

fn installs_through_the_real_proxy(recipe: &str) {
    testbed();
    let work = tempfile::tempdir().unwrap();
    let run = ccci_test(work.path(), &versions_repo::corpus().join(recipe), &["--tiers", "install"]);
    let install = run.tier("install");
    assert_eq!(run.code(), Some(0), "{install}\nstderr:\n{}", run.stderr());
    let reason = install["reason"].as_str().unwrap();
    assert!(reason.contains("https://") && reason.contains("answered 200 (certificate verified)"), "{reason}");
    assert_eq!(leftovers(run.run_id()), Vec::<String>::new(), "objects of the run remain");
}

#[test]
fn agora_installs_and_serves_through_the_real_proxy() {
    installs_through_the_real_proxy("agora");
}

#[test]
fn gaseous_installs_and_serves_through_the_real_proxy() {
    installs_through_the_real_proxy("gaseous");
}
