//! D2, the creation side: swarm secrets made by cc-ci for a run (recipes declare them external),
//! labelled with the run and the stack namespace so teardown and the janitor find them.

use std::collections::HashMap;

use base64::Engine as _;
use bollard::models::SecretSpec;
use bollard::query_parameters::ListSecretsOptions;

use crate::error::{is_not_found, Error, Result};
use crate::labels::{filter_run, INFRA, RUN, STACK_NAMESPACE};
use crate::Swarm;

impl Swarm {
    /// Create secret `name` holding `value`, labelled `cc-ci.run=<run_id>` and
    /// `com.docker.stack.namespace=<stack>`. Returns the secret's id.
    pub async fn create_secret(&self, run_id: &str, stack: &str, name: &str, value: &[u8]) -> Result<String> {
        let spec = SecretSpec {
            name: Some(name.to_string()),
            labels: Some(HashMap::from([
                (RUN.to_string(), run_id.to_string()),
                (STACK_NAMESPACE.to_string(), stack.to_string()),
            ])),
            data: Some(base64::engine::general_purpose::STANDARD.encode(value)),
            ..Default::default()
        };
        let created =
            self.docker.create_secret(spec).await.map_err(Error::docker(format!("creating secret {name}")))?;
        Ok(created.id)
    }

    /// Create secret `name` holding `value` for the infrastructure app `app` (labelled
    /// `cc-ci.infra=<app>`, never `cc-ci.run`: it lives as long as the app).
    pub async fn create_infra_secret(&self, app: &str, name: &str, value: &[u8]) -> Result<()> {
        let spec = SecretSpec {
            name: Some(name.to_string()),
            labels: Some(HashMap::from([(INFRA.to_string(), app.to_string())])),
            data: Some(base64::engine::general_purpose::STANDARD.encode(value)),
            ..Default::default()
        };
        self.docker.create_secret(spec).await.map_err(Error::docker(format!("creating secret {name}")))?;
        Ok(())
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
