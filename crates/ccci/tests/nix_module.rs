//! The NixOS module (nix/) without a Nix build (these machines cannot build with Nix): every Nix
//! file parses, and the server.toml the module would write — nix/settings.nix evaluated for
//! nix/example-settings.nix by the real Nix evaluator, then JSON to TOML as `pkgs.formats.toml`
//! does — passes `ccci config check`. Needs `nix-instantiate` (Debian's nix-bin), so the tests
//! are ignored in a plain `cargo test`; scripts/test-nix installs it and runs them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn nix_instantiate(args: &[&str]) -> Output {
    Command::new("nix-instantiate").args(args).output().unwrap_or_else(|e| {
        panic!("cannot run nix-instantiate ({e}): install Debian's nix-bin, or run scripts/test-nix")
    })
}

/// `nix/settings.nix` applied to the example settings and the given secret arguments, as JSON.
fn rendered_settings(secrets: &str) -> serde_json::Value {
    let nix = repo().join("nix");
    let expr = format!(
        "import {}/settings.nix {{ settings = import {}/example-settings.nix; {secrets} }}",
        nix.display(),
        nix.display()
    );
    let out = nix_instantiate(&["--eval", "--strict", "--json", "--expr", &expr]);
    assert!(out.status.success(), "nix-instantiate --eval: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON from nix-instantiate")
}

/// JSON to TOML, as `pkgs.formats.toml` (remarshal) converts plain data.
fn toml_text(settings: &serde_json::Value) -> String {
    let value: toml::Value = serde_json::from_value(settings.clone()).expect("TOML-representable settings");
    toml::to_string(&value).expect("TOML text")
}

fn config_check(config: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ccci")).args(["config", "check", "--config"]).arg(config).output().unwrap()
}

#[test]
#[ignore = "needs nix-instantiate (Debian nix-bin); scripts/test-nix runs it"]
fn every_nix_file_parses() {
    let root = repo();
    let mut files = vec![root.join("flake.nix")];
    for entry in std::fs::read_dir(root.join("nix")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "nix") {
            files.push(path);
        }
    }
    assert!(files.len() >= 5, "flake.nix and nix/*.nix expected: {files:?}");
    for file in files {
        let out = nix_instantiate(&["--parse", &file.to_string_lossy()]);
        assert!(out.status.success(), "{} does not parse: {}", file.display(), String::from_utf8_lossy(&out.stderr));
    }
}

#[test]
#[ignore = "needs nix-instantiate (Debian nix-bin); scripts/test-nix runs it"]
fn the_module_renders_a_config_that_passes_config_check() {
    let module = std::fs::read_to_string(repo().join("nix/module.nix")).unwrap();
    assert!(module.contains("import ./settings.nix"), "the module no longer renders through settings.nix");

    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("forge-token");
    let secret = dir.path().join("webhook-secret");
    std::fs::write(&token, "tok-nix-4d1e0b").unwrap();
    std::fs::write(&secret, "hook-nix-9a7c2f-0b3e").unwrap();
    let settings = rendered_settings(&format!(
        "tokenFile = \"{}\"; webhookSecretFile = \"{}\";",
        token.display(),
        secret.display()
    ));
    let config = dir.path().join("server.toml");
    std::fs::write(&config, toml_text(&settings)).unwrap();

    let out = config_check(&config);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}\n{stdout}", String::from_utf8_lossy(&out.stderr));
    for expected in [
        "base_domain = \"ci.example.org\"".to_string(),
        "data_dir = \"/var/lib/cc-ci\"".to_string(),
        "listen = \"127.0.0.1:8090\"".to_string(),
        "max_tests = 2".to_string(),
        format!("token_file = \"{}\"", token.display()),
        format!("secret_file = \"{}\"", secret.display()),
        "recipe = \"other-recipe\"".to_string(),
    ] {
        assert!(stdout.contains(&expected), "{expected} not in the effective config:\n{stdout}");
    }
    assert!(!stdout.contains("tok-nix-4d1e0b") && !stdout.contains("hook-nix-9a7c2f"), "{stdout}");
}

#[test]
#[ignore = "needs nix-instantiate (Debian nix-bin); scripts/test-nix runs it"]
fn without_a_token_file_the_rendered_config_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("server.toml");
    std::fs::write(&config, toml_text(&rendered_settings(""))).unwrap();
    let out = config_check(&config);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("forge.token_file"), "{stderr}");
}
