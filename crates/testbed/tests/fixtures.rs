//! Fixture recipes build into real recipe repositories: annotated release tags whose names match
//! the version label of the tagged compose file, the declared branches, reproducible commit ids,
//! and compose files that Docker's own stack loader accepts with the recipe's env.

mod common;

use std::path::Path;
use std::process::Command;

use common::TestStack;

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git").current_dir(dir).args(args).output().unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn version_label(compose: &str) -> Option<String> {
    let at = compose.find("coop-cloud.${STACK_NAME}.version=")?;
    let rest = &compose[at + "coop-cloud.${STACK_NAME}.version=".len()..];
    Some(rest.split(['"', '\n']).next()?.trim().to_string())
}

#[test]
fn every_fixture_builds_with_annotated_tags_matching_its_version_label() {
    let names = testbed::fixture_names();
    for expected in ["simple", "app-db", "crashloop", "unhealthy", "missing-image", "missing-overlay", "long-secret"] {
        assert!(names.iter().any(|n| n == expected), "fixture {expected} missing from {names:?}");
    }
    let tmp = tempfile::tempdir().unwrap();
    for name in &names {
        let repo = testbed::fixture(name, &tmp.path().join(name)).unwrap();
        assert!(!repo.tags.is_empty(), "{name} has no release");
        assert_eq!(git(&repo.path, &["status", "--porcelain"]), "", "{name}: dirty tree");
        assert_eq!(git(&repo.path, &["branch", "--show-current"]), "main");
        for tag in &repo.tags {
            assert_eq!(git(&repo.path, &["cat-file", "-t", tag]), "tag", "{name} {tag} not annotated");
            let compose = git(&repo.path, &["show", &format!("{tag}:compose.yml")]);
            assert_eq!(version_label(&compose).as_deref(), Some(tag.as_str()), "{name} {tag}");
            git(&repo.path, &["show", &format!("{tag}:release/{tag}")]);
        }
        for file in ["compose.yml", ".env.sample", "abra.sh", "README.md"] {
            assert!(repo.path.join(file).is_file(), "{name}: {file} missing");
        }
    }
}

#[test]
fn app_db_has_two_releases_and_an_unreleased_branch() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = testbed::fixture("app-db", &tmp.path().join("app-db")).unwrap();
    assert_eq!(repo.tags, ["1.0.0+1.35", "1.1.0+1.36"]);
    assert_eq!(repo.branches, ["main", "next"]);
    assert_eq!(repo.latest_tag(), Some("1.1.0+1.36"));
    assert_eq!(repo.commit("main").unwrap(), repo.commit("1.1.0+1.36").unwrap());
    let ahead = git(&repo.path, &["rev-list", "--count", "main..next"]);
    assert_eq!(ahead, "1");
    assert_eq!(git(&repo.path, &["describe", "--tags", "next"]).split('-').next(), Some("1.1.0+1.36"));

    let again = testbed::fixture("app-db", &tmp.path().join("again")).unwrap();
    assert_eq!(again.commit("next").unwrap(), repo.commit("next").unwrap(), "not reproducible");
    assert!(testbed::fixture("app-db", &tmp.path().join("app-db")).is_err(), "non-empty dest");
    assert!(testbed::fixture("no-such-fixture", &tmp.path().join("x")).is_err());
}

#[test]
fn docker_stack_loader_accepts_every_deployable_fixture() {
    let tmp = tempfile::tempdir().unwrap();
    for name in testbed::fixture_names() {
        let repo = testbed::fixture(&name, &tmp.path().join(&name)).unwrap();
        let stack = TestStack::new(&name);
        let mut files = vec!["compose.yml".to_string()];
        if name == "app-db" {
            files.push("compose.debug.yml".into());
        }
        let mut cmd = Command::new("docker");
        cmd.current_dir(&repo.path).env_clear().args(["stack", "config"]);
        for f in &files {
            cmd.args(["-c", f]);
        }
        if let Ok(path) = std::env::var("PATH") {
            cmd.env("PATH", path);
        }
        let out = cmd.envs(stack.env(&repo.path)).output().unwrap();
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        let config = String::from_utf8_lossy(&out.stdout);
        assert!(config.contains(&format!("Host(`{}`)", stack.domain)), "{name}: {config}");
    }
}

#[test]
fn broken_fixtures_are_broken_the_documented_way() {
    let tmp = tempfile::tempdir().unwrap();
    let overlay = testbed::fixture("missing-overlay", &tmp.path().join("mo")).unwrap();
    let env = std::fs::read_to_string(overlay.path.join(".env.sample")).unwrap();
    assert!(env.contains("COMPOSE_FILE=\"compose.yml:compose.smtp.yml\""));
    assert!(!overlay.path.join("compose.smtp.yml").exists());

    // The shortest stack name the CI's scheme can produce: `<recipe[:4]>-<6 hex>_<1-char domain>`.
    let long = testbed::fixture("long-secret", &tmp.path().join("ls")).unwrap();
    let compose = std::fs::read_to_string(long.path.join("compose.yml")).unwrap();
    let secret = "oauth_client_credentials_for_the_upstream_identity_provider";
    assert!(compose.contains(&format!("name: ${{STACK_NAME}}_{secret}_")));
    assert!(format!("long-a1b2c3_x_{secret}_v1").len() > 64);

    let image = testbed::fixture("missing-image", &tmp.path().join("mi")).unwrap();
    let compose = std::fs::read_to_string(image.path.join("compose.yml")).unwrap();
    assert!(compose.contains(testbed::MISSING_IMAGE));
}
