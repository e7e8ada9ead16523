//! `ccci config check` (SPEC O1): a sample configuration is printed with defaults filled in and the
//! secrets masked; a configuration whose token file is missing exits non-zero naming the file.

use std::process::Command;

const SECRET_TOKEN: &str = "tok-9d2f7c1e-never-printed";

fn sample(dir: &std::path::Path, token_file: &std::path::Path) -> std::path::PathBuf {
    let config = dir.join("server.toml");
    std::fs::write(
        &config,
        format!(
            "base_domain = \"ci.example.org\"\npublic_url = \"https://ci.example.org\"\n\
             [forge]\nkind = \"forgejo\"\nbase_url = \"https://git.example.org\"\nbot_login = \"cc-ci\"\n\
             token_file = \"{}\"\n[auth]\norg = \"coop-cloud\"\n[[repos]]\nrepo = \"coop-cloud/app-db\"\n",
            token_file.display()
        ),
    )
    .unwrap();
    config
}

fn check(config: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ccci")).args(["config", "check", "--config"]).arg(config).output().unwrap()
}

#[test]
fn a_sample_config_is_printed_with_defaults_and_the_token_masked() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, SECRET_TOKEN).unwrap();
    let out = check(&sample(dir.path(), &token));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(!stdout.contains(SECRET_TOKEN), "the token was printed:\n{stdout}");
    assert!(stdout.contains("token = \"***\""), "{stdout}");
    assert!(stdout.contains(&format!("token_file = \"{}\"", token.display())), "{stdout}");
    for default in
        ["max_tests = 1", "run_timeout_minutes = 60", "poll_interval_seconds = 60", "listen = \"127.0.0.1:8090\""]
    {
        assert!(stdout.contains(default), "default {default} not shown:\n{stdout}");
    }
    assert!(stdout.contains("repo = \"coop-cloud/app-db\""), "{stdout}");
}

#[test]
fn a_missing_token_file_exits_non_zero_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-token");
    let out = check(&sample(dir.path(), &missing));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains(&missing.display().to_string()), "file not named: {stderr}");
    assert!(stderr.contains("forge.token_file"), "key not named: {stderr}");
}

#[test]
fn the_sample_config_the_debian_package_ships_passes_given_its_token_file() {
    let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packaging/server.toml");
    let text = std::fs::read_to_string(&sample).unwrap();
    let shipped_token = "token_file = \"/etc/cc-ci/forge-token\"";
    assert!(text.contains(shipped_token), "the sample no longer reads the token from /etc/cc-ci/forge-token");
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("forge-token");
    std::fs::write(&token, SECRET_TOKEN).unwrap();
    // Only where the token lives changes: a test cannot write /etc (scripts/test-package checks the
    // file as installed, unchanged).
    let config = dir.path().join("server.toml");
    std::fs::write(&config, text.replace(shipped_token, &format!("token_file = \"{}\"", token.display()))).unwrap();
    let out = check(&config);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("data_dir = \"/var/lib/cc-ci\"") && stdout.contains("listen = \"127.0.0.1:8090\""));
}
