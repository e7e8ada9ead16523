//! The pipelines in docs/ci-examples (SPEC V8): each example's `ccci test` command line, exactly as
//! written in its YAML, runs in a checkout of a fixture recipe on the testbed's swarm, passes, and
//! leaves junit.xml and result.json where the example's publish step picks them up.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{leftovers, testbed};

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/ci-examples").join(name)
}

/// Every string in a YAML document (commands, `run:` blocks, settings), recursively.
fn strings(value: &serde_norway::Value, out: &mut Vec<String>) {
    match value {
        serde_norway::Value::String(s) => out.push(s.clone()),
        serde_norway::Value::Sequence(items) => items.iter().for_each(|v| strings(v, out)),
        serde_norway::Value::Mapping(map) => map.iter().for_each(|(k, v)| {
            strings(k, out);
            strings(v, out);
        }),
        serde_norway::Value::Tagged(tagged) => strings(&tagged.value, out),
        _ => {}
    }
}

/// The one `ccci test` command line of an example (a line of a YAML string, so never a comment).
fn ccci_test_line(text: &str, name: &str) -> String {
    let doc: serde_norway::Value =
        serde_norway::from_str(text).unwrap_or_else(|e| panic!("{name} is not valid YAML: {e}"));
    let mut all = Vec::new();
    strings(&doc, &mut all);
    let lines: Vec<String> = all
        .iter()
        .flat_map(|s| s.lines().map(str::trim).map(str::to_string).collect::<Vec<_>>())
        .filter(|l| l.starts_with("ccci test "))
        .collect();
    assert_eq!(lines.len(), 1, "{name} must run `ccci test` exactly once: {lines:?}");
    lines[0].clone()
}

/// The value of `--out` in a command line.
fn out_dir(line: &str) -> String {
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words.iter().position(|w| *w == "--out").unwrap_or_else(|| panic!("no --out in `{line}`"));
    words[at + 1].to_string()
}

fn run_example(name: &str) {
    testbed();
    let text = std::fs::read_to_string(example(name)).unwrap();
    let line = ccci_test_line(&text, name);
    let out = out_dir(&line);
    assert!(
        text.matches(&format!("{out}/")).count() >= 1,
        "{name}: no publish step picks up {out}/ (where `{line}` writes junit.xml)"
    );
    assert!(!text.contains("/work/") && !text.contains("/root/"), "{name} names a path of this machine");

    let work = tempfile::tempdir().unwrap();
    let repo = testbed::fixture("simple", &work.path().join("simple")).unwrap();
    // The testbed's engine options, as the CI would set them in the step's environment.
    let settings = support::ccci(work.path());
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_ccci")).parent().unwrap().to_path_buf();
    let path = std::env::join_paths(
        std::iter::once(bin_dir).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )
    .unwrap();
    let mut shell = Command::new("sh");
    shell.arg("-c").arg(&line).current_dir(&repo.path).env("PATH", path).env("CCCI_SCHEME", "http");
    for (key, value) in settings.get_envs() {
        if let Some(value) = value {
            shell.env(key, value);
        }
    }
    let status = shell.output().expect("sh runs");
    let stderr = String::from_utf8_lossy(&status.stderr);
    assert_eq!(status.status.code(), Some(0), "{name}: `{line}` failed:\n{stderr}");

    let results = repo.path.join(&out);
    let junit = std::fs::read_to_string(results.join("junit.xml")).expect("junit.xml where the example publishes");
    assert!(junit.contains("<testsuite") && junit.contains("install"), "{junit}");
    let result: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(results.join("result.json")).unwrap()).unwrap();
    assert_eq!(result["outcome"], "pass", "{result}");
    assert_eq!(result["tiers"][1]["tier"], "upgrade");
    assert_eq!(result["tiers"][1]["outcome"], "pass", "the example's checkout must carry the release tags: {result}");
    let run = result["run_id"].as_str().unwrap();
    assert_eq!(leftovers(run), Vec::<String>::new(), "objects of the run remain");
}

#[test]
fn the_woodpecker_example_runs_as_written() {
    run_example("woodpecker.yml");
}

#[test]
fn the_drone_example_runs_as_written() {
    run_example("drone.yml");
}

#[test]
fn the_forgejo_actions_example_runs_as_written() {
    run_example("forgejo-actions.yml");
}
