//! D2, the creation side: swarm secrets made by cc-ci for a run (recipes declare them external),
//! labelled with the run and the stack namespace so teardown and the janitor find them; and the
//! secrets of the CI's own infrastructure apps (the proxy's certificate), labelled as such.

use std::collections::HashMap;

use base64::Engine as _;
use bollard::models::SecretSpec;
use bollard::query_parameters::ListSecretsOptions;

use crate::error::{is_not_found, Error, Result};
use crate::labels::{filter_label, filter_run, RUN, STACK_NAMESPACE};
use crate::Swarm;

impl Swarm {
    /// Create secret `name` holding `value`, labelled `cc-ci.run=<run_id>` and
    /// `com.docker.stack.namespace=<stack>`. Returns the secret's id.
    pub async fn create_secret(&self, run_id: &str, stack: &str, name: &str, value: &[u8]) -> Result<String> {
        self.create_secret_labelled(name, &[(RUN, run_id), (STACK_NAMESPACE, stack)], value).await
    }

    /// Create secret `name` holding `value` with exactly `labels` (an infrastructure app's
    /// secrets carry `cc-ci.infra=<app>`, never a run). Returns the secret's id.
    pub async fn create_secret_labelled(&self, name: &str, labels: &[(&str, &str)], value: &[u8]) -> Result<String> {
        let spec = SecretSpec {
            name: Some(name.to_string()),
            labels: Some(labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<HashMap<_, _>>()),
            data: Some(base64::engine::general_purpose::STANDARD.encode(value)),
            ..Default::default()
        };
        let created =
            self.docker.create_secret(spec).await.map_err(Error::docker(format!("creating secret {name}")))?;
        Ok(created.id)
    }

    /// Whether a secret named `name` exists.
    pub async fn secret_exists(&self, name: &str) -> Result<bool> {
        match self.docker.inspect_secret(name).await {
            Ok(_) => Ok(true),
            Err(e) if is_not_found(&e) => Ok(false),
            Err(e) => Err(Error::docker(format!("inspecting secret {name}"))(e)),
        }
    }

    /// Names of the secrets carrying label `key=value`.
    pub async fn secrets_labelled(&self, key: &str, value: &str) -> Result<Vec<String>> {
        let secrets = self
            .docker
            .list_secrets(Some(ListSecretsOptions { filters: Some(filter_label(key, value)) }))
            .await
            .map_err(Error::docker("listing secrets"))?;
        Ok(secrets.into_iter().filter_map(|s| s.spec.and_then(|s| s.name)).collect())
    }

    /// Remove secret `name`; `Ok(false)` when a service still uses it (the engine refuses) or it
    /// is already gone.
    pub async fn remove_secret_if_unused(&self, name: &str) -> Result<bool> {
        match self.docker.delete_secret(name).await {
            Ok(()) => Ok(true),
            Err(e) if is_not_found(&e) => Ok(false),
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 400 | 409, .. }) => Ok(false),
            Err(e) => Err(Error::docker(format!("removing secret {name}"))(e)),
        }
    }

    /// Names of the secrets labelled with the run.
    pub async fn run_secrets(&self, run_id: &str) -> Result<Vec<String>> {
        let secrets = self
            .docker
            .list_secrets(Some(ListSecretsOptions { filters: Some(filter_run(run_id)) }))
            .await
            .map_err(Error::docker("listing secrets"))?;
        Ok(secrets.into_iter().filter_map(|s| s.spec.and_then(|s| s.name)).collect())
    }

    /// Remove every secret labelled with the run; returns how many were removed. Secrets still
    /// used by a service cannot be removed: remove the stack first.
    pub async fn remove_secrets(&self, run_id: &str) -> Result<usize> {
        let mut removed = 0;
        for name in self.run_secrets(run_id).await? {
            match self.docker.delete_secret(&name).await {
                Ok(()) => removed += 1,
                Err(e) if is_not_found(&e) => {}
                Err(e) => return Err(Error::docker(format!("removing secret {name}"))(e)),
            }
        }
        Ok(removed)
    }
}
