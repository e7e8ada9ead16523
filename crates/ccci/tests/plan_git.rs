//! `ccci plan` on git repositories built from corpus recipes with the tags of their TAGS.txt:
//! the versioned path (upgrade base, release refs, never-released recipes, lightweight tags).

#[path = "../../recipe/tests/versions_repo/mod.rs"]
mod versions_repo;

use std::process::Command;

use versions_repo::corpus_repo;

fn plan_json(args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_ccci")).arg("plan").arg("--json").args(args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn tier(plan: &serde_json::Value, name: &str) -> serde_json::Value {
    plan["tiers"].as_array().unwrap().iter().find(|t| t["tier"] == name).unwrap().clone()
}

#[test]
fn bonfire_upgrades_from_its_latest_release() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = corpus_repo(tmp.path(), "bonfire");
    let repo = repo.to_string_lossy();

    let head = plan_json(&[&repo]);
    assert_eq!(
        head["versions"]["releases"],
        serde_json::json!(["1.0.0+1.0.5-social-amd64", "2.0.0+1.0.5-social-amd64", "2.0.1+1.0.6-social-amd64"])
    );
    assert_eq!(head["upgrade_base"], "2.0.1+1.0.6-social-amd64");
    assert_eq!(tier(&head, "upgrade")["decision"], "runs");
    assert!(head["commit"].as_str().unwrap().len() == 40);

    // Planning a release tag: the base is the release before it, and the ref is a release.
    let at_tag = plan_json(&[&repo, "--ref", "2.0.0+1.0.5-social-amd64"]);
    assert_eq!(at_tag["upgrade_base"], "1.0.0+1.0.5-social-amd64");
    assert_eq!(at_tag["versions"]["ref_is_release"], true);

    let first = plan_json(&[&repo, "--ref", "1.0.0+1.0.5-social-amd64"]);
    assert_eq!(first["upgrade_base"], serde_json::Value::Null);
    assert_eq!(tier(&first, "upgrade")["reason"], "no release older than 1.0.0+1.0.5-social-amd64");
}

#[test]
fn traefik_with_only_a_lightweight_tag_was_never_released() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = corpus_repo(tmp.path(), "traefik");
    let plan = plan_json(&[&repo.to_string_lossy()]);
    assert_eq!(tier(&plan, "upgrade")["reason"], "never released");
    let notes = plan["versions"]["notes"].to_string();
    assert!(notes.contains("v2.4.8") && notes.contains("lightweight"), "{notes}");
}

#[test]
fn an_untagged_repository_was_never_released() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = corpus_repo(tmp.path(), "gaseous");
    let plan = plan_json(&[&repo.to_string_lossy()]);
    assert_eq!(tier(&plan, "upgrade")["reason"], "never released");
}

#[test]
fn config_files_are_relative_to_the_recipe_however_it_is_reached() {
    let tmp = tempfile::tempdir().unwrap();
    let real = tmp.path().join("real");
    std::fs::create_dir(&real).unwrap();
    std::fs::write(
        real.join("compose.yml"),
        "version: \"3.8\"\nservices:\n  app:\n    image: x/y:1\n    configs: [entry]\nconfigs:\n  entry:\n    name: ${STACK_NAME}_entry_v1\n    file: entrypoint.sh.tmpl\n  present:\n    name: ${STACK_NAME}_present_v1\n    file: present.txt\n",
    )
    .unwrap();
    std::fs::write(real.join("present.txt"), "x").unwrap();
    std::fs::write(real.join(".env.sample"), "TYPE=real\nDOMAIN=r.example.com\n").unwrap();
    std::os::unix::fs::symlink(&real, tmp.path().join("link")).unwrap();
    let link = tmp.path().join("link");
    for reached in [real.clone(), link.clone(), link.join("."), tmp.path().join("link/../link")] {
        let plan = plan_json(&[reached.to_str().unwrap()]);
        let mut files: Vec<&str> =
            plan["configs"].as_array().unwrap().iter().filter_map(|c| c["file"].as_str()).collect();
        files.sort();
        assert_eq!(files, ["entrypoint.sh.tmpl", "present.txt"], "through {}: {plan}", reached.display());
    }
}
