//! Packing and unpacking tar archives on the CI host with GNU tar (numeric owners kept), for
//! backups and restores of volumes.

use std::process::Stdio;

use tokio::io::AsyncWriteExt;

use crate::outcome::TierEnd;

/// Run the host's `tar` with `args`, feeding `input` on stdin; returns stdout. A failure is the
/// CI's (an error), quoting tar's message.
pub async fn host_tar(args: &[&str], input: Option<Vec<u8>>) -> Result<Vec<u8>, TierEnd> {
    let mut cmd = tokio::process::Command::new("tar");
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    cmd.stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() });
    let mut child = cmd.spawn().map_err(|e| TierEnd::error(format!("cannot run tar: {e}")))?;
    if let (Some(data), Some(mut stdin)) = (input, child.stdin.take()) {
        // Written concurrently with reading the output, so a large archive cannot deadlock.
        tokio::spawn(async move {
            let _ = stdin.write_all(&data).await;
        });
    }
    let out = child.wait_with_output().await.map_err(|e| TierEnd::error(format!("tar: {e}")))?;
    if !out.status.success() {
        return Err(TierEnd::error(format!("tar {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim())));
    }
    Ok(out.stdout)
}
