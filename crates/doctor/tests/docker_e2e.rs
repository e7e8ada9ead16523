//! The Docker checks on the real swarm. The proxy check, with services of the test's own under a
//! label of the test's own (so the host's real proxy is never touched): no labelled service fails
//! naming the label, a service with all replicas running passes, and one whose task cannot be
//! placed fails naming it. The network check: the testbed's `proxy` passes, an absent one fails.

use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use doctor::{Check, Status};

/// Services this test created, removed when it ends (passed or not).
struct Services(Vec<String>);

impl Drop for Services {
    fn drop(&mut self) {
        if !self.0.is_empty() {
            let _ = Command::new("docker").args(["service", "rm"]).args(&self.0).output();
        }
    }
}

fn create(services: &mut Services, name: &str, label: &str, extra: &[&str]) {
    let out = Command::new("docker")
        .args(["service", "create", "--detach", "--name", name, "--label", label])
        .args(["--label", "cc-ci.testbed=doctor-test"])
        .args(extra)
        .args([testbed::BUSYBOX_IMAGE, "sleep", "3600"])
        .output()
        .expect("docker runs");
    assert!(out.status.success(), "docker service create: {}", String::from_utf8_lossy(&out.stderr));
    services.0.push(name.to_string());
}

async fn proxy_check(label: &(String, String)) -> Check {
    let swarm = swarm::Swarm::connect().await.expect("the testbed's engine");
    doctor::docker::proxy(swarm.docker(), label, None).await
}

#[tokio::test]
async fn the_proxy_check_follows_the_labelled_services_replicas() {
    testbed::ensure_ready().expect("the testbed must be ready: run scripts/testbed-setup");
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos();
    let tag = format!("{:08x}", std::process::id() ^ nanos);
    let label = ("cc-ci.doctor-test".to_string(), tag.clone());
    let selector = format!("cc-ci.doctor-test={tag}");
    let mut services = Services(Vec::new());

    let absent = proxy_check(&label).await;
    assert_eq!(absent.status, Status::Fail);
    assert!(absent.message.contains(&format!("no swarm service labelled {selector}")), "{absent}");

    let up = format!("ccci-doctor-up-{tag}");
    create(&mut services, &up, &selector, &[]);
    let deadline = Instant::now() + Duration::from_secs(60);
    let running = loop {
        let check = proxy_check(&label).await;
        if check.status == Status::Pass || Instant::now() > deadline {
            break check;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(running.status, Status::Pass, "{running}");
    assert!(running.message.contains(&format!("{up} (1 of 1 replicas running)")), "{running}");

    let stuck = format!("ccci-doctor-stuck-{tag}");
    create(&mut services, &stuck, &selector, &["--constraint", "node.labels.ccci-doctor-never==yes"]);
    let check = proxy_check(&label).await;
    assert_eq!(check.status, Status::Fail, "{check}");
    assert!(check.message.contains(&format!("proxy service {stuck}: 0 of 1 replicas running")), "{check}");
    assert!(check.fix.as_deref().unwrap().contains(&format!("docker service ps --no-trunc {stuck}")));
}

#[tokio::test]
async fn the_network_check_finds_the_proxy_overlay_and_names_a_missing_network() {
    testbed::ensure_ready().expect("the testbed must be ready: run scripts/testbed-setup");
    let swarm = swarm::Swarm::connect().await.expect("the testbed's engine");
    let proxy = doctor::docker::network(swarm.docker(), doctor::docker::PROXY_NETWORK).await;
    assert_eq!(proxy.status, Status::Pass, "{proxy}");
    let absent = doctor::docker::network(swarm.docker(), "ccci-doctor-no-such-network").await;
    assert_eq!(absent.status, Status::Fail);
    assert_eq!(absent.message, "there is no `ccci-doctor-no-such-network` network", "{absent}");
    assert!(absent
        .fix
        .unwrap()
        .contains("docker network create --driver overlay --attachable ccci-doctor-no-such-network"));
}
