//! Malformed recipes through the real binary: every command that reads the recipe fails with
//! exit code 2 and a single stderr line naming the file (and line when known), never a panic.
//! `lint` is the one exception where a rule covers the fault: a missing `.env.sample` is R008 and
//! an unknown overlay is C003, reported as error findings (exit 1).

use std::path::Path;
use std::process::Command;

const COMPOSE: &str = "version: \"3.8\"\nservices:\n  app:\n    image: nginx:1.25.3\n    deploy:\n      labels:\n        - \"traefik.enable=true\"\n";
const SAMPLE: &str = "TYPE=demo\nDOMAIN=demo.example.com\nLETS_ENCRYPT_ENV=production\n";

/// A valid recipe in a fresh tempdir (the recipe is its `demo` sub-folder, so a sibling file
/// outside the recipe exists for the symlink case).
fn recipe() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("compose.yml"), COMPOSE).unwrap();
    std::fs::write(dir.join(".env.sample"), SAMPLE).unwrap();
    std::fs::write(tmp.path().join("outside.yml"), COMPOSE).unwrap();
    tmp
}

/// The commands that read the recipe through `recipe::files` (size cap, symlink escape check).
const GUARDED: [&str; 3] = ["plan", "lint", "render"];

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

fn ccci(command: &str, dir: &Path) -> Outcome {
    let out = Command::new(env!("CARGO_BIN_EXE_ccci")).arg(command).arg(dir).output().unwrap();
    Outcome {
        code: out.status.code().expect("exited, not killed by a signal"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Exit 2, one stderr line, naming `needle` (a file, and `file:line` where the line is known).
fn assert_refused(command: &str, dir: &Path, needle: &str) {
    let out = ccci(command, dir);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(out.code, 2, "{command}: {}{}", out.stdout, out.stderr);
    assert_eq!(lines.len(), 1, "{command}: one stderr line expected: {}", out.stderr);
    assert!(lines[0].contains(needle), "{command}: `{needle}` not in: {}", lines[0]);
    assert!(!out.stderr.contains("panicked"), "{command}: {}", out.stderr);
}

#[test]
fn the_valid_base_recipe_passes() {
    let tmp = recipe();
    let dir = tmp.path().join("demo");
    for command in ["plan", "lint", "render"] {
        let out = ccci(command, &dir);
        assert_eq!(out.code, 0, "{command}: {}{}", out.stdout, out.stderr);
    }
}

#[test]
fn bad_yaml() {
    let tmp = recipe();
    let dir = tmp.path().join("demo");
    std::fs::write(dir.join("compose.yml"), "version: \"3.8\"\nservices:\n  app: [unclosed\n").unwrap();
    for command in ["plan", "lint", "render"] {
        assert_refused(command, &dir, "compose.yml:");
    }
}

#[test]
fn missing_env_sample() {
    let tmp = recipe();
    let dir = tmp.path().join("demo");
    std::fs::remove_file(dir.join(".env.sample")).unwrap();
    assert_refused("plan", &dir, ".env.sample");
    assert_refused("render", &dir, ".env.sample");
    let lint = ccci("lint", &dir);
    assert_eq!(lint.code, 1, "{}{}", lint.stdout, lint.stderr);
    assert!(lint.stdout.contains(".env.sample: ERROR R008"), "{}", lint.stdout);
}

#[test]
fn unknown_overlay_in_compose_file() {
    let tmp = recipe();
    let dir = tmp.path().join("demo");
    std::fs::write(dir.join(".env.sample"), format!("{SAMPLE}COMPOSE_FILE=compose.yml:compose.nope.yml\n")).unwrap();
    assert_refused("plan", &dir, ".env.sample:4:");
    assert_refused("render", &dir, "compose.nope.yml");
    let lint = ccci("lint", &dir);
    assert_eq!(lint.code, 1, "{}{}", lint.stdout, lint.stderr);
    assert!(lint.stdout.contains(".env.sample:4: ERROR C003"), "{}", lint.stdout);
}

#[test]
fn required_variable_unset() {
    let tmp = recipe();
    let dir = tmp.path().join("demo");
    let compose = COMPOSE.replace("nginx:1.25.3", "nginx:${TAG:?set TAG in the env}");
    std::fs::write(dir.join("compose.yml"), compose).unwrap();
    for command in ["plan", "lint", "render"] {
        assert_refused(command, &dir, "TAG");
        assert_refused(command, &dir, "compose.yml");
    }
}

#[test]
fn non_utf8_file() {
    let tmp = recipe();
    let dir = tmp.path().join("demo");
    let mut bytes = COMPOSE.as_bytes().to_vec();
    bytes.extend_from_slice(b"# caf\xe9\n");
    std::fs::write(dir.join("compose.yml"), bytes).unwrap();
    for command in ["plan", "lint", "render"] {
        assert_refused(command, &dir, "compose.yml");
    }
    assert_refused("plan", &dir, "compose.yml:8: not valid UTF-8");
}

#[test]
fn ten_megabyte_file() {
    let tmp = recipe();
    let dir = tmp.path().join("demo");
    let filler = "# padding padding padding padding padding padding padding padding\n".repeat(160_000);
    std::fs::write(dir.join("compose.yml"), format!("{COMPOSE}{filler}")).unwrap();
    assert!(std::fs::metadata(dir.join("compose.yml")).unwrap().len() > 10_000_000);
    for command in GUARDED {
        assert_refused(command, &dir, "compose.yml");
    }
}

#[test]
fn symlink_outside_the_recipe() {
    let tmp = recipe();
    let dir = tmp.path().join("demo");
    std::fs::remove_file(dir.join("compose.yml")).unwrap();
    std::os::unix::fs::symlink("../outside.yml", dir.join("compose.yml")).unwrap();
    for command in GUARDED {
        assert_refused(command, &dir, "compose.yml");
    }
    assert_refused("lint", &dir, "outside the recipe");
}
