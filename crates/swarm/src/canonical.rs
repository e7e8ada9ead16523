//! The Docker objects of a warm canonical copy (SPEC W1): its volumes and secrets outlive every
//! run. They carry `cc-ci.canonical=<the copy's stack name>` (unique per copy: the stack name holds
//! the base domain, so two cc-ci instances on one engine never share a copy) and neither
//! `cc-ci.run` nor the stack namespace label, so no teardown, residual check or janitor pass ever selects them; only
//! [`Swarm::drop_canonical`] removes them. A run that deploys the canonical's stack (a quick run)
//! uses them by name, as `docker stack deploy` uses any volume or external secret that exists.

use std::collections::HashMap;

use bollard::models::VolumeCreateRequest;
use bollard::query_parameters::RemoveVolumeOptions;

use crate::error::{Error, Leftover, Result};
use crate::labels::{filter_label, CANONICAL};
use crate::objects::{Kind, Object, Removal};
use crate::Swarm;

fn labels(copy: &str) -> HashMap<String, String> {
    HashMap::from([(CANONICAL.to_string(), copy.to_string())])
}

impl Swarm {
    /// Create secret `name` of canonical copy `copy` holding `value`.
    pub async fn create_canonical_secret(&self, copy: &str, name: &str, value: &[u8]) -> Result<()> {
        self.create_secret_labelled(name, &[(CANONICAL, copy)], value).await.map(drop)
    }

    /// Create the (empty) volume `name` of canonical copy `copy`. Not on a multi-node swarm
    /// ([`Error::NotOnMultiNode`]): the copy's tasks could be placed on a node other than the one
    /// holding its volumes.
    pub async fn create_canonical_volume(&self, copy: &str, name: &str) -> Result<()> {
        if self.is_multi_engine() {
            return Err(Error::NotOnMultiNode(format!(
                "a warm canonical copy (volume {name}: its tasks may be placed on any node, its volumes stay on one)"
            )));
        }
        let options =
            VolumeCreateRequest { name: Some(name.to_string()), labels: Some(labels(copy)), ..Default::default() };
        self.docker.create_volume(options).await.map_err(Error::docker(format!("creating volume {name}")))?;
        Ok(())
    }

    /// Empty volume `name` (no container may use it): it is removed and created again with the
    /// same driver, options and labels, so nothing of its old contents survives.
    pub async fn empty_volume(&self, name: &str) -> Result<()> {
        let engine = self.volume_engine(name).await?;
        let docker = &engine.docker;
        let old = docker.inspect_volume(name).await.map_err(Error::docker(format!("inspecting volume {name}")))?;
        docker
            .remove_volume(name, None::<RemoveVolumeOptions>)
            .await
            .map_err(Error::docker(format!("removing volume {name} to empty it")))?;
        let options = VolumeCreateRequest {
            name: Some(name.to_string()),
            driver: Some(old.driver),
            driver_opts: Some(old.options),
            labels: Some(old.labels),
            ..Default::default()
        };
        docker.create_volume(options).await.map_err(Error::docker(format!("creating volume {name} again")))?;
        Ok(())
    }

    /// The secrets and volumes of canonical copy `copy` (volumes of every node engine).
    pub async fn canonical_objects(&self, copy: &str) -> Result<Vec<Leftover>> {
        let mut out: Vec<Leftover> = self.canonical(copy).await?.iter().map(Object::leftover).collect();
        out.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
        Ok(out)
    }

    async fn canonical(&self, copy: &str) -> Result<Vec<Object>> {
        let filters = filter_label(CANONICAL, copy);
        let mut objects = self.list_objects(Kind::Secret, &filters).await?;
        objects.extend(self.list_objects(Kind::Volume, &filters).await?);
        Ok(objects)
    }

    /// Remove every secret and volume of canonical copy `copy` (its stack must be undeployed);
    /// returns what was removed.
    pub async fn drop_canonical(&self, copy: &str) -> Result<Vec<Leftover>> {
        let mut removed = Vec::new();
        for o in self.canonical(copy).await? {
            match self.remove_object(&o).await? {
                Removal::Done => removed.push(o.leftover()),
                Removal::Busy(why) => {
                    return Err(Error::Docker {
                        context: format!("removing {} of canonical copy {copy}", o.leftover()),
                        source: bollard::errors::Error::DockerResponseServerError { status_code: 409, message: why },
                    })
                }
            }
        }
        removed.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
        Ok(removed)
    }
}
