//! The `--node-hosts` option shared by the commands that talk to the Docker engine: the Docker
//! hosts of a multi-node swarm's nodes (env `CCCI_NODE_HOSTS`, comma-separated), so containers
//! and volumes on every node can be reached (docs/operators.md, "Several nodes").

use anyhow::Context;

/// The node hosts option.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct NodeHosts {
    /// Docker hosts (unix://…, tcp://…) of the swarm's nodes, comma-separated: on a multi-node
    /// swarm, every node that may run tasks must be reachable (the manager at DOCKER_HOST counts).
    #[arg(long = "node-hosts", env = "CCCI_NODE_HOSTS", value_delimiter = ',', value_name = "HOSTS")]
    pub hosts: Vec<String>,
}

impl NodeHosts {
    /// Connect to the engine at `DOCKER_HOST` and to every node host.
    pub async fn connect(&self) -> anyhow::Result<swarm::Swarm> {
        swarm::Swarm::connect_with_nodes(&self.hosts).await.context("cannot reach the Docker engine")
    }
}
