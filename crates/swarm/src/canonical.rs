//! The Docker objects of a warm canonical copy (SPEC W1): its volumes and secrets outlive every
//! run. They carry `cc-ci.canonical=<the copy's stack name>` (unique per copy: the stack name holds
//! the base domain, so two cc-ci instances on one engine never share a copy) and neither
//! `cc-ci.run` nor the stack namespace label, so no teardown, residual check or janitor pass ever selects them; only
//! [`Swarm::drop_canonical`] removes them. A run that deploys the canonical's stack (a quick run)
//! uses them by name, as `docker stack deploy` uses any volume or external secret that exists.

use std::collections::HashMap;

use bollard::models::VolumeCreateRequest;
use bollard::query_parameters::{ListSecretsOptions, ListVolumesOptions, RemoveVolumeOptions};

use crate::error::{is_not_found, Error, Leftover, Result};
use crate::labels::{filter_label, CANONICAL};
use crate::Swarm;

fn labels(copy: &str) -> HashMap<String, String> {
    HashMap::from([(CANONICAL.to_string(), copy.to_string())])
}

impl Swarm {
    /// Create secret `name` of canonical copy `copy` holding `value`.
    pub async fn create_canonical_secret(&self, copy: &str, name: &str, value: &[u8]) -> Result<()> {
        self.create_secret_labelled(name, &[(CANONICAL, copy)], value).await.map(drop)
    }

    /// Create the (empty) volume `name` of canonical copy `copy`.
    pub async fn create_canonical_volume(&self, copy: &str, name: &str) -> Result<()> {
        let options =
            VolumeCreateRequest { name: Some(name.to_string()), labels: Some(labels(copy)), ..Default::default() };
        self.docker.create_volume(options).await.map_err(Error::docker(format!("creating volume {name}")))?;
        Ok(())
    }

    /// Empty volume `name` (no container may use it): it is removed and created again with the
    /// same driver, options and labels, so nothing of its old contents survives.
    pub async fn empty_volume(&self, name: &str) -> Result<()> {
        let old = self.docker.inspect_volume(name).await.map_err(Error::docker(format!("inspecting volume {name}")))?;
        self.docker
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
        self.docker.create_volume(options).await.map_err(Error::docker(format!("creating volume {name} again")))?;
        Ok(())
    }

    /// The secrets and volumes of canonical copy `copy`.
    pub async fn canonical_objects(&self, copy: &str) -> Result<Vec<Leftover>> {
        let filters = Some(filter_label(CANONICAL, copy));
        let secrets = self
            .docker
            .list_secrets(Some(ListSecretsOptions { filters: filters.clone() }))
            .await
            .map_err(Error::docker("listing secrets"))?;
        let volumes = self
            .docker
            .list_volumes(Some(ListVolumesOptions { filters }))
            .await
            .map_err(Error::docker("listing volumes"))?;
        let mut out: Vec<Leftover> = secrets
            .into_iter()
            .filter_map(|s| s.spec.and_then(|s| s.name))
            .map(|name| Leftover { kind: "secret", name })
            .collect();
        out.extend(volumes.volumes.unwrap_or_default().into_iter().map(|v| Leftover { kind: "volume", name: v.name }));
        out.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
        Ok(out)
    }

    /// Remove every secret and volume of canonical copy `copy` (its stack must be undeployed);
    /// returns what was removed.
    pub async fn drop_canonical(&self, copy: &str) -> Result<Vec<Leftover>> {
        let objects = self.canonical_objects(copy).await?;
        for o in &objects {
            let removed = match o.kind {
                "secret" => self.docker.delete_secret(&o.name).await,
                _ => self.docker.remove_volume(&o.name, None::<RemoveVolumeOptions>).await,
            };
            match removed {
                Ok(()) => {}
                Err(e) if is_not_found(&e) => {}
                Err(e) => return Err(Error::docker(format!("removing {o} of canonical copy {copy}"))(e)),
            }
        }
        Ok(objects)
    }
}
