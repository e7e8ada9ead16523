//! What the engine keeps on disk, for the server's disk floor, clean-up and usage figures: where
//! its data root is, what `docker system df` says images, containers, volumes and the build cache
//! take, the dangling images, the images containers and services use, and removing an image
//! (never forced: an image a container still uses stays). All on the manager's engine.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use bollard::query_parameters::{ListContainersOptions, ListImagesOptions, ListServicesOptions, RemoveImageOptions};

use crate::error::{Error, Result};
use crate::Swarm;

/// An image on the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    pub id: String,
    /// `name:tag` references (none for a dangling image).
    pub tags: Vec<String>,
    /// `name@sha256:…` references.
    pub digests: Vec<String>,
    pub size: u64,
}

/// Bytes the engine uses, by kind, as `docker system df` reports them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineUsage {
    pub images: u64,
    pub containers: u64,
    pub volumes: u64,
    pub build_cache: u64,
}

/// `<none>:<none>` and `<none>@<none>`: what the engine lists for an image without references.
fn is_placeholder(reference: &str) -> bool {
    reference.starts_with("<none>")
}

impl Swarm {
    /// The engine's data root (`docker info`'s `DockerRootDir`).
    pub async fn data_root(&self) -> Result<PathBuf> {
        let info = self.docker.info().await.map_err(Error::docker("asking the engine for its data root"))?;
        info.docker_root_dir.map(PathBuf::from).ok_or_else(|| Error::EngineAnswer {
            context: "asking the engine for its data root".into(),
            message: "docker info names no DockerRootDir".into(),
        })
    }

    /// The images without a tag (dangling), only those carrying `label` (`key` or `key=value`)
    /// when given.
    pub async fn dangling_images(&self, label: Option<&str>) -> Result<Vec<ImageInfo>> {
        let mut filters = HashMap::from([("dangling".to_string(), vec!["true".to_string()])]);
        if let Some(label) = label {
            filters.insert("label".into(), vec![label.to_string()]);
        }
        let options = ListImagesOptions { filters: Some(filters), ..Default::default() };
        let images = self.docker.list_images(Some(options)).await.map_err(Error::docker("listing dangling images"))?;
        Ok(images
            .into_iter()
            .map(|i| ImageInfo {
                id: i.id,
                tags: i.repo_tags.into_iter().filter(|t| !is_placeholder(t)).collect(),
                digests: i.repo_digests.into_iter().filter(|d| !is_placeholder(d)).collect(),
                size: i.size.max(0) as u64,
            })
            .collect())
    }

    /// What containers (running or not) and services use: image ids of containers, and the
    /// image references of containers and services as they name them.
    pub async fn images_in_use(&self) -> Result<(BTreeSet<String>, BTreeSet<String>)> {
        let options = ListContainersOptions { all: true, ..Default::default() };
        let containers =
            self.docker.list_containers(Some(options)).await.map_err(Error::docker("listing containers"))?;
        let mut ids = BTreeSet::new();
        let mut references = BTreeSet::new();
        for c in containers {
            ids.extend(c.image_id);
            references.extend(c.image);
        }
        let services =
            self.docker.list_services(None::<ListServicesOptions>).await.map_err(Error::docker("listing services"))?;
        for s in services {
            let image = s.spec.and_then(|spec| spec.task_template).and_then(|t| t.container_spec).and_then(|c| c.image);
            references.extend(image);
        }
        Ok((ids, references))
    }

    /// Removes image `id` (not forced; its now unused parents go with it).
    pub async fn remove_image(&self, id: &str) -> Result<()> {
        self.docker
            .remove_image(id, None::<RemoveImageOptions>, None)
            .await
            .map(drop)
            .map_err(Error::docker(format!("removing image {id}")))
    }

    /// What `docker system df` reports, by kind (its figures have three significant digits).
    pub async fn engine_usage(&self) -> Result<EngineUsage> {
        let output = tokio::process::Command::new(&self.cli)
            .args(["system", "df", "--format", "{{json .}}"])
            .output()
            .await
            .map_err(Error::io("running docker system df"))?;
        if !output.status.success() {
            return Err(Error::EngineAnswer {
                context: "running docker system df".into(),
                message: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            });
        }
        Ok(parse_system_df(&String::from_utf8_lossy(&output.stdout)))
    }
}

/// The lines of `docker system df --format '{{json .}}'`.
fn parse_system_df(text: &str) -> EngineUsage {
    let mut usage = EngineUsage::default();
    for line in text.lines() {
        let Ok(row) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        let size = row["Size"].as_str().and_then(parse_size).unwrap_or(0);
        match row["Type"].as_str() {
            Some("Images") => usage.images = size,
            Some("Containers") => usage.containers = size,
            Some("Local Volumes") => usage.volumes = size,
            Some("Build Cache") => usage.build_cache = size,
            _ => {}
        }
    }
    usage
}

/// `1.23GB`, `45.6kB`, `0B` (Docker's decimal units) in bytes.
fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let factor: f64 = match unit {
        "B" => 1.0,
        "kB" | "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "TB" => 1e12,
        "PB" => 1e15,
        _ => return None,
    };
    number.trim().parse::<f64>().ok().map(|n| (n * factor).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_df_lines_are_read_by_kind() {
        let text = r#"{"Active":"3","Reclaimable":"1.2GB (40%)","Size":"3.016GB","TotalCount":"12","Type":"Images"}
{"Active":"1","Reclaimable":"0B","Size":"45.6kB","TotalCount":"2","Type":"Containers"}
{"Active":"2","Reclaimable":"12MB","Size":"120.5MB","TotalCount":"4","Type":"Local Volumes"}
{"Active":"0","Reclaimable":"0B","Size":"0B","TotalCount":"0","Type":"Build Cache"}"#;
        let usage = parse_system_df(text);
        assert_eq!(
            usage,
            EngineUsage { images: 3_016_000_000, containers: 45_600, volumes: 120_500_000, build_cache: 0 }
        );
        assert_eq!(parse_size("12"), None);
        assert_eq!(parse_size("1.5XB"), None);
    }
}
