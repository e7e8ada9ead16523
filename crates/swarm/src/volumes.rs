//! Volume helpers: list a run's volumes, and copy a volume's contents out or in as a tar stream
//! through a short-lived helper container (created, never started, labelled with the run, always
//! removed) — the engine's archive API works on a stopped container's mounts. A volume is local
//! to a node: the helper is created by the engine of the node that holds it
//! ([`Swarm::volume_engine`]).

use std::collections::HashMap;

use bollard::body_try_stream;
use bollard::models::{ContainerCreateBody, HostConfig, Mount, MountType};
use bollard::query_parameters::{
    CreateContainerOptions, DownloadFromContainerOptions, ListContainersOptions, RemoveContainerOptions,
    UploadToContainerOptions,
};
use bollard::Docker;
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::error::{is_not_found, Error, Result};
use crate::labels::{filter_run, RUN};
use crate::nodes::NodeEngine;
use crate::objects::Kind;
use crate::Swarm;

/// How much of an archive is read at a time when streaming it into a volume.
const IMPORT_CHUNK: usize = 256 * 1024;

/// Where the helper container mounts the volume.
const MOUNT: &str = "/ccci-volume";

impl Swarm {
    /// Names of the volumes labelled with the run (sorted).
    pub async fn run_volumes(&self, run_id: &str) -> Result<Vec<String>> {
        let mut names: Vec<String> =
            self.list_objects(Kind::Volume, &filter_run(run_id)).await?.into_iter().map(|o| o.name).collect();
        names.sort();
        Ok(names)
    }

    /// Write the contents of `volume` as a tar archive (entries relative to the volume root,
    /// `./...`) into `out`. `image` is any local image (it is never run). Returns bytes written.
    pub async fn export_volume<W: AsyncWrite + Unpin + ?Sized>(
        &self,
        run_id: &str,
        volume: &str,
        image: &str,
        out: &mut W,
    ) -> Result<u64> {
        let engine = self.volume_engine(volume).await?;
        let docker = &engine.docker;
        let helper = volume_helper(docker, run_id, volume, image, true).await?;
        let result = async {
            let mut stream = std::pin::pin!(docker
                .download_from_container(&helper, Some(DownloadFromContainerOptions { path: format!("{MOUNT}/.") }),));
            let mut written = 0u64;
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(Error::docker(format!("reading volume {volume}")))?;
                out.write_all(&chunk).await.map_err(Error::io("writing the volume archive"))?;
                written += chunk.len() as u64;
            }
            out.flush().await.map_err(Error::io("writing the volume archive"))?;
            Ok(written)
        }
        .await;
        remove_helper(docker, &helper).await;
        result
    }

    /// Extract the tar archive read from `tar` into `volume` (paths relative to the volume root;
    /// existing files are overwritten, others kept), streamed: the archive is never held whole in
    /// memory. `image` is any local image (it is never run).
    pub async fn import_volume<R: AsyncRead + Unpin + ?Sized>(
        &self,
        run_id: &str,
        volume: &str,
        image: &str,
        tar: &mut R,
    ) -> Result<()> {
        let engine = self.volume_engine(volume).await?;
        let docker = &engine.docker;
        let helper = volume_helper(docker, run_id, volume, image, false).await?;
        let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(4);
        let chunks = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
        let upload = docker.upload_to_container(
            &helper,
            Some(UploadToContainerOptions { path: MOUNT.to_string(), ..Default::default() }),
            body_try_stream(chunks),
        );
        let pump = async move {
            let mut buf = vec![0u8; IMPORT_CHUNK];
            loop {
                let chunk = match tar.read(&mut buf).await {
                    Ok(0) => return Ok(()),
                    Ok(n) => Ok(Bytes::copy_from_slice(&buf[..n])),
                    Err(e) => Err(e),
                };
                let failed = chunk.as_ref().err().map(|e| std::io::Error::new(e.kind(), e.to_string()));
                if tx.send(chunk).await.is_err() {
                    return Ok(()); // the upload ended early; its own error says why
                }
                if let Some(e) = failed {
                    return Err(e);
                }
            }
        };
        let (uploaded, pumped) = tokio::join!(upload, pump);
        remove_helper(docker, &helper).await;
        pumped.map_err(Error::io(format!("reading the archive for volume {volume}")))?;
        uploaded.map_err(Error::docker(format!("writing into volume {volume}")))
    }

    /// The engine of the node that holds `volume`: where a running container uses it, else the
    /// only node that has it, else the connected engine (which creates it on first use, as on a
    /// single node). [`Error::VolumeOnManyNodes`] when several nodes have it and none runs a
    /// container using it.
    pub async fn volume_engine(&self, volume: &str) -> Result<NodeEngine> {
        if !self.is_multi_engine() {
            return Ok(self.me().clone());
        }
        let in_use = HashMap::from([
            ("volume".to_string(), vec![volume.to_string()]),
            ("status".to_string(), vec!["running".to_string()]),
        ]);
        let mut holders = Vec::new();
        for engine in self.node_engines() {
            let ctx = || format!("looking for volume {volume} on {engine}");
            let users = engine
                .docker
                .list_containers(Some(ListContainersOptions { filters: Some(in_use.clone()), ..Default::default() }))
                .await
                .map_err(Error::docker(ctx()))?;
            if !users.is_empty() {
                return Ok(engine.clone());
            }
            match engine.docker.inspect_volume(volume).await {
                Ok(_) => holders.push(engine.clone()),
                Err(e) if is_not_found(&e) => {}
                Err(e) => return Err(Error::docker(ctx())(e)),
            }
        }
        match holders.len() {
            0 => Ok(self.me().clone()),
            1 => Ok(holders.remove(0)),
            _ => Err(Error::VolumeOnManyNodes {
                volume: volume.to_string(),
                nodes: holders.iter().map(|e| e.name.clone()).collect(),
            }),
        }
    }
}

async fn volume_helper(docker: &Docker, run_id: &str, volume: &str, image: &str, read_only: bool) -> Result<String> {
    let body = ContainerCreateBody {
        image: Some(image.to_string()),
        // Never started; a command is only needed because images may lack one.
        cmd: Some(vec!["true".to_string()]),
        labels: Some(HashMap::from([(RUN.to_string(), run_id.to_string())])),
        host_config: Some(HostConfig {
            mounts: Some(vec![Mount {
                target: Some(MOUNT.to_string()),
                source: Some(volume.to_string()),
                typ: Some(MountType::VOLUME),
                read_only: Some(read_only),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    };
    let created = docker
        .create_container(None::<CreateContainerOptions>, body)
        .await
        .map_err(Error::docker(format!("creating a helper container for volume {volume}")))?;
    Ok(created.id)
}

async fn remove_helper(docker: &Docker, id: &str) {
    // Best effort: a leftover helper carries the run label, so teardown or the janitor gets it.
    let _ = docker.remove_container(id, Some(RemoveContainerOptions { force: true, ..Default::default() })).await;
}
