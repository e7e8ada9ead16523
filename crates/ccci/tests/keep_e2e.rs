//! End to end on the real swarm (SPEC T9): `--keep-on-failure --ttl 1s` leaves a failed run's app
//! deployed and says how to reach it; once the TTL has passed, `ccci janitor` removes all of it.

mod support;

use std::process::Command;

use support::{ccci, ccci_test, leftovers, testbed};

fn services_of_run(run: &str) -> Vec<String> {
    let out = Command::new("docker")
        .args(["service", "ls", "-q", "--filter", &format!("label=cc-ci.run={run}")])
        .output()
        .expect("docker runs");
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect()
}

#[test]
fn a_kept_failed_run_stays_until_its_ttl_then_the_janitor_removes_it() {
    testbed();
    let work = tempfile::tempdir().unwrap();
    // crashloop's main (1.1.0) exits 3 forever: the install tier fails fast.
    let repo = testbed::fixture("crashloop", &work.path().join("crashloop")).unwrap();
    let run = ccci_test(work.path(), &repo.path, &["--tiers", "install", "--keep-on-failure", "--ttl", "1s"]);
    let stderr = run.stderr();
    assert_eq!(run.code(), Some(1), "stderr:\n{stderr}");
    assert_eq!(run.tier("install")["outcome"], "fail");
    let domain = run.result["instance"]["domain"].as_str().unwrap().to_string();
    assert!(stderr.contains("kept") && stderr.contains(&domain), "no word on how to reach the kept app:\n{stderr}");
    assert!(!services_of_run(run.run_id()).is_empty(), "the failed app was not kept");
    std::thread::sleep(std::time::Duration::from_secs(2));
    let janitor = ccci(work.path()).arg("janitor").output().expect("ccci janitor runs");
    assert!(janitor.status.success(), "janitor: {}", String::from_utf8_lossy(&janitor.stderr));
    assert_eq!(leftovers(run.run_id()), Vec::<String>::new(), "the janitor left objects of the kept run");
}
