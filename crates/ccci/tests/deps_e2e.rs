//! End to end on the real swarm (SPEC T6): a recipe whose per-recipe config (in a CI config tree)
//! declares a cold dependency gets it deployed first on its own stack, with the dependency's
//! coordinates in its env (a post_install hook inside the app reaches the dependency by them);
//! the run passes and both stacks are gone afterwards.

mod support;

use std::process::Command;

use support::{ccci_test, leftovers, ran_hook, testbed, Role, Step};

#[test]
fn a_cold_dependency_is_deployed_first_reachable_and_torn_down_with_the_run() {
    testbed();
    let work = tempfile::tempdir().unwrap();
    let dep = testbed::fixture("simple", &work.path().join("simple")).unwrap();
    let app = testbed::fixture("simple", &work.path().join("needs-dep")).unwrap();
    let config = work.path().join("ci/recipes/needs-dep");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("ccci.toml"),
        format!(
            r#"
[[dependencies]]
name = "idp"
recipe = "{}"
ref = "1.0.0+1.35"
[dependencies.env]
IDP_URL = "{{url}}"
IDP_HOST = "{{stack}}_app"

[hooks.post_install]
service = "app"
command = 'test -n "$IDP_URL" && http-get "$IDP_HOST" 80 / | grep -q "simple 1.0.0"'
"#,
            dep.path.display()
        ),
    )
    .unwrap();
    let config_dir = work.path().join("ci");
    let run = ccci_test(work.path(), &app.path, &["--tiers", "install", "--config-dir", config_dir.to_str().unwrap()]);
    assert_eq!(run.code(), Some(0), "stderr:\n{}", run.stderr());
    let steps = run.steps();
    let deployed: Vec<(String, Role)> = steps
        .iter()
        .filter_map(|s| {
            if let Step::Deploying { stack, role, .. } = s {
                Some((stack.clone(), role.clone()))
            } else {
                None
            }
        })
        .collect();
    let app_stack = run.result["instance"]["stack"].as_str().unwrap().to_string();
    let idp = Role::Dependency { name: "idp".into() };
    assert_eq!(deployed.iter().map(|(_, r)| r.clone()).collect::<Vec<_>>(), [idp, Role::Target], "{steps:#?}");
    let dep_stack = deployed[0].0.clone();
    assert_ne!(dep_stack, app_stack);
    assert!(ran_hook(&steps, "post_install", "app"), "{steps:#?}");
    for stack in [dep_stack.as_str(), run.result["instance"]["stack"].as_str().unwrap()] {
        let out = Command::new("docker")
            .args(["service", "ls", "-q", "--filter", &format!("label=com.docker.stack.namespace={stack}")])
            .output()
            .unwrap();
        assert!(out.stdout.is_empty(), "services of stack {stack} remain");
    }
    assert_eq!(leftovers(run.run_id()), Vec::<String>::new(), "objects of the run remain");
}
