//! Shared helpers of the end-to-end tests: run the real `ccci` binary against the testbed's swarm
//! and proxy, read what a run left, and list Docker objects still labelled with a run.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A finished `ccci test` invocation.
pub struct TestRun {
    pub output: Output,
    pub out_dir: PathBuf,
    pub result: serde_json::Value,
}

impl TestRun {
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }
    pub fn code(&self) -> Option<i32> {
        self.output.status.code()
    }
    pub fn run_id(&self) -> &str {
        self.result["run_id"].as_str().expect("run_id in result.json")
    }
    pub fn tier(&self, name: &str) -> &serde_json::Value {
        self.result["tiers"]
            .as_array()
            .and_then(|t| t.iter().find(|t| t["tier"] == name))
            .unwrap_or_else(|| panic!("no tier {name} in {}", self.result))
    }
}

/// The testbed ready (engine, swarm, proxy, images) or a panic saying why not.
pub fn testbed() {
    testbed::ensure_ready().expect("the testbed must be ready: run scripts/testbed-setup");
}

/// A `ccci` command with the testbed's options and a private data dir under `work`.
pub fn ccci(work: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ccci"));
    cmd.env("CCCI_DATA_DIR", work.join("data"))
        .env("CCCI_PROXY_ADDR", testbed::proxy_addr().to_string())
        .env("CCCI_DNSRR", "true")
        .env("CCCI_BASE_DOMAIN", "ccci.test");
    cmd
}

/// Run `ccci test <recipe> <args...> --out <work>/out` and read its result.json.
pub fn ccci_test(work: &Path, recipe: &Path, args: &[&str]) -> TestRun {
    let out_dir = work.join("out");
    let output = ccci(work).arg("test").arg(recipe).args(args).arg("--out").arg(&out_dir).output().expect("ccci runs");
    let text = std::fs::read_to_string(out_dir.join("result.json"))
        .unwrap_or_else(|e| panic!("no result.json ({e}); stderr:\n{}", String::from_utf8_lossy(&output.stderr)));
    let result = serde_json::from_str(&text).expect("result.json is JSON");
    TestRun { output, out_dir, result }
}

/// Every Docker object (of each kind) still labelled `cc-ci.run=<run>`, as `kind name` lines.
pub fn leftovers(run: &str) -> Vec<String> {
    let filter = format!("label=cc-ci.run={run}");
    let mut found = Vec::new();
    for (kind, args) in [
        ("service", vec!["service", "ls", "-q"]),
        ("container", vec!["ps", "-aq"]),
        ("secret", vec!["secret", "ls", "-q"]),
        ("config", vec!["config", "ls", "-q"]),
        ("network", vec!["network", "ls", "-q"]),
        ("volume", vec!["volume", "ls", "-q"]),
    ] {
        let out = Command::new("docker").args(&args).args(["--filter", &filter]).output().expect("docker runs");
        for line in String::from_utf8_lossy(&out.stdout).lines().filter(|l| !l.is_empty()) {
            found.push(format!("{kind} {line}"));
        }
    }
    found
}
