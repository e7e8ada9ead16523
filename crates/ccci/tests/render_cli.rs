//! The real `ccci render` binary, run with a deliberately polluted process environment, prints
//! the same document as `docker stack config` for a flat app env file; input errors exit 2 with
//! one line on stderr.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn corpus() -> PathBuf {
    let shared = std::env::var_os("CCCI_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    shared.join("recipes")
}

fn ccci() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ccci"));
    for (k, v) in [
        ("LANG", "junk"),
        ("HOME", "/junk"),
        ("DOMAIN", "junk.invalid"),
        ("STACK_NAME", "junk"),
        ("APP_VERSION", "junk"),
    ] {
        cmd.env(k, v);
    }
    cmd
}

#[test]
fn binary_render_equals_docker_stack_config() {
    if !Command::new("docker").arg("--version").output().is_ok_and(|o| o.status.success()) {
        eprintln!("SKIPPED: no docker client on PATH");
        return;
    }
    let recipe = corpus().join("bonfire");
    let sample = recipe::app_env::env_sample(&recipe).unwrap();
    let abra_sh = recipe::app_env::read_abra_sh(&recipe).unwrap();
    let mut env = recipe::app_env::build(&sample.file, &abra_sh, Some("bonfire.example.com"));
    env.insert("COMPOSE_FILE".into(), "compose.yml:compose.postgres.yml:compose.sonic.yml".into());
    let scratch = tempfile::tempdir().unwrap();
    let env_file = scratch.path().join("app.env");
    std::fs::write(&env_file, recipe::env::render(&env)).unwrap();

    let ours = ccci().arg("render").arg(&recipe).arg("--env-file").arg(&env_file).output().unwrap();
    assert!(ours.status.success(), "{}", String::from_utf8_lossy(&ours.stderr));
    let mut docker = Command::new("docker");
    docker.args(["stack", "config"]).current_dir(&recipe).env_clear();
    for f in recipe::app_env::compose_files(&env) {
        docker.args(["-c", &f]);
    }
    let flat: BTreeMap<String, String> = env;
    docker.env("PATH", std::env::var_os("PATH").unwrap_or_default()).env("DOCKER_CONFIG", scratch.path()).envs(&flat);
    let theirs = docker.output().unwrap();
    assert!(theirs.status.success(), "{}", String::from_utf8_lossy(&theirs.stderr));
    let parse = |b: &[u8]| serde_norway::from_slice::<serde_norway::Value>(b).unwrap();
    assert_eq!(parse(&ours.stdout), parse(&theirs.stdout));
}

#[test]
fn missing_env_sample_exits_2_with_one_line() {
    let out = ccci().arg("render").arg(corpus().join("docs-coopcloud")).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains(".env.sample"), "{stderr}");
    let ok = ccci()
        .arg("render")
        .arg(corpus().join("docs-coopcloud"))
        .args(["--set", "DOMAIN=docs.example.com"])
        .output()
        .unwrap();
    assert_eq!(ok.status.code(), Some(2), "--set alone does not replace the missing env sample");
    let explicit = tempfile::NamedTempFile::new().unwrap();
    let out = ccci()
        .arg("render")
        .arg(corpus().join("docs-coopcloud"))
        .arg("--env-file")
        .arg(explicit.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn an_explicit_stack_name_in_the_env_file_wins_over_the_domain() {
    let scratch = tempfile::tempdir().unwrap();
    let recipe = scratch.path().join("named");
    std::fs::create_dir(&recipe).unwrap();
    std::fs::write(
        recipe.join("compose.yml"),
        "version: \"3.8\"\nservices:\n  app:\n    image: x/y:1\n    environment: [\"STACK=${STACK_NAME}\"]\n",
    )
    .unwrap();
    let env_file = scratch.path().join("app.env");
    std::fs::write(&env_file, "DOMAIN=app.example.com\nSTACK_NAME=mine\n").unwrap();
    let out = ccci().arg("render").arg(&recipe).arg("--env-file").arg(&env_file).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_norway::Value = serde_norway::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["services"]["app"]["environment"]["STACK"], serde_norway::Value::from("mine"), "{doc:?}");
    std::fs::write(&env_file, "DOMAIN=app.example.com\n").unwrap();
    let out = ccci().arg("render").arg(&recipe).arg("--env-file").arg(&env_file).output().unwrap();
    let doc: serde_norway::Value = serde_norway::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["services"]["app"]["environment"]["STACK"], serde_norway::Value::from("app_example_com"));
}
