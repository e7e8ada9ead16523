//! The prepared machine: image names, the proxy's address, and running `scripts/testbed-setup`
//! (idempotent, fast when everything is in place) once per test process.

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use crate::Error;

/// The busybox base image the fixtures run (Debian's busybox-static plus small helpers).
pub const BUSYBOX_IMAGE: &str = "ccci-testbed/busybox:1.35";
/// The same image under a second tag, so fixture upgrades can bump the image tag.
pub const BUSYBOX_IMAGE_NEXT: &str = "ccci-testbed/busybox:1.36";
/// A tag that never exists locally (the `missing-image` fixture uses it).
pub const MISSING_IMAGE: &str = "ccci-testbed/busybox:0.0-missing";
/// The stand-in proxy's image.
pub const PROXY_IMAGE: &str = "ccci-testbed/proxy:0.1";
/// The stand-in proxy's swarm service (labelled `cc-ci.testbed=proxy`, never `cc-ci.run`).
pub const PROXY_SERVICE: &str = "ccci-testbed-proxy";

/// The root of the cc-ci checkout this crate was built from.
pub fn repo_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.ancestors().nth(2).map(PathBuf::from).unwrap_or(manifest)
}

/// Where the stand-in proxy listens on the host: `CCCI_PROXY_ADDR` if set (an `ip:port`), else
/// `127.0.0.1:<CCCI_PROXY_PORT>` (the port `scripts/testbed-setup` publishes, default 8080). Send
/// requests there with the app's domain as `Host`.
pub fn proxy_addr() -> SocketAddr {
    if let Some(addr) = std::env::var("CCCI_PROXY_ADDR").ok().and_then(|a| a.parse().ok()) {
        return addr;
    }
    let port = std::env::var("CCCI_PROXY_PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(8080);
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Runs `scripts/testbed-setup` once per process: engine, swarm, `proxy` network, local images and
/// the stand-in proxy answering. Later calls return the first call's outcome. Skips the script if
/// `CCCI_TESTBED_READY=1` is set (a wrapper already ran it) and the proxy port accepts connections.
pub fn ensure_ready() -> Result<(), Error> {
    static READY: OnceLock<Result<(), String>> = OnceLock::new();
    READY
        .get_or_init(run_setup)
        .clone()
        .map_err(|detail| Error::Command { command: "scripts/testbed-setup".into(), detail })
}

/// The images the fixtures need; the same preparation as [`ensure_ready`].
pub fn ensure_images() -> Result<(), Error> {
    ensure_ready()
}

fn run_setup() -> Result<(), String> {
    if std::env::var("CCCI_TESTBED_READY").as_deref() == Ok("1") && TcpStream::connect(proxy_addr()).is_ok() {
        return Ok(());
    }
    let script = repo_root().join("scripts/testbed-setup");
    let out = Command::new(&script).output().map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("{}\n{}", out.status, String::from_utf8_lossy(&out.stderr).trim_end()))
    }
}
