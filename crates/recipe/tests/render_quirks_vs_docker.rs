//! Docker's loader quirks, each pinned by comparing the loader with `docker stack config` on
//! small synthetic compose files: merge rules (ports by published port, volumes by target,
//! appended healthcheck tests, environment precedence, logging), short syntaxes, YAML 1.1
//! typing, durations, typed casts after interpolation, and rejections.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_norway::Value;

fn docker(dir: &Path, files: &[&str], env: &BTreeMap<String, String>) -> Option<Result<Value, String>> {
    let mut cmd = Command::new("docker");
    cmd.args(["stack", "config"]).current_dir(dir).env_clear();
    for f in files {
        cmd.args(["-c", f]);
    }
    cmd.env("PATH", std::env::var_os("PATH").unwrap_or_default()).env("DOCKER_CONFIG", dir).envs(env);
    let out = cmd.output().ok()?;
    Some(if out.status.success() {
        Ok(serde_norway::from_str(&String::from_utf8_lossy(&out.stdout)).unwrap())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).to_string())
    })
}

/// Write `files` to a scratch dir and compare the loader with docker; returns false (after
/// printing why) on a difference.
fn same_as_docker(name: &str, files: &[(&str, &str)], env: &[(&str, &str)], docker_accepts: bool) -> bool {
    let dir = tempfile::tempdir().unwrap();
    for (file, text) in files {
        std::fs::write(dir.path().join(file), text).unwrap();
    }
    let env: BTreeMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let names: Vec<&str> = files.iter().map(|(f, _)| *f).collect();
    let Some(expected) = docker(dir.path(), &names, &env) else {
        eprintln!("SKIPPED {name}: no docker client");
        return true;
    };
    let ours = recipe::compose::load(dir.path(), &names.iter().map(|s| s.to_string()).collect::<Vec<_>>(), &env);
    if expected.is_ok() != docker_accepts {
        eprintln!("{name}: fixture is wrong, docker gave {expected:?}");
        return false;
    }
    match (expected, ours) {
        (Ok(e), Ok(o)) => {
            let o: Value = serde_norway::from_str(&o.to_yaml()).unwrap();
            if e != o {
                eprintln!(
                    "{name}: differs\n--- docker\n{}--- ccci\n{}",
                    serde_norway::to_string(&e).unwrap(),
                    serde_norway::to_string(&o).unwrap()
                );
            }
            e == o
        }
        (Err(_), Err(o)) => names.iter().any(|n| o.to_string().contains(n)),
        (e, o) => {
            eprintln!("{name}: docker {e:?} vs ccci {o:?}");
            false
        }
    }
}

const BASE: &str = r#"version: "3.8"
x-top: &anchor
  A: 1
services:
  app:
    image: "x:${T:-1}"
    ports: ["80:80", "443:443", {target: 9000, published: 9000, mode: host}]
    environment:
      A: "1"
      B:
      C: ""
      D: x
      E: yes
      F: 1.50
      FROM_ENV:
    labels: [a=1, b]
    stop_grace_period: ${SG:-2m}
    volumes: ["/b:/z", "v:/a", "./rel:/r:ro", "named:/n:nocopy", "/anon"]
    healthcheck:
      test: ["CMD", "a"]
      interval: 90s
      start_period: 1500ms
    logging:
      driver: json-file
      options: {max-size: 10m}
    networks:
      front:
        aliases: [one]
      back:
    deploy:
      replicas: ${REPLICAS:-2}
      resources:
        limits: {memory: 512M, cpus: "0.5"}
      update_config: {delay: 10s, parallelism: 0}
      labels: {n: 1, t: "true"}
    configs:
      - source: c1
        mode: 0440
    x-bar: {k: 1}
  other:
    image: y
    command: ${CMD}
    entrypoint: sh -c 'echo "$$HOME"'
    secrets: [z, a]
    extra_hosts: {b.example: 1.2.3.4, a.example: 5.6.7.8}
    ulimits: {nofile: {soft: 1, hard: 2}, nproc: 5}
    tmpfs: /run
    dns: 8.8.8.8
    expose: [80, "81"]
networks:
  front:
  back: {external: true}
  named: {external: {name: real}}
volumes:
  v:
  named: {driver_opts: {type: nfs, o: 1}}
secrets:
  z: {file: ./z.txt}
  a: {external: true, name: "${STACK_NAME}_a"}
configs:
  c1: {file: c1.conf, template_driver: golang}
"#;

const OVERLAY: &str = r#"version: "3.8"
x-ignored: 1
services:
  app:
    ports: ["80:8080", "443:443/udp", "22", "${P:-7000}:7000"]
    environment:
      A: "2"
      B: "3"
      C: "4"
      D:
      E: ""
    labels: {a: "", c: "3"}
    healthcheck:
      test: ["CMD", "b"]
      interval: 0s
    logging:
      options: {max-file: "3"}
    networks:
      front:
        ipv4_address: 10.0.0.2
      extra:
    deploy:
      replicas: 0
      update_config: {order: start-first}
    depends_on: [other]
    volumes: ["w:/c"]
    configs: [c2]
    x-bar: {j: 2}
  other:
    depends_on: [app]
    secrets: [m]
    command: []
    entrypoint: ["/bin/true"]
    logging: {driver: syslog}
  added:
    image: z
    secrets: [q, b]
networks:
  front: {driver: overlay}
secrets:
  z: {external: true}
"#;

#[test]
fn merge_and_normalisation_quirks_match_docker() {
    let env =
        [("T", "7"), ("CMD", "echo \"a b\" c"), ("FROM_ENV", "from-app-env"), ("STACK_NAME", "s"), ("C", "env-c")];
    assert!(same_as_docker("base", &[("a.yml", BASE)], &env, true));
    assert!(same_as_docker("base+overlay", &[("a.yml", BASE), ("b.yml", OVERLAY)], &env, true));
    assert!(same_as_docker("overlay+base", &[("b.yml", OVERLAY), ("a.yml", BASE)], &env, true));
}

#[test]
fn typed_casts_and_templates_match_docker() {
    let doc = r#"version: "3.8"
services:
  app:
    image: "${U:-${B:-x}}"
    labels: ["a=$A-redirect", "b=${U-d}", "c=$$1"]
    ports: [{target: "${PORT:-80}", published: 8080}]
    read_only: "${RO:-true}"
    healthcheck: {retries: "${R}"}
"#;
    assert!(same_as_docker("casts", &[("a.yml", doc)], &[("A", "a"), ("R", "3")], true));
}

#[test]
fn rejections_match_docker() {
    let cases = [
        ("bad-template", "version: \"3.8\"\nservices:\n  app:\n    image: \"${A:+x}\"\n"),
        ("required", "version: \"3.8\"\nservices:\n  app:\n    image: \"${A:?set A}\"\n"),
        ("unknown-key", "version: \"3.8\"\nservices:\n  app:\n    image: x\n    bogus: 1\n"),
        ("bad-duration", "version: \"3.8\"\nservices:\n  app:\n    image: x\n    stop_grace_period: 10\n"),
        ("forbidden", "version: \"3.8\"\nservices:\n  app:\n    image: x\n    extends: y\n"),
        ("bad-cast", "version: \"3.8\"\nservices:\n  app:\n    image: x\n    deploy: {replicas: \"${N:-two}\"}\n"),
        ("not-a-mapping", "- a\n"),
        ("bool-label", "version: \"3.8\"\nservices:\n  app:\n    image: x\n    labels: {t: true}\n"),
        ("bad-version", "version: \"2.4\"\nservices: {}\n"),
        ("bad-port", "version: \"3.8\"\nservices:\n  app:\n    image: x\n    ports: [\"x:80\"]\n"),
    ];
    for (name, text) in cases {
        assert!(same_as_docker(name, &[("a.yml", text)], &[], false), "{name}");
    }
}
