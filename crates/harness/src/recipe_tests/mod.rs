//! Recipe tests (SPEC T5): finding suites in a `tests/` directory (pytest, or plain
//! executables), running them on the CI host against the live app with the recipe-test
//! environment (`crate::test_env`) under the run's command time limit — in the run's sandbox,
//! unless the suite is the CI tree's and the CI trusts it (SPEC V9) — and reading pytest's
//! JUnit XML into cases ([`junit`]).

pub mod junit;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::context::RunContext;
use crate::exec::{self, HostCommand};
use crate::result::{Case, Outcome, Tier};

/// A runnable set of tests found in a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Suite {
    /// A pytest suite rooted at the directory.
    Pytest { dir: PathBuf, origin: String, trusted: bool },
    /// One executable file.
    Executable { path: PathBuf, origin: String, trusted: bool },
}

/// Largest JUnit XML read back from a pytest run.
const MAX_JUNIT: u64 = 16 << 20;

/// The suites in `dir` (absent → none): pytest if it has `test_*.py`, `*_test.py` or `conftest.py`
/// anywhere; and every executable top-level file that is not Python. `trusted` suites run
/// outside the sandbox.
pub fn discover(dir: &Path, origin: &str, trusted: bool) -> Vec<Suite> {
    let mut suites = Vec::new();
    if !dir.is_dir() {
        return suites;
    }
    if has_pytest_files(dir) {
        suites.push(Suite::Pytest { dir: dir.to_path_buf(), origin: origin.into(), trusted });
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).into_iter().flatten().flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let executable =
            std::fs::metadata(&path).map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false);
        if executable && !name.starts_with('.') && !name.ends_with(".py") {
            suites.push(Suite::Executable { path, origin: origin.into(), trusted });
        }
    }
    suites
}

fn has_pytest_files(dir: &Path) -> bool {
    std::fs::read_dir(dir).into_iter().flatten().flatten().any(|e| {
        let name = e.file_name().to_string_lossy().into_owned();
        let path = e.path();
        if path.is_dir() {
            return !name.starts_with('.') && has_pytest_files(&path);
        }
        name == "conftest.py" || (name.ends_with(".py") && (name.starts_with("test_") || name.ends_with("_test.py")))
    })
}

/// The Python that runs pytest and the screenshot script: `$CCCI_PYTHON`, else `python3`.
pub fn python() -> PathBuf {
    std::env::var_os("CCCI_PYTHON").map_or_else(|| PathBuf::from("python3"), PathBuf::from)
}

/// Run one suite; its output goes to the run log. Returns its cases.
pub async fn run_suite(ctx: &RunContext<'_>, suite: &Suite, index: usize) -> Vec<Case> {
    let sandbox = ctx.sandbox;
    match suite {
        Suite::Pytest { dir, origin, trusted } => {
            let trusted = *trusted;
            let mut env = crate::test_env::test_env(ctx, trusted);
            // Written by the suite, read back by ccci: in the sandbox directory either way.
            let junit = sandbox.dir().join(format!("junit-{index}.xml"));
            let _ = std::fs::remove_file(&junit);
            env.insert("PYTHONDONTWRITEBYTECODE".into(), "1".into());
            let args = ["-m", "pytest", "-p", "no:cacheprovider", "-q", "-rfE"].map(String::from);
            let mut args = args.to_vec();
            let seen = sandbox.seen(dir, trusted);
            args.push(format!("--junitxml={}", sandbox.seen(&junit, trusted).display()));
            args.push(format!("--rootdir={}", seen.display()));
            args.push(seen.to_string_lossy().into_owned());
            let cmd = HostCommand { program: python(), args, dir: seen, env, trusted };
            let ran = exec::on_host(ctx, Tier::Custom, &cmd, &format!("pytest {origin}")).await;
            let xml = crate::sandbox::files::read_regular(&junit, MAX_JUNIT).unwrap_or_default();
            let mut cases = junit::parse_junit(&xml);
            for c in &mut cases {
                c.name = format!("{origin}:{}", c.name);
            }
            match ran {
                Err(e) => cases.push(Case {
                    name: format!("{origin}:pytest"),
                    outcome: Outcome::Error,
                    message: Some(e),
                    duration_ms: 0,
                }),
                Ok(r)
                    if cases.is_empty() || (r.exit_code != 0 && !cases.iter().any(|c| c.outcome == Outcome::Fail)) =>
                {
                    // No cases, or pytest failed without a failing case: collection or usage error.
                    let outcome = if r.last_line.contains("No module named pytest") {
                        Outcome::Error
                    } else if r.exit_code == 0 {
                        Outcome::Pass
                    } else {
                        Outcome::Fail
                    };
                    cases.push(Case {
                        name: format!("{origin}:pytest"),
                        outcome,
                        message: Some(format!("pytest exited {}: {}", r.exit_code, r.last_line)),
                        duration_ms: crate::result::millis(r.elapsed),
                    });
                }
                Ok(_) => {}
            }
            cases
        }
        Suite::Executable { path, origin, trusted } => {
            let trusted = *trusted;
            let env = crate::test_env::test_env(ctx, trusted);
            let name = format!("{origin}:{}", path.file_name().unwrap_or_default().to_string_lossy());
            let dir = path.parent().map_or_else(|| sandbox.dir().to_path_buf(), Path::to_path_buf);
            let (program, dir) = (sandbox.seen(path, trusted), sandbox.seen(&dir, trusted));
            let cmd = HostCommand { program, args: Vec::new(), dir, env, trusted };
            let case = match exec::on_host(ctx, Tier::Custom, &cmd, &name).await {
                Ok(r) if r.exit_code == 0 => {
                    Case { name, outcome: Outcome::Pass, message: None, duration_ms: crate::result::millis(r.elapsed) }
                }
                Ok(r) => Case {
                    message: Some(format!("exit {}: {}", r.exit_code, r.last_line)),
                    name,
                    outcome: Outcome::Fail,
                    duration_ms: crate::result::millis(r.elapsed),
                },
                Err(e) => Case { name, outcome: Outcome::Error, message: Some(e), duration_ms: 0 },
            };
            vec![case]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_finds_pytest_and_executables() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("test_x.py"), "").unwrap();
        std::fs::write(d.path().join("helper.py"), "").unwrap();
        std::fs::write(d.path().join("README"), "").unwrap();
        let exe = d.path().join("check.sh");
        std::fs::write(&exe, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        let suites = discover(d.path(), "recipe", false);
        assert_eq!(suites.len(), 2, "{suites:?}");
        assert!(matches!(&suites[1], Suite::Executable { path, trusted: false, .. } if path == &exe));
        assert!(discover(&d.path().join("none"), "ci", true).is_empty());
    }
}
