//! The Docker side of a cc-ci host: the engine answers, this node is a swarm manager, the `proxy`
//! overlay network exists, and the proxy's swarm service has all its replicas running.

use std::future::Future;
use std::time::Duration;

use bollard::models::LocalNodeState;
use bollard::query_parameters::ListServicesOptions;
use bollard::Docker;

use crate::Check;

/// The label on the proxy's swarm objects.
pub const PROXY_LABEL: (&str, &str) = ("cc-ci.infra", "proxy");
/// The overlay network recipes attach their web services to (abra's convention).
pub const PROXY_NETWORK: &str = "proxy";
/// How long one question to the engine may take.
const TIMEOUT: Duration = Duration::from_secs(20);

/// The engine, network and proxy checks, in that order.
/// `proxy_stack`: the stack of the configured proxy, when the config loads (other services that
/// carry the proxy label, say a throwaway proxy of a test, are then not this host's proxy).
pub async fn checks(proxy_label: &(String, String), proxy_stack: Option<&str>) -> Vec<Check> {
    let swarm = match within(swarm::Swarm::connect()).await {
        Ok(swarm) => swarm,
        Err(e) => {
            return vec![
                Check::fail(
                    "docker",
                    format!("cannot reach the Docker engine: {e}"),
                    "start it (`systemctl start docker`); cc-ci talks to $DOCKER_HOST, else /var/run/docker.sock",
                ),
                Check::not_checked("network", "Docker is unreachable"),
                Check::not_checked("proxy", "Docker is unreachable"),
            ]
        }
    };
    let docker = swarm.docker();
    vec![engine(docker).await, network(docker, PROXY_NETWORK).await, proxy(docker, proxy_label, proxy_stack).await]
}

/// Runs one engine call under [`TIMEOUT`], flattening the timeout into the error text.
async fn within<T, E: std::fmt::Display>(call: impl Future<Output = Result<T, E>>) -> Result<T, String> {
    match tokio::time::timeout(TIMEOUT, call).await {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(_) => Err(format!("no answer within {} s", TIMEOUT.as_secs())),
    }
}

/// The engine answers and this node is a swarm manager.
pub async fn engine(docker: &Docker) -> Check {
    let (version, info) = match (within(docker.version()).await, within(docker.info()).await) {
        (Ok(version), Ok(info)) => (version, info),
        (Err(e), _) | (_, Err(e)) => {
            return Check::fail("docker", format!("the Docker engine does not answer: {e}"), "check `docker info`")
        }
    };
    let engine = format!(
        "engine {} (API {})",
        version.version.as_deref().unwrap_or("?"),
        version.api_version.as_deref().unwrap_or("?")
    );
    let swarm = info.swarm.unwrap_or_default();
    swarm_role(&engine, swarm.local_node_state, swarm.control_available.unwrap_or(false), swarm.error)
}

/// The verdict on this node's swarm membership.
pub fn swarm_role(engine: &str, state: Option<LocalNodeState>, manager: bool, error: Option<String>) -> Check {
    match state {
        Some(LocalNodeState::ACTIVE) if manager => {
            Check::pass("docker", format!("{engine}; this node is a swarm manager"))
        }
        Some(LocalNodeState::ACTIVE) => Check::fail(
            "docker",
            format!("{engine}; this node is a swarm worker, not a manager"),
            "run cc-ci on a manager node, or promote this one (`docker node promote <node>` on a manager)",
        ),
        Some(LocalNodeState::LOCKED) => {
            Check::fail("docker", format!("{engine}; the swarm is locked"), "unlock it with `docker swarm unlock`")
        }
        Some(LocalNodeState::ERROR) => Check::fail(
            "docker",
            format!("{engine}; the swarm is in error: {}", error.unwrap_or_default()),
            "see `docker info`; `docker swarm init --force-new-cluster` recovers a single-node swarm",
        ),
        _ => Check::fail(
            "docker",
            format!("{engine}; this node is not part of a swarm"),
            "`docker swarm init --advertise-addr <this host's address>`",
        ),
    }
}

/// The network `name` (`proxy` on a cc-ci host) exists and is a swarm overlay network.
pub async fn network(docker: &Docker, name: &str) -> Check {
    let cannot =
        |e: String| Check::fail("network", format!("cannot inspect the `{name}` network: {e}"), "check `docker info`");
    match tokio::time::timeout(TIMEOUT, docker.inspect_network(name, None)).await {
        Ok(Ok(net)) => network_kind(name, net.driver.as_deref().unwrap_or(""), net.scope.as_deref().unwrap_or("")),
        Ok(Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. })) => Check::fail(
            "network",
            format!("there is no `{name}` network"),
            format!("create it: `docker network create --driver overlay --attachable {name}`"),
        ),
        Ok(Err(e)) => cannot(e.to_string()),
        Err(_) => cannot(format!("no answer within {} s", TIMEOUT.as_secs())),
    }
}

/// The verdict on the network's driver and scope.
pub fn network_kind(name: &str, driver: &str, scope: &str) -> Check {
    if driver == "overlay" && scope == "swarm" {
        Check::pass("network", format!("`{name}` is a swarm overlay network"))
    } else {
        Check::fail(
            "network",
            format!("`{name}` is a {driver} network of scope {scope}, not a swarm overlay network"),
            format!("remove it and `docker network create --driver overlay --attachable {name}`"),
        )
    }
}

/// A service carrying the proxy label (in `stack`, if given) exists, and every one of them runs
/// all its replicas.
pub async fn proxy(docker: &Docker, label: &(String, String), stack: Option<&str>) -> Check {
    let mut wanted = vec![format!("{}={}", label.0, label.1)];
    wanted.extend(stack.map(|s| format!("{}={s}", swarm::labels::STACK_NAMESPACE)));
    let filters = std::collections::HashMap::from([("label".to_string(), wanted.clone())]);
    let options = ListServicesOptions { filters: Some(filters), status: Some(true) };
    match within(docker.list_services(Some(options))).await {
        Ok(services) => {
            let replicas: Vec<Replicas> = services
                .into_iter()
                .map(|s| {
                    let status = s.service_status.unwrap_or_default();
                    Replicas {
                        service: s.spec.and_then(|spec| spec.name).unwrap_or_else(|| s.id.unwrap_or_default()),
                        running: status.running_tasks.unwrap_or(0),
                        desired: status.desired_tasks.unwrap_or(0),
                    }
                })
                .collect();
            proxy_replicas(&wanted.join(" and "), &replicas)
        }
        Err(e) => Check::fail("proxy", format!("cannot list the proxy's services: {e}"), "check `docker info`"),
    }
}

/// A swarm service's running and desired task counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replicas {
    pub service: String,
    pub running: u64,
    pub desired: u64,
}

/// The verdict on the services labelled as the proxy.
pub fn proxy_replicas(label: &str, services: &[Replicas]) -> Check {
    if services.is_empty() {
        return Check::fail(
            "proxy",
            format!("no swarm service labelled {label}: the proxy is not deployed"),
            "deploy the proxy (docs/operators.md, \"ccci server init, the proxy and certificates\")",
        );
    }
    if let Some(short) = services.iter().find(|s| s.desired == 0 || s.running < s.desired) {
        return Check::fail(
            "proxy",
            format!("proxy service {}: {} of {} replicas running", short.service, short.running, short.desired),
            format!("`docker service ps --no-trunc {}` shows why its tasks do not run", short.service),
        );
    }
    let listed: Vec<String> =
        services.iter().map(|s| format!("{} ({} of {} replicas running)", s.service, s.running, s.desired)).collect();
    Check::pass("proxy", format!("service {}", listed.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Status;

    #[test]
    fn only_an_active_manager_passes() {
        assert_eq!(swarm_role("engine 20.10", Some(LocalNodeState::ACTIVE), true, None).status, Status::Pass);
        let worker = swarm_role("engine 20.10", Some(LocalNodeState::ACTIVE), false, None);
        assert!(worker.message.contains("worker") && worker.fix.unwrap().contains("promote"), "{}", worker.message);
        let none = swarm_role("engine 20.10", Some(LocalNodeState::INACTIVE), false, None);
        assert!(none.message.contains("not part of a swarm") && none.fix.unwrap().contains("swarm init"));
        assert_eq!(swarm_role("e", None, false, None).status, Status::Fail);
        let locked = swarm_role("e", Some(LocalNodeState::LOCKED), true, None);
        assert!(locked.fix.unwrap().contains("unlock"));
    }

    #[test]
    fn the_proxy_network_must_be_a_swarm_overlay() {
        assert_eq!(network_kind("proxy", "overlay", "swarm").status, Status::Pass);
        let bridge = network_kind("proxy", "bridge", "local");
        assert_eq!(bridge.status, Status::Fail);
        assert!(bridge.message.contains("bridge network of scope local"), "{}", bridge.message);
    }

    #[test]
    fn the_proxy_needs_every_replica_running() {
        let label = "cc-ci.infra=proxy";
        let missing = proxy_replicas(label, &[]);
        assert!(missing.message.contains("no swarm service labelled cc-ci.infra=proxy"), "{}", missing.message);
        let up = Replicas { service: "proxy_app".into(), running: 1, desired: 1 };
        let check = proxy_replicas(label, std::slice::from_ref(&up));
        assert_eq!(check.status, Status::Pass, "{check}");
        assert!(check.message.contains("proxy_app (1 of 1 replicas running)"));
        let down = Replicas { service: "proxy_app".into(), running: 0, desired: 1 };
        let check = proxy_replicas(label, &[down]);
        assert!(check.message.contains("proxy_app: 0 of 1 replicas running"), "{check}");
        assert!(check.fix.unwrap().contains("docker service ps --no-trunc proxy_app"));
        let scaled_to_zero = Replicas { service: "p".into(), running: 0, desired: 0 };
        assert_eq!(proxy_replicas(label, &[up, scaled_to_zero]).status, Status::Fail);
    }
}
