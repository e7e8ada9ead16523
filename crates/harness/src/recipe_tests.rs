//! Recipe tests (SPEC T5): the environment a test gets, the run's secret values file that
//! `ccci run-secret` reads, finding suites (pytest, or plain executables) in a `tests/` directory,
//! running them with a time limit and reading their JUnit XML into cases.
//!
//! The test environment contract (docs/recipe-maintainers.md): `CCCI_APP_URL`, `CCCI_APP_DOMAIN`,
//! `CCCI_PROXY_ADDR`, `CCCI_STACK_NAME`, `CCCI_RECIPE`, `CCCI_RUN_ID`, `CCCI_ARTIFACTS`,
//! `CCCI_RUN_DIR`, `CCCI_BIN` (and its directory first on `PATH`), `CCCI_CHROMIUM` when Debian's
//! chromium is installed, plus the env the run's dependencies give.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::context::RunContext;
use crate::result::{Case, Outcome};

/// Names the run's private work dir; `ccci run-secret` reads [`SECRETS_FILE`] there.
pub const RUN_DIR_ENV: &str = "CCCI_RUN_DIR";
/// The file (mode 0600, in the work dir, never in the output dir) with the run's secret values.
pub const SECRETS_FILE: &str = "secrets.json";
/// Longest a suite or executable may run.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(600);
/// Where Debian installs chromium.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// The URL tests reach the app at: `<scheme>://<domain>[:<proxy port>]` (no trailing slash).
pub fn app_url(ctx: &RunContext<'_>) -> String {
    let target = crate::serving::Target {
        domain: ctx.app.domain.clone(),
        scheme: ctx.options.scheme.clone(),
        proxy: ctx.options.proxy,
        path: String::new(),
        expect: Vec::new(),
    };
    target.url()
}

/// `host:port` where the proxy answers for the app's domain.
pub fn proxy_addr(ctx: &RunContext<'_>) -> String {
    match ctx.options.proxy {
        Some(a) => a.to_string(),
        None => format!("{}:{}", ctx.app.domain, if ctx.options.scheme == "https" { 443 } else { 80 }),
    }
}

/// The environment of recipe tests and host hooks.
pub fn test_env(ctx: &RunContext<'_>) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    let state = ctx.state.lock().unwrap_or_else(|e| e.into_inner());
    for dep in &state.dependencies {
        env.extend(dep.env.clone());
    }
    drop(state);
    let mut set = |k: &str, v: String| {
        env.insert(k.to_string(), v);
    };
    set("CCCI_APP_URL", app_url(ctx));
    set("CCCI_APP_DOMAIN", ctx.app.domain.clone());
    set("CCCI_PROXY_ADDR", proxy_addr(ctx));
    set("CCCI_STACK_NAME", ctx.app.stack.clone());
    set("CCCI_RECIPE", recipe_name(ctx));
    set("CCCI_RUN_ID", ctx.run_id.to_string());
    set("CCCI_ARTIFACTS", artifacts_dir(ctx).to_string_lossy().into_owned());
    set(RUN_DIR_ENV, ctx.workdir.to_string_lossy().into_owned());
    if Path::new(CHROMIUM).exists() {
        set("CCCI_CHROMIUM", CHROMIUM.into());
    }
    if let Ok(exe) = std::env::current_exe() {
        let mut path = exe.parent().map(|d| d.to_string_lossy().into_owned()).unwrap_or_default();
        if let Ok(p) = std::env::var("PATH") {
            path = format!("{path}:{p}");
        }
        set("PATH", path);
        set("CCCI_BIN", exe.to_string_lossy().into_owned());
    }
    env
}

/// The recipe's name, from the `coop-cloud.<stack>.recipe` label the run puts on `app`.
pub fn recipe_name(ctx: &RunContext<'_>) -> String {
    let label = format!("coop-cloud.{}.recipe", ctx.app.stack);
    ctx.app.doc["services"]["app"]["deploy"]["labels"][label.as_str()].as_str().unwrap_or_default().to_string()
}

/// Where tests put files to keep: `<out>/artifacts/custom`.
pub fn artifacts_dir(ctx: &RunContext<'_>) -> PathBuf {
    ctx.artifacts_dir.join("custom")
}

/// Record a secret value under each of `names` in the run's secrets file (created 0600).
pub fn record_secret(workdir: &Path, names: &[&str], value: &str) -> std::io::Result<()> {
    let path = workdir.join(SECRETS_FILE);
    let mut all: BTreeMap<String, String> =
        std::fs::read_to_string(&path).ok().and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default();
    for n in names {
        all.insert((*n).to_string(), value.to_string());
    }
    let tmp = workdir.join(format!(".{SECRETS_FILE}.tmp"));
    let mut f = std::fs::OpenOptions::new().create(true).write(true).truncate(true).mode(0o600).open(&tmp)?;
    f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    f.write_all(serde_json::to_string(&all).unwrap_or_default().as_bytes())?;
    std::fs::rename(&tmp, &path)
}

/// The value recorded under `name` (a compose secret key, or a Docker secret name).
pub fn read_secret(run_dir: &Path, name: &str) -> Option<String> {
    let text = std::fs::read_to_string(run_dir.join(SECRETS_FILE)).ok()?;
    let all: BTreeMap<String, String> = serde_json::from_str(&text).ok()?;
    all.get(name).cloned()
}

/// A runnable set of tests found in a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Suite {
    /// A pytest suite rooted at the directory.
    Pytest { dir: PathBuf, origin: String },
    /// One executable file.
    Executable { path: PathBuf, origin: String },
}

/// The suites in `dir` (absent → none): pytest if it has `test_*.py`, `*_test.py` or `conftest.py`
/// anywhere; and every executable top-level file that is not Python.
pub fn discover(dir: &Path, origin: &str) -> Vec<Suite> {
    let mut suites = Vec::new();
    if !dir.is_dir() {
        return suites;
    }
    if has_pytest_files(dir) {
        suites.push(Suite::Pytest { dir: dir.to_path_buf(), origin: origin.into() });
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).into_iter().flatten().flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let executable =
            std::fs::metadata(&path).map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false);
        if executable && !name.starts_with('.') && !name.ends_with(".py") {
            suites.push(Suite::Executable { path, origin: origin.into() });
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

/// Run one suite; its output goes to the run log (redacted). Returns its cases.
pub async fn run_suite(ctx: &RunContext<'_>, suite: &Suite, index: usize) -> Vec<Case> {
    let env = test_env(ctx);
    match suite {
        Suite::Pytest { dir, origin } => {
            let junit = ctx.workdir.join(format!("junit-{index}.xml"));
            let python = std::env::var("CCCI_PYTHON").unwrap_or_else(|_| "python3".into());
            let mut cmd = tokio::process::Command::new(&python);
            cmd.args(["-m", "pytest", "-p", "no:cacheprovider", "-q", "-rfE"])
                .arg(format!("--junitxml={}", junit.display()))
                .arg(format!("--rootdir={}", dir.display()))
                .arg(dir)
                .current_dir(dir)
                .env("PYTHONDONTWRITEBYTECODE", "1");
            let ran = run_logged(ctx, crate::result::Tier::Custom, cmd, &env, &format!("pytest {origin}")).await;
            let xml = std::fs::read_to_string(&junit).unwrap_or_default();
            let mut cases = parse_junit(&xml);
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
                Ok((code, tail, ms))
                    if cases.is_empty() || (code != 0 && !cases.iter().any(|c| c.outcome == Outcome::Fail)) =>
                {
                    // No cases, or pytest failed without a failing case: collection or usage error.
                    let missing = tail.contains("No module named pytest");
                    cases.push(Case {
                        name: format!("{origin}:pytest"),
                        outcome: match (code, missing) {
                            (_, true) => Outcome::Error,
                            (0, _) => Outcome::Pass,
                            (5, _) => Outcome::Fail,
                            _ => Outcome::Fail,
                        },
                        message: Some(format!("pytest exited {code}: {tail}")),
                        duration_ms: ms,
                    });
                }
                Ok(_) => {}
            }
            cases
        }
        Suite::Executable { path, origin } => {
            let name = format!("{origin}:{}", path.file_name().unwrap_or_default().to_string_lossy());
            let mut cmd = tokio::process::Command::new(path);
            if let Some(d) = path.parent() {
                cmd.current_dir(d);
            }
            let case = match run_logged(ctx, crate::result::Tier::Custom, cmd, &env, &name).await {
                Ok((0, _, ms)) => Case { name, outcome: Outcome::Pass, message: None, duration_ms: ms },
                Ok((code, tail, ms)) => Case {
                    name,
                    outcome: Outcome::Fail,
                    message: Some(format!("exit {code}: {tail}")),
                    duration_ms: ms,
                },
                Err(e) => Case { name, outcome: Outcome::Error, message: Some(e), duration_ms: 0 },
            };
            vec![case]
        }
    }
}

/// Run `cmd` with `env` under [`TEST_TIMEOUT`], its output into the log; (exit code, last output
/// line, milliseconds), or why it could not run.
pub async fn run_logged(
    ctx: &RunContext<'_>,
    tier: crate::result::Tier,
    mut cmd: tokio::process::Command,
    env: &BTreeMap<String, String>,
    what: &str,
) -> Result<(i32, String, u64), String> {
    let tier = Some(tier);
    cmd.envs(env).stdin(std::process::Stdio::null()).kill_on_drop(true);
    ctx.log.step(tier, &format!("running {what}"));
    let started = Instant::now();
    let out = match tokio::time::timeout(TEST_TIMEOUT, cmd.output()).await {
        Err(_) => return Err(format!("{what} did not finish within {}s", TEST_TIMEOUT.as_secs())),
        Ok(Err(e)) => return Err(format!("cannot run {what}: {e}")),
        Ok(Ok(out)) => out,
    };
    let ms = crate::result::millis(started.elapsed());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    ctx.log.detail(tier, &stdout);
    ctx.log.detail(tier, &stderr);
    let tail = stderr
        .lines()
        .chain(stdout.lines())
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| ctx.log.redactor().redact(l.trim()))
        .unwrap_or_default();
    let code = out.status.code().unwrap_or(-1);
    ctx.log.step(tier, &format!("{what} exited {code} after {:.1}s", ms as f64 / 1000.0));
    Ok((code, tail, ms))
}

/// The test cases of a JUnit XML document (pytest's, or any other): `classname::name`, pass,
/// fail (failure or error element) or skipped, with the message and time.
pub fn parse_junit(xml: &str) -> Vec<Case> {
    use quick_xml::events::{BytesStart, Event};
    use quick_xml::Reader;

    fn attr(e: &BytesStart<'_>, key: &[u8]) -> Option<String> {
        e.attributes()
            .flatten()
            .find(|a| a.key.as_ref() == key)
            .map(|a| a.unescape_value().map(|v| v.into_owned()).unwrap_or_default())
    }
    let mut reader = Reader::from_str(xml);
    let mut cases = Vec::new();
    let mut current: Option<Case> = None;
    loop {
        let (event, empty) = match reader.read_event() {
            Ok(Event::Start(e)) => (e, false),
            Ok(Event::Empty(e)) => (e, true),
            Ok(Event::End(e)) if e.name().as_ref() == b"testcase" => {
                cases.extend(current.take());
                continue;
            }
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => continue,
        };
        match event.name().as_ref() {
            b"testcase" => {
                let name = attr(&event, b"name").unwrap_or_default();
                let name = match attr(&event, b"classname").filter(|c| !c.is_empty()) {
                    Some(class) => format!("{class}::{name}"),
                    None => name,
                };
                let secs: f64 = attr(&event, b"time").and_then(|t| t.parse().ok()).unwrap_or(0.0);
                let case = Case { name, outcome: Outcome::Pass, message: None, duration_ms: (secs * 1000.0) as u64 };
                if empty {
                    cases.push(case);
                } else {
                    current = Some(case);
                }
            }
            kind @ (b"failure" | b"error" | b"skipped") => {
                if let Some(c) = current.as_mut() {
                    c.outcome = if kind == b"skipped" { Outcome::Skipped } else { Outcome::Fail };
                    let msg = attr(&event, b"message").unwrap_or_else(|| String::from_utf8_lossy(kind).into_owned());
                    c.message = Some(msg.lines().next().unwrap_or_default().chars().take(500).collect());
                }
            }
            _ => {}
        }
    }
    cases
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pytest_junit_lists_every_case_with_its_class() {
        let xml = r#"<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="1" failures="1" skipped="1" tests="4">
<testcase classname="test_app" name="test_ok" time="0.5" />
<testcase classname="test_app" name="test_bad" time="0.1"><failure message="assert 1 == 2&#10;more">trace</failure></testcase>
<testcase classname="test_app.TestX" name="test_err" time="0"><error message="fixture broke">x</error></testcase>
<testcase classname="test_app" name="test_skip" time="0"><skipped type="pytest.skip" message="later" /></testcase>
</testsuite></testsuites>"#;
        let cases = parse_junit(xml);
        let summary: Vec<(&str, Outcome)> = cases.iter().map(|c| (c.name.as_str(), c.outcome)).collect();
        assert_eq!(
            summary,
            [
                ("test_app::test_ok", Outcome::Pass),
                ("test_app::test_bad", Outcome::Fail),
                ("test_app.TestX::test_err", Outcome::Fail),
                ("test_app::test_skip", Outcome::Skipped),
            ]
        );
        assert_eq!(cases[0].duration_ms, 500);
        assert_eq!(cases[1].message.as_deref(), Some("assert 1 == 2"));
    }

    #[test]
    fn garbage_is_no_cases() {
        assert!(parse_junit("not xml <").is_empty());
        assert!(parse_junit("").is_empty());
    }

    #[test]
    fn discovery_finds_pytest_and_executables() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("test_x.py"), "").unwrap();
        std::fs::write(d.path().join("helper.py"), "").unwrap();
        std::fs::write(d.path().join("README"), "").unwrap();
        let exe = d.path().join("check.sh");
        std::fs::write(&exe, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        let suites = discover(d.path(), "recipe");
        assert_eq!(suites.len(), 2, "{suites:?}");
        assert!(matches!(&suites[1], Suite::Executable { path, .. } if path == &exe));
        assert!(discover(&d.path().join("none"), "ci").is_empty());
    }

    #[test]
    fn the_secrets_file_is_private_and_readable_by_name() {
        let d = tempfile::tempdir().unwrap();
        record_secret(d.path(), &["db_password", "s_db_password_v1"], "v1").unwrap();
        record_secret(d.path(), &["other"], "v2").unwrap();
        assert_eq!(read_secret(d.path(), "s_db_password_v1").as_deref(), Some("v1"));
        assert_eq!(read_secret(d.path(), "other").as_deref(), Some("v2"));
        assert_eq!(read_secret(d.path(), "nope"), None);
        let mode = std::fs::metadata(d.path().join(SECRETS_FILE)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
