//! Acceptance (R3): for every recipe of the shared corpus and every `COMPOSE_FILE` combination
//! its `.env.sample` names, the loader's document equals what `docker stack config` prints for
//! the same files and env (Docker is given exactly the app env), and where Docker rejects the
//! files the loader rejects them too, naming a file. The test process's own environment is
//! polluted first, to prove nothing of it leaks into the result.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use recipe::app_env;
use serde_norway::Value;

fn corpus() -> PathBuf {
    let shared = std::env::var_os("CCCI_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    shared.join("recipes")
}

fn docker_available() -> bool {
    Command::new("docker").arg("--version").output().is_ok_and(|o| o.status.success())
}

/// `docker stack config -c f1 -c f2 ...` run in the recipe with exactly `env` (plus PATH and a
/// private DOCKER_CONFIG so the client needs no HOME).
fn docker_config(
    recipe: &Path,
    files: &[String],
    env: &BTreeMap<String, String>,
    scratch: &Path,
) -> Result<Value, String> {
    let mut cmd = Command::new("docker");
    cmd.arg("stack").arg("config").current_dir(recipe).env_clear();
    for f in files {
        cmd.arg("-c").arg(f);
    }
    cmd.env("PATH", std::env::var_os("PATH").unwrap_or_default()).env("DOCKER_CONFIG", scratch).envs(env);
    let out = cmd.output().expect("run docker");
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    Ok(serde_norway::from_str(&String::from_utf8_lossy(&out.stdout)).expect("docker prints YAML"))
}

fn pollute_process_env() {
    for (k, v) in [
        ("LANG", "xx_JUNK.UTF-8"),
        ("HOME", "/junk/home"),
        ("DOMAIN", "junk.invalid"),
        ("STACK_NAME", "junk_stack"),
        ("LETS_ENCRYPT_ENV", "junk-resolver"),
        ("SECRET_DB_PASSWORD_VERSION", "v999"),
        ("APP_VERSION", "junk"),
        ("TIMEOUT", "1"),
    ] {
        std::env::set_var(k, v);
    }
}

struct Tally {
    compared: usize,
    equal: usize,
    rejected_by_both: usize,
    failures: Vec<String>,
}

fn check(
    tally: &mut Tally,
    recipe: &Path,
    label: &str,
    files: &[String],
    env: &BTreeMap<String, String>,
    scratch: &Path,
) {
    tally.compared += 1;
    let ours = recipe::compose::load(recipe, files, env);
    match (docker_config(recipe, files, env, scratch), ours) {
        (Ok(expected), Ok(rendered)) => {
            let ours: Value = serde_norway::from_str(&rendered.to_yaml()).unwrap();
            if ours == expected {
                tally.equal += 1;
            } else {
                tally.failures.push(format!(
                    "{label}: differs from docker\n--- docker\n{}\n--- ccci\n{}",
                    serde_norway::to_string(&expected).unwrap(),
                    rendered.to_yaml()
                ));
            }
        }
        (Err(docker_err), Err(ours)) => {
            let named = files.iter().any(|f| ours.to_string().contains(f.as_str()));
            if named {
                tally.rejected_by_both += 1;
                tally.equal += 1;
            } else {
                tally.failures.push(format!(
                    "{label}: rejected by both, but ccci's error names no file: {ours} (docker: {docker_err})"
                ));
            }
        }
        (Err(docker_err), Ok(_)) => {
            tally.failures.push(format!("{label}: docker rejects ({docker_err}) but ccci accepts"))
        }
        (Ok(_), Err(ours)) => tally.failures.push(format!("{label}: docker accepts but ccci rejects: {ours}")),
    }
}

#[test]
fn every_corpus_combination_renders_like_docker_stack_config() {
    if !docker_available() {
        eprintln!("SKIPPED: no docker client on PATH; render_vs_docker needs `docker stack config`");
        return;
    }
    pollute_process_env();
    let scratch = tempfile::tempdir().unwrap();
    let mut tally = Tally { compared: 0, equal: 0, rejected_by_both: 0, failures: Vec::new() };
    let mut recipes: Vec<PathBuf> = std::fs::read_dir(corpus())
        .expect("shared recipe corpus")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    recipes.sort();
    assert!(recipes.len() >= 7, "expected the 7-recipe corpus in {}", corpus().display());
    for recipe in &recipes {
        let name = recipe.file_name().unwrap().to_string_lossy().to_string();
        let abra_sh = app_env::read_abra_sh(recipe).unwrap();
        let domain = format!("{name}.example.com");
        let sample = match app_env::env_sample(recipe) {
            Ok(sample) => sample,
            Err(err) => {
                assert!(err.to_string().contains(".env.sample"), "unclear error for {name}: {err}");
                let env = app_env::build(&recipe::env::EnvFile::default(), &abra_sh, Some(&domain));
                check(
                    &mut tally,
                    recipe,
                    &format!("{name} (explicit env)"),
                    &app_env::compose_files(&env),
                    &env,
                    scratch.path(),
                );
                continue;
            }
        };
        for combination in app_env::compose_combinations(&sample.file) {
            let mut env = app_env::build(&sample.file, &abra_sh, Some(&domain));
            env.insert("COMPOSE_FILE".into(), combination.value.clone());
            let label = format!("{name} [{}]", combination.value);
            check(&mut tally, recipe, &label, &combination.files, &env, scratch.path());
        }
    }
    println!(
        "render_vs_docker: {} combinations compared, {} equal to docker stack config ({} rejected by both)",
        tally.compared, tally.equal, tally.rejected_by_both
    );
    assert!(
        tally.failures.is_empty(),
        "{} of {} combinations differ:\n{}",
        tally.failures.len(),
        tally.compared,
        tally.failures.join("\n\n")
    );
}
