//! End to end on the real swarm (SPEC W1–W5): `ccci warm seed` makes a canonical copy from a
//! green cold run of a release tag; quick runs on it pass or fail and always leave its data
//! byte-for-byte as its snapshot, its version, commit and snapshot unchanged; a seed of a branch
//! is refused and a red seed changes nothing; a quick killed with `kill -9` while it holds the
//! copy is cleaned up by the next one without any manual step.

mod support;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use support::{ccci, poll, spawn_ccci_test_env, testbed, Role, Step, TestRun};

/// `ccci warm seed <repo> --ref <tag>`. Each test seeds a recipe of its own, so tests running at
/// once never share a copy (`warm-<recipe>.ccci.test`, which the testbed's wildcard covers).
fn seed(work: &Path, repo: &Path, tag: &str) -> TestRun {
    warm_command(work, &["warm", "seed"], repo, &["--ref", tag], &format!("seed-{tag}"))
}

/// `ccci test <repo> --quick --ref <git_ref>` on the recipe's copy.
fn quick(work: &Path, repo: &Path, git_ref: &str) -> TestRun {
    warm_command(work, &["test"], repo, &["--quick", "--ref", git_ref], &format!("quick-{git_ref}"))
}

/// `ccci <command> <repo> <args> --out <work>/<out>`, finished.
fn warm_command(work: &Path, command: &[&str], repo: &Path, args: &[&str], out: &str) -> TestRun {
    let out = work.join(out);
    let _ = std::fs::remove_dir_all(&out);
    let output = ccci(work).args(command).arg(repo).args(args).arg("--out").arg(&out).output().expect("ccci runs");
    finished(output, &out)
}

fn finished(output: Output, out_dir: &Path) -> TestRun {
    let text = std::fs::read_to_string(out_dir.join("result.json"))
        .unwrap_or_else(|e| panic!("no result.json ({e}); stderr:\n{}", String::from_utf8_lossy(&output.stderr)));
    TestRun { output, out_dir: out_dir.to_path_buf(), result: serde_json::from_str(&text).unwrap() }
}

/// The copy's record (`ccci warm status --json`).
fn record(work: &Path, recipe: &str) -> Option<serde_json::Value> {
    let out = ccci(work).args(["warm", "status", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let all: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    all.into_iter().find(|c| c["recipe"] == recipe)
}

/// `sha256 path` of every file in `volume`, sorted (read through a throwaway container).
fn checksums(volume: &str) -> Vec<String> {
    let out = Command::new("docker")
        .args(["run", "--rm", "--label", "cc-ci.testbed=checksum", "-v"])
        .arg(format!("{volume}:/v:ro"))
        .args([testbed::BUSYBOX_IMAGE, "sh", "-c", "cd /v && find . -type f | sort | xargs -r sha256sum"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect()
}

/// Drop the copy and check nothing of it is left on the engine.
fn drop_copy(work: &Path, recipe: &str, stack: &str) {
    let out = ccci(work).args(["warm", "drop", recipe]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for kind in ["volume", "secret"] {
        let left = support::docker_lines(&[kind, "ls", "-q", "--filter", &format!("label=cc-ci.canonical={stack}")]);
        assert_eq!(left, Vec::<String>::new(), "{kind}s of the dropped copy remain");
    }
    assert_eq!(record(work, recipe), None);
}

fn tier<'a>(run: &'a TestRun, name: &str) -> &'a serde_json::Value {
    run.tier(name)
}

#[test]
fn quick_runs_leave_the_copy_as_its_snapshot_whatever_they_do_and_a_killed_one_is_cleaned_up() {
    testbed();
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let repo = testbed::fixture("slow-start", &w.join("slow-start")).unwrap();
    let seeded = seed(w, &repo.path, "1.1.0+1.36");
    assert_eq!(seeded.code(), Some(0), "{}\n{}", seeded.result, seeded.stderr());
    assert!(seeded.result["notice"].as_str().unwrap().starts_with("promoted"), "{}", seeded.result);
    let copy = record(w, "slow-start").expect("a canonical copy");
    assert_eq!((copy["status"].as_str(), copy["version"].as_str()), (Some("idle"), Some("1.1.0+1.36")));
    assert_eq!(copy["commit"], repo.commit("1.1.0+1.36").unwrap().as_str());
    let stack = copy["stack"].as_str().unwrap().to_string();
    let volume = format!("{stack}_data");
    let snapshot = checksums(&volume);
    assert!(snapshot.len() >= 25, "the migrated schema is in the copy: {snapshot:?}");

    let good = quick(w, &repo.path, "good-pr");
    assert_eq!(good.code(), Some(0), "{}\n{}", good.result, good.stderr());
    assert_eq!(good.result["mode"], "quick");
    let tiers: Vec<&str> =
        good.result["tiers"].as_array().unwrap().iter().map(|t| t["tier"].as_str().unwrap()).collect();
    assert_eq!(tiers, ["install", "upgrade", "custom"]);
    assert!(tier(&good, "upgrade")["reason"].as_str().unwrap().contains("data marker survived"), "{}", good.result);
    let after = record(w, "slow-start").unwrap();
    for field in ["version", "commit", "snapshot", "status"] {
        assert_eq!(after[field], copy[field], "{field} changed");
    }
    assert_eq!(after["last_quick"]["outcome"], "pass");
    assert_eq!(checksums(&volume), snapshot, "after a passing quick the data is the snapshot");

    let bad = quick(w, &repo.path, "bad-pr");
    assert_eq!(bad.code(), Some(1), "{}\n{}", bad.result, bad.stderr());
    assert_eq!(tier(&bad, "upgrade")["outcome"], "fail", "{}", bad.result);
    assert_eq!(
        checksums(&volume),
        snapshot,
        "after a quick that corrupted the data and crashed, the data is the snapshot"
    );
    assert_eq!(record(w, "slow-start").unwrap()["status"], "idle");

    // A quick killed with -9 while it holds the copy (during its upgrade)...
    let mut killed = spawn_ccci_test_env(
        &w.join("killed"),
        &repo.path,
        &["--quick", "--ref", "good-pr"],
        &[("CCCI_DATA_DIR", w.join("data").as_os_str())],
    );
    poll("the killed quick's upgrade deploy", Duration::from_secs(300), || {
        killed.steps_so_far().iter().any(|s| matches!(s, Step::Deploying { role: Role::Target, .. })).then_some(())
    });
    killed.kill9();
    assert_eq!(record(w, "slow-start").unwrap()["status"], "busy");
    // ...and the next quick cleans up after it with no manual step.
    let next = quick(w, &repo.path, "good-pr");
    assert_eq!(next.code(), Some(0), "{}\n{}", next.result, next.stderr());
    let recovered = next.steps().iter().any(|s| matches!(s, Step::Note { text } if text.contains("left busy")));
    assert!(recovered, "the next quick says it restored the copy first");
    assert_eq!(record(w, "slow-start").unwrap()["status"], "idle");
    assert_eq!(checksums(&volume), snapshot);
    drop_copy(w, "slow-start", &stack);
}

#[test]
fn a_seed_of_a_branch_is_refused_and_a_red_seed_leaves_the_copy_untouched() {
    testbed();
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let repo = testbed::fixture("crashloop", &w.join("crashloop")).unwrap();
    let seeded = seed(w, &repo.path, "1.0.0+1.35");
    assert_eq!(seeded.code(), Some(0), "{}\n{}", seeded.result, seeded.stderr());
    let copy = record(w, "crashloop").unwrap();
    let stack = copy["stack"].as_str().unwrap().to_string();
    let volume = format!("{stack}_data");
    let data = checksums(&volume);

    let branch = ccci(w).args(["warm", "seed"]).arg(&repo.path).args(["--ref", "main"]).output().unwrap();
    assert_eq!(branch.status.code(), Some(2), "{}", String::from_utf8_lossy(&branch.stderr));
    let said = String::from_utf8_lossy(&branch.stderr);
    assert!(said.contains("annotated release tag") && said.contains("main"), "{said}");
    assert_eq!(record(w, "crashloop").unwrap(), copy, "a refused seed changes nothing");

    let red = seed(w, &repo.path, "1.1.0+1.35");
    assert_eq!(red.code(), Some(1), "the crashing release fails: {}", red.result);
    assert_eq!(red.result["notice"], "not promoted: the run of 1.1.0+1.35 did not pass");
    assert_eq!(record(w, "crashloop").unwrap(), copy, "a red seed leaves the copy untouched");
    assert_eq!(checksums(&volume), data);
    drop_copy(w, "crashloop", &stack);
}
