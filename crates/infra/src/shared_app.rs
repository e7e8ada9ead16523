//! A warm dependency as an infrastructure app: one release of its recipe rendered for the
//! instance runs share ([`render`]: `shared-<recipe>.<base domain>`, the env its dependents
//! `set`), deployed like runs deploy it ([`deploy`]: images pulled, missing secrets generated and
//! kept with the others under `<data dir>/shared/<recipe>/`, `docker stack deploy` with every
//! object labelled `cc-ci.infra=<stack>`), and its health ([`check`]: converged with its own
//! healthchecks, then its domain answering through the proxy over HTTPS, with the recipe's
//! `ready` path and status when its `ccci.toml` gives them). Its volumes ([`volumes`]) are what
//! an update snapshots first.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use harness::app::App;
use harness::warm::snapshot::VolumeRef;
use recipe::plan::Overrides;
use recipe::recipe::Recipe;
use serde_norway::Value;
use swarm::deploy::Deploy;
use swarm::Swarm;

use crate::apps::SharedSpec;
use crate::{proxy_source, Error, Result, INFRA_LABEL};

/// Longest the HTTPS check keeps asking a converged app.
const SERVING_PATIENCE: Duration = Duration::from_secs(60);

/// One release of a warm dependency, rendered for its shared instance.
#[derive(Debug, Clone)]
pub struct SharedRelease {
    pub name: String,
    pub version: String,
    pub app: App,
    /// Convergence timeout (the recipe's timeout label).
    pub timeout: Duration,
    /// The recipe's `ready` probe (HTTP path and status), if its config gives one.
    pub ready: Option<recipe::config::Ready>,
}

/// Render release `version` of `spec` for the shared instance under `base_domain`.
pub fn render(spec: &SharedSpec, version: &str, base_domain: &str, infra_dir: &Path) -> Result<SharedRelease> {
    let name = spec.name();
    let checkout = proxy_source::prepare_app(&name, &spec.recipe_source(), Some(version), infra_dir)?;
    let mut recipe = Recipe::load(&checkout.dir)?;
    recipe.name = name.clone();
    let instance = harness::shared::instance(&name, base_domain);
    let mut app = harness::app::prepare_with(&recipe, &instance, None, &spec.set)
        .map_err(|e| Error::Recipe(format!("{name} {version}: {e}")))?;
    crate::release_label::label_containers(&mut app.doc, version)?;
    let timeout = recipe::plan::plan(&recipe, Some(version), &Overrides::default())
        .map(|p| Duration::from_secs(p.timeout.seconds))
        .map_err(|e| Error::Recipe(format!("{name} {version}: {e}")))?;
    let ready = recipe::config::load(&checkout.dir, None, &name)
        .map_err(|e| Error::Recipe(format!("{name} {version}: {}", e.0)))?
        .ready;
    Ok(SharedRelease { name, version: version.to_string(), app, timeout, ready })
}

/// Where the app's secret values and lock live (shared with the runs that use it).
fn shared_dir(data_dir: &Path, name: &str) -> PathBuf {
    harness::shared::dir(data_dir, name)
}

/// Deploy `release` (or update the running app in place): pull its images, create the secrets
/// it has no value for yet, `docker stack deploy` labelled `cc-ci.infra=<stack>`.
pub async fn deploy(
    swarm: &Swarm,
    release: &SharedRelease,
    pull: &swarm::PullOptions,
    dnsrr: bool,
    data_dir: &Path,
    workdir: &Path,
) -> Result<()> {
    let app = &release.app;
    swarm.pull_images(&app.doc, pull, &mut |_| {}).await?;
    let root = shared_dir(data_dir, &release.name);
    let mut values = harness::shared::secret_values(&root);
    harness::shared::create_missing_secrets(swarm, app, &root, &mut values)
        .await
        .map_err(|e| Error::Recipe(format!("{} {}: {}", release.name, release.version, e.reason)))?;
    std::fs::create_dir_all(workdir).map_err(Error::io(workdir))?;
    let deploy = Deploy { stack: &app.stack, run_id: "", document: &app.doc, workdir, dnsrr };
    swarm.deploy_labelled(&deploy, &[(INFRA_LABEL, app.stack.as_str())]).await?;
    Ok(())
}

/// Wait until `release` has converged (its healthchecks passing) and answers at its domain
/// through the proxy at `proxy`; says how it went.
pub async fn check(swarm: &Swarm, release: &SharedRelease, proxy: SocketAddr, ca: Option<&Path>) -> Result<String> {
    let app = &release.app;
    let converged = swarm.wait_converged_with(&app.stack, release.timeout, app.stability_window()).await?;
    let mut target = harness::serving::Target::root(&app.domain, "https", Some(proxy));
    target.path = release.ready.as_ref().and_then(|r| r.path.clone()).unwrap_or_else(|| "/".into());
    target.expect = release.ready.as_ref().and_then(|r| r.status).into_iter().collect();
    target.ca_bundle = ca.map(Path::to_path_buf);
    let served = harness::serving::check(&target, SERVING_PATIENCE.min(release.timeout))
        .await
        .map_err(|e| Error::Unhealthy(format!("{e}; see `docker service logs {}_app`", app.stack)))?;
    Ok(format!("converged in {:.1}s; {served}", converged.elapsed.as_secs_f64()))
}

/// The volumes of `release` that a snapshot takes: every volume its document declares that is
/// not external, by compose key and Docker name, with its `app` image for the helper container.
pub fn volumes(release: &SharedRelease) -> Vec<VolumeRef> {
    let doc = &release.app.doc;
    let image = doc["services"]["app"]["image"].as_str().unwrap_or_default().to_string();
    let Some(declared) = doc.get("volumes").and_then(Value::as_mapping) else { return Vec::new() };
    declared
        .iter()
        .filter(|(_, v)| v.get("external").and_then(Value::as_bool) != Some(true))
        .filter_map(|(key, v)| {
            let key = key.as_str()?.to_string();
            let volume = v
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| format!("{}_{key}", release.app.stack));
            Some(VolumeRef { key, volume, image: image.clone() })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_release_renders_for_the_instance_runs_share_with_its_volumes() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = testbed::fixture("warm-idp", &tmp.path().join("warm-idp")).unwrap();
        let spec = SharedSpec { source: repo.path.display().to_string(), set: Default::default() };
        let release = render(&spec, "1.0.0+1.35", "ci.example.org", &tmp.path().join("infra")).unwrap();
        assert_eq!(release.name, "warm-idp");
        assert_eq!(release.app.stack, harness::shared::instance("warm-idp", "ci.example.org").stack_name);
        assert_eq!(release.app.domain, "shared-warm-idp.ci.example.org");
        assert_eq!(release.timeout, Duration::from_secs(120));
        let volumes = volumes(&release);
        assert_eq!(volumes.len(), 1, "{volumes:?}");
        assert_eq!(volumes[0].key, "data");
        assert_eq!(volumes[0].volume, format!("{}_data", release.app.stack));
        assert!(volumes[0].image.ends_with("busybox:1.35"), "{volumes:?}");
        let err = render(&spec, "9.9.9+1", "ci.example.org", &tmp.path().join("infra")).unwrap_err().to_string();
        assert!(err.contains("no release 9.9.9+1") && err.contains("1.1.0+1.36"), "{err}");
    }
}
