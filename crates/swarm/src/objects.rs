//! A uniform view of the Docker objects a run can leave behind (services, containers, networks,
//! configs, secrets, volumes): list them by label filter, remove one, tell "gone" from "busy".
//! Services, networks, configs and secrets are listed on the manager; containers and volumes on
//! every node engine cc-ci talks to ([`crate::nodes`]), each removed through its own node's.

use std::collections::HashMap;

use bollard::query_parameters::{
    ListConfigsOptions, ListContainersOptions, ListNetworksOptions, ListSecretsOptions, ListServicesOptions,
    ListVolumesOptions, RemoveContainerOptions, RemoveVolumeOptions,
};

use bollard::Docker;

use crate::error::{is_not_found, Error, Leftover, Result};
use crate::nodes::NodeEngine;
use crate::Swarm;

/// Kinds of object, in the order they must be removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    Service,
    Container,
    Network,
    Config,
    Secret,
    Volume,
}

impl Kind {
    pub(crate) const ALL: [Kind; 6] =
        [Kind::Service, Kind::Container, Kind::Network, Kind::Config, Kind::Secret, Kind::Volume];

    /// Whether objects of this kind live on one node (rather than in the swarm).
    pub(crate) fn is_per_node(self) -> bool {
        matches!(self, Kind::Container | Kind::Volume)
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Service => "service",
            Kind::Container => "container",
            Kind::Network => "network",
            Kind::Config => "config",
            Kind::Secret => "secret",
            Kind::Volume => "volume",
        }
    }
}

/// One object with its labels.
#[derive(Debug, Clone)]
pub(crate) struct Object {
    pub kind: Kind,
    /// Id (the name for volumes).
    pub id: String,
    pub name: String,
    pub labels: HashMap<String, String>,
    /// A container's state (`running`, `exited`...); empty for other kinds.
    pub state: String,
    /// The node a container or volume is on, when cc-ci talks to several node engines (its
    /// leftover then says `<name> on <node>`); `None` for the swarm's objects and on one node.
    pub node: Option<NodeEngine>,
}

impl Object {
    /// A container that is no longer running (it stopped, or never started).
    pub(crate) fn has_stopped(&self) -> bool {
        matches!(self.state.as_str(), "exited" | "dead" | "created")
    }

    /// The id of the node a container or volume is on (empty for the swarm's objects).
    pub(crate) fn node_id(&self) -> &str {
        self.node.as_ref().map_or("", |n| n.id.as_str())
    }

    pub(crate) fn leftover(&self) -> Leftover {
        let name = if self.name.is_empty() { self.id.clone() } else { self.name.clone() };
        match &self.node {
            Some(node) => Leftover { kind: self.kind.name(), name: format!("{name} on {}", node.name) },
            None => Leftover { kind: self.kind.name(), name },
        }
    }
}

/// The outcome of one removal attempt.
pub(crate) enum Removal {
    /// Removed, or already gone.
    Done,
    /// The engine refused for now (in use, active endpoints...): try again later.
    Busy(String),
}

impl Swarm {
    /// Objects of `kind` matching the engine filter: the swarm's on the manager, containers and
    /// volumes on every node engine.
    pub(crate) async fn list_objects(&self, kind: Kind, filters: &HashMap<String, Vec<String>>) -> Result<Vec<Object>> {
        if !kind.is_per_node() {
            return list_on(&self.docker, kind, filters, "").await;
        }
        let mut out = Vec::new();
        for engine in self.node_engines() {
            let on = if self.is_multi_engine() { format!(" on {engine}") } else { String::new() };
            let mut objs = list_on(&engine.docker, kind, filters, &on).await?;
            if self.is_multi_engine() {
                objs.iter_mut().for_each(|o| o.node = Some(engine.clone()));
            }
            out.extend(objs);
        }
        Ok(out)
    }

    /// Objects of `kind` matching any of the filters, without duplicates.
    pub(crate) async fn list_any(&self, kind: Kind, filters: &[HashMap<String, Vec<String>>]) -> Result<Vec<Object>> {
        let mut out: Vec<Object> = Vec::new();
        for f in filters {
            for o in self.list_objects(kind, f).await? {
                if !out.iter().any(|x| x.id == o.id && x.node_id() == o.node_id()) {
                    out.push(o);
                }
            }
        }
        Ok(out)
    }

    /// Try to remove one object (containers are force-removed with their anonymous volumes).
    pub(crate) async fn remove_object(&self, o: &Object) -> Result<Removal> {
        let docker = o.node.as_ref().map_or(&self.docker, |n| &n.docker);
        let r = match o.kind {
            Kind::Service => docker.delete_service(&o.id).await,
            Kind::Container => {
                docker
                    .remove_container(
                        &o.id,
                        Some(RemoveContainerOptions { force: true, v: true, ..Default::default() }),
                    )
                    .await
            }
            Kind::Network => docker.remove_network(&o.id).await,
            Kind::Config => docker.delete_config(&o.id).await,
            Kind::Secret => docker.delete_secret(&o.id).await,
            Kind::Volume => docker.remove_volume(&o.id, None::<RemoveVolumeOptions>).await,
        };
        match r {
            Ok(()) => Ok(Removal::Done),
            Err(e) if is_not_found(&e) => Ok(Removal::Done),
            Err(bollard::errors::Error::DockerResponseServerError { message, .. }) => Ok(Removal::Busy(message)),
            Err(e) => Err(Error::docker(format!("removing {}", o.leftover()))(e)),
        }
    }
}

/// Objects of `kind` matching the filter on one engine (`on`: ` on <node>` for error messages).
async fn list_on(docker: &Docker, kind: Kind, filters: &HashMap<String, Vec<String>>, on: &str) -> Result<Vec<Object>> {
    let f = Some(filters.clone());
    let ctx = format!("listing {}s{on}", kind.name());
    let objs = match kind {
        Kind::Service => docker
            .list_services(Some(ListServicesOptions { filters: f, status: None }))
            .await
            .map_err(Error::docker(ctx))?
            .into_iter()
            .map(|s| {
                let spec = s.spec.unwrap_or_default();
                obj(kind, s.id, spec.name, spec.labels)
            })
            .collect(),
        Kind::Container => docker
            .list_containers(Some(ListContainersOptions { all: true, filters: f, ..Default::default() }))
            .await
            .map_err(Error::docker(ctx))?
            .into_iter()
            .map(|c| {
                let name = c.names.and_then(|n| n.first().map(|n| n.trim_start_matches('/').to_string()));
                let state = c.state.map(|s| s.to_string()).unwrap_or_default();
                Object { state, ..obj(kind, c.id, name, c.labels) }
            })
            .collect(),
        Kind::Network => docker
            .list_networks(Some(ListNetworksOptions { filters: f }))
            .await
            .map_err(Error::docker(ctx))?
            .into_iter()
            .map(|n| obj(kind, n.id, n.name, n.labels))
            .collect(),
        Kind::Config => docker
            .list_configs(Some(ListConfigsOptions { filters: f }))
            .await
            .map_err(Error::docker(ctx))?
            .into_iter()
            .map(|c| {
                let spec = c.spec.unwrap_or_default();
                obj(kind, c.id, spec.name, spec.labels)
            })
            .collect(),
        Kind::Secret => docker
            .list_secrets(Some(ListSecretsOptions { filters: f }))
            .await
            .map_err(Error::docker(ctx))?
            .into_iter()
            .map(|s| {
                let spec = s.spec.unwrap_or_default();
                obj(kind, s.id, spec.name, spec.labels)
            })
            .collect(),
        Kind::Volume => docker
            .list_volumes(Some(ListVolumesOptions { filters: f }))
            .await
            .map_err(Error::docker(ctx))?
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(|v| obj(kind, Some(v.name.clone()), Some(v.name), Some(v.labels)))
            .collect(),
    };
    Ok(objs)
}

fn obj(kind: Kind, id: Option<String>, name: Option<String>, labels: Option<HashMap<String, String>>) -> Object {
    Object {
        kind,
        id: id.unwrap_or_default(),
        name: name.unwrap_or_default(),
        labels: labels.unwrap_or_default(),
        state: String::new(),
        node: None,
    }
}
