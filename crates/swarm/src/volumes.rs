//! Volume helpers: list a run's volumes, and copy a volume's contents out or in as a tar stream
//! through a short-lived helper container (created, never started, labelled with the run, always
//! removed) — the engine's archive API works on a stopped container's mounts.

use std::collections::HashMap;

use bollard::body_try_stream;
use bollard::models::{ContainerCreateBody, HostConfig, Mount, MountType};
use bollard::query_parameters::{
    CreateContainerOptions, DownloadFromContainerOptions, RemoveContainerOptions, UploadToContainerOptions,
};
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::error::{Error, Result};
use crate::labels::{filter_run, RUN};
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
        let helper = self.volume_helper(run_id, volume, image, true).await?;
        let result = async {
            let mut stream = std::pin::pin!(self
                .docker
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
        self.remove_helper(&helper).await;
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
        let helper = self.volume_helper(run_id, volume, image, false).await?;
        let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(4);
        let chunks = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
        let upload = self.docker.upload_to_container(
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
        self.remove_helper(&helper).await;
        pumped.map_err(Error::io(format!("reading the archive for volume {volume}")))?;
        uploaded.map_err(Error::docker(format!("writing into volume {volume}")))
    }

    async fn volume_helper(&self, run_id: &str, volume: &str, image: &str, read_only: bool) -> Result<String> {
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
        let created = self
            .docker
            .create_container(None::<CreateContainerOptions>, body)
            .await
            .map_err(Error::docker(format!("creating a helper container for volume {volume}")))?;
        Ok(created.id)
    }

    async fn remove_helper(&self, id: &str) {
        // Best effort: a leftover helper carries the run label, so teardown or the janitor gets it.
        let _ =
            self.docker.remove_container(id, Some(RemoveContainerOptions { force: true, ..Default::default() })).await;
    }
}
