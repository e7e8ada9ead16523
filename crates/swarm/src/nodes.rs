//! The engines of a swarm's nodes (SPEC V8). Services, tasks, networks, configs and secrets are
//! the swarm's: the manager cc-ci connects to answers for all of them. Containers and volumes
//! belong to the node they are on, and only that node's engine lists, execs into, reads or removes
//! them. So on a multi-node swarm cc-ci also talks to each node's own engine, at a Docker host the
//! operator gives (`unix://`, `tcp://`; the node hosts). Each engine says which node it is
//! (`docker info`), so no node name or id is configured, and a host that is not a node of this
//! swarm is refused when connecting.
//!
//! A node that may be given tasks (ready and active) but whose engine cc-ci cannot reach makes
//! [`Swarm::schedulable_engines`] refuse ([`Error::NoNodeEndpoint`]) before anything is pulled or
//! deployed. A configured host that does not answer is kept aside rather than refused, so the
//! janitor and teardown can still work on the nodes that do answer while one is down.

use std::sync::Arc;
use std::time::Duration;

use bollard::models::{NodeSpecAvailabilityEnum, NodeState};
use bollard::query_parameters::ListNodesOptions;
use bollard::Docker;

use crate::error::{Error, Result};
use crate::Swarm;

/// How long a node's engine may take to answer when connecting or when asked whether it is
/// still there.
const PATIENCE: Duration = Duration::from_secs(5);
/// The Docker host used when `DOCKER_HOST` is not set.
pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// One node's Docker engine.
#[derive(Clone, Debug)]
pub struct NodeEngine {
    /// The swarm's id of the node (empty when the engine is not in swarm mode).
    pub id: String,
    /// The node's hostname, as `docker node ls` shows it.
    pub name: String,
    /// The Docker host it is reached at.
    pub host: String,
    pub(crate) docker: Docker,
}

impl std::fmt::Display for NodeEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.name, self.host)
    }
}

/// A configured node host that did not answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnreachableHost {
    /// The Docker host as configured.
    pub host: String,
    /// Why it did not answer.
    pub error: String,
}

/// The engines cc-ci talks to: the connected manager's first, then the other nodes'.
#[derive(Clone, Debug, Default)]
pub(crate) struct NodeSet {
    pub engines: Vec<NodeEngine>,
    pub unreachable: Vec<UnreachableHost>,
}

/// Connect to the engine at `host` and negotiate the API version.
pub(crate) async fn connect_host(host: &str) -> Result<Docker> {
    let docker = Docker::connect_with_host(host).map_err(Error::docker(format!("connecting to {host}")))?;
    docker.negotiate_version().await.map_err(Error::docker(format!("negotiating the API version with {host}")))
}

/// The node an engine is (its swarm node id and hostname).
pub(crate) async fn identify(docker: Docker, host: &str) -> Result<NodeEngine> {
    let info = docker.info().await.map_err(Error::docker(format!("asking {host} which node it is")))?;
    let id = info.swarm.and_then(|s| s.node_id).unwrap_or_default();
    Ok(NodeEngine { id, name: info.name.unwrap_or_else(|| host.to_string()), host: host.to_string(), docker })
}

impl Swarm {
    /// Also talk to the engines at `hosts` (the node hosts of a multi-node swarm; the connected
    /// engine may be among them). Each must be an engine of a node of this swarm
    /// ([`Error::NodeHost`] otherwise); one that does not answer within a few seconds is kept
    /// aside ([`Swarm::unreachable_hosts`]) and its node counts as unreachable.
    pub async fn with_node_hosts<S: AsRef<str>>(mut self, hosts: &[S]) -> Result<Self> {
        if hosts.is_empty() {
            return Ok(self);
        }
        let members: Vec<String> = self
            .docker
            .list_nodes(None::<ListNodesOptions>)
            .await
            .map_err(|e| Error::NodeHost {
                host: self.me().host.clone(),
                problem: format!("node hosts need cc-ci to talk to a swarm manager, and this engine is none: {e}"),
            })?
            .into_iter()
            .filter_map(|n| n.id)
            .collect();
        let mut set = (*self.nodes).clone();
        for host in hosts.iter().map(AsRef::as_ref).map(str::trim).filter(|h| !h.is_empty()) {
            if set.engines.iter().any(|e| e.host == host) || set.unreachable.iter().any(|u| u.host == host) {
                continue;
            }
            let answer =
                tokio::time::timeout(PATIENCE, async { identify(connect_host(host).await?, host).await }).await;
            let engine = match answer {
                Ok(Ok(engine)) => engine,
                Ok(Err(e)) => {
                    set.unreachable.push(UnreachableHost { host: host.into(), error: e.to_string() });
                    continue;
                }
                Err(_) => {
                    let error = format!("no answer within {}s", PATIENCE.as_secs());
                    set.unreachable.push(UnreachableHost { host: host.into(), error });
                    continue;
                }
            };
            if engine.id.is_empty() {
                return Err(Error::NodeHost { host: host.into(), problem: "its engine is not in swarm mode".into() });
            }
            if !members.contains(&engine.id) {
                return Err(Error::NodeHost {
                    host: host.into(),
                    problem: format!(
                        "its engine is node {} ({}), which is not a node of this swarm",
                        engine.name, engine.id
                    ),
                });
            }
            if !set.engines.iter().any(|e| e.id == engine.id) {
                set.engines.push(engine);
            }
        }
        self.nodes = Arc::new(set);
        Ok(self)
    }

    /// The engines cc-ci talks to, the connected one first.
    pub fn node_engines(&self) -> &[NodeEngine] {
        &self.nodes.engines
    }

    /// Configured node hosts that did not answer when connecting.
    pub fn unreachable_hosts(&self) -> &[UnreachableHost] {
        &self.nodes.unreachable
    }

    /// The connected engine as a node.
    pub(crate) fn me(&self) -> &NodeEngine {
        &self.nodes.engines[0]
    }

    /// Whether cc-ci talks to more than one engine (object names then say which node).
    pub(crate) fn is_multi_engine(&self) -> bool {
        self.nodes.engines.len() > 1
    }

    /// The engine of node `id`: [`Error::NoNodeEndpoint`] when cc-ci has none for it. A task
    /// without a node yet, and the connected engine's own node, are the connected engine.
    pub(crate) async fn engine_of(&self, id: &str) -> Result<&NodeEngine> {
        if id.is_empty() {
            return Ok(self.me());
        }
        if let Some(engine) = self.nodes.engines.iter().find(|e| e.id == id) {
            return Ok(engine);
        }
        let name = match self.docker.inspect_node(id).await {
            Ok(node) => node.description.and_then(|d| d.hostname).unwrap_or_else(|| id.to_string()),
            Err(_) => id.to_string(),
        };
        Err(self.no_endpoint(name, id))
    }

    fn no_endpoint(&self, node: String, id: &str) -> Error {
        Error::NoNodeEndpoint { node, id: id.to_string(), unreachable: self.nodes.unreachable.clone() }
    }

    /// The engines of every node that may be given tasks (ready and active), each of which cc-ci
    /// must reach: [`Error::NoNodeEndpoint`] names the first node it cannot. Checked before a
    /// run pulls or deploys anything. An engine outside swarm mode is its own only node.
    pub async fn schedulable_engines(&self) -> Result<Vec<NodeEngine>> {
        let nodes = match self.docker.list_nodes(None::<ListNodesOptions>).await {
            Ok(nodes) => nodes,
            Err(_) if !self.is_multi_engine() => return Ok(vec![self.me().clone()]),
            Err(e) => return Err(Error::docker("listing the swarm's nodes")(e)),
        };
        let mut engines = Vec::new();
        for node in nodes {
            let ready = node.status.as_ref().and_then(|s| s.state) == Some(NodeState::READY);
            let active = node.spec.as_ref().and_then(|s| s.availability) == Some(NodeSpecAvailabilityEnum::ACTIVE);
            if !(ready && active) {
                continue;
            }
            let id = node.id.unwrap_or_default();
            match self.nodes.engines.iter().find(|e| e.id == id) {
                Some(engine) => engines.push(engine.clone()),
                None => {
                    let name = node.description.and_then(|d| d.hostname).unwrap_or_else(|| id.clone());
                    return Err(self.no_endpoint(name, &id));
                }
            }
        }
        if engines.is_empty() {
            engines.push(self.me().clone());
        }
        // In the order of the node set: the connected engine first, then the node hosts as given.
        engines.sort_by_key(|e: &NodeEngine| self.nodes.engines.iter().position(|o| o.id == e.id));
        Ok(engines)
    }

    /// This connection restricted to the node engines that answer now, and those that do not
    /// (`name (host): why`): teardown and the janitor work on the first and report the second.
    pub(crate) async fn reachable(&self) -> (Swarm, Vec<String>) {
        let mut set = NodeSet { engines: vec![self.me().clone()], unreachable: self.nodes.unreachable.clone() };
        let mut lost: Vec<String> =
            self.nodes.unreachable.iter().map(|u| format!("{} (did not answer: {})", u.host, u.error)).collect();
        for engine in &self.nodes.engines[1..] {
            match still_there(engine).await {
                Ok(()) => set.engines.push(engine.clone()),
                Err(why) => lost.push(format!("{engine}: {why}")),
            }
        }
        (Swarm { nodes: Arc::new(set), ..self.clone() }, lost)
    }
}

/// Whether `engine` answers a ping within [`PATIENCE`]; the reason when it does not.
pub(crate) async fn still_there(engine: &NodeEngine) -> std::result::Result<(), String> {
    match tokio::time::timeout(PATIENCE, engine.docker.ping()).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {}s", PATIENCE.as_secs())),
    }
}
