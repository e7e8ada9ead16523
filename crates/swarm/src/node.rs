//! The engine and node a server runs on, for `ccci server init` (SPEC O2): which engine answers,
//! whether this node is in a swarm and may manage it, turning a lone engine into a single-node
//! swarm, and the external overlay networks apps join (`proxy`).

use std::collections::HashMap;

use bollard::models::{LocalNodeState, NetworkCreateRequest, SwarmInitRequest};

use crate::error::{is_not_found, Error, Result};
use crate::Swarm;

/// This node's place in a swarm, as the engine reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeRole {
    /// Not part of any swarm.
    NoSwarm,
    /// A manager: stacks can be deployed from here.
    Manager,
    /// A worker: it runs tasks but cannot deploy or read services.
    Worker,
    /// Joining, locked, or in error: the engine's state and message.
    Unusable {
        /// `pending`, `locked`, `error`...
        state: String,
        /// The engine's error message, if any.
        message: String,
    },
}

/// The engine that answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineInfo {
    /// The engine's version (`20.10.24`).
    pub version: String,
    /// The API version negotiated with it (`1.41`).
    pub api_version: String,
    /// This node's place in a swarm.
    pub role: NodeRole,
}

/// What [`Swarm::ensure_overlay_network`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkState {
    /// An attachable swarm overlay network of that name was already there.
    Present,
    /// It was created.
    Created,
}

impl Swarm {
    /// The engine's version and this node's swarm role.
    pub async fn engine_info(&self) -> Result<EngineInfo> {
        let info = self.docker.info().await.map_err(Error::docker("reading the engine's info"))?;
        let version = self.docker.version().await.map_err(Error::docker("reading the engine's version"))?;
        let swarm = info.swarm.unwrap_or_default();
        let role = match swarm.local_node_state {
            Some(LocalNodeState::ACTIVE) if swarm.control_available == Some(true) => NodeRole::Manager,
            Some(LocalNodeState::ACTIVE) => NodeRole::Worker,
            Some(LocalNodeState::INACTIVE) | Some(LocalNodeState::EMPTY) | None => NodeRole::NoSwarm,
            Some(state) => NodeRole::Unusable { state: state.to_string(), message: swarm.error.unwrap_or_default() },
        };
        Ok(EngineInfo {
            version: version.version.unwrap_or_default(),
            api_version: self.docker.client_version().to_string(),
            role,
        })
    }

    /// Make this lone engine a single-node swarm (as `docker swarm init [--advertise-addr A]`).
    /// Without an address the engine chooses one, and refuses when the host has several.
    pub async fn init_swarm(&self, advertise_addr: Option<&str>) -> Result<()> {
        let request = SwarmInitRequest {
            listen_addr: Some("0.0.0.0:2377".into()),
            advertise_addr: advertise_addr.map(str::to_string),
            ..Default::default()
        };
        self.docker.init_swarm(request).await.map_err(Error::docker("initialising a single-node swarm"))?;
        Ok(())
    }

    /// Make sure the attachable overlay network `name` exists (created with `labels` if not). A
    /// network of that name that is not a swarm overlay is an error saying so: apps could not
    /// join it.
    pub async fn ensure_overlay_network(&self, name: &str, labels: &[(&str, &str)]) -> Result<NetworkState> {
        match self.docker.inspect_network(name, None::<bollard::query_parameters::InspectNetworkOptions>).await {
            Ok(network) => {
                let driver = network.driver.unwrap_or_default();
                let scope = network.scope.unwrap_or_default();
                if driver != "overlay" || scope != "swarm" {
                    return Err(Error::InvalidNetwork {
                        name: name.into(),
                        message: format!(
                            "it is a {driver} network of scope {scope}, not a swarm overlay; remove it \
                             (`docker network rm {name}`) and run again"
                        ),
                    });
                }
                Ok(NetworkState::Present)
            }
            Err(e) if is_not_found(&e) => {
                let request = NetworkCreateRequest {
                    name: name.into(),
                    driver: Some("overlay".into()),
                    attachable: Some(true),
                    labels: Some(labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<HashMap<_, _>>()),
                    ..Default::default()
                };
                self.docker.create_network(request).await.map_err(Error::docker(format!("creating network {name}")))?;
                Ok(NetworkState::Created)
            }
            Err(e) => Err(Error::docker(format!("inspecting network {name}"))(e)),
        }
    }
}
