//! The prepared machine: image names, the real proxy's address and the CA its certificate is
//! issued by, and running `scripts/testbed-setup` (idempotent, fast when everything is in place)
//! once per test process.

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use crate::Error;

/// The busybox base image the fixtures run (Debian's busybox-static plus small helpers), as the
/// fixtures name it: in the loopback registry, where `scripts/testbed-setup` pushes it.
pub const BUSYBOX_IMAGE: &str = "127.0.0.1:5000/ccci-testbed/busybox:1.35";
/// The same image under a second tag, so fixture upgrades can bump the image tag.
pub const BUSYBOX_IMAGE_NEXT: &str = "127.0.0.1:5000/ccci-testbed/busybox:1.36";
/// A tag the registry never has (the `missing-image` fixture uses it): pulling it is answered
/// `manifest unknown`.
pub const MISSING_IMAGE: &str = "127.0.0.1:5000/ccci-testbed/busybox:0.0-missing";
/// Every test app lives under this domain; the proxy's wildcard certificate covers `*.<it>`.
pub const BASE_DOMAIN: &str = "ccci.test";

/// The root of the cc-ci checkout this crate was built from.
pub fn repo_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.ancestors().nth(2).map(PathBuf::from).unwrap_or(manifest)
}

/// Where the proxy's HTTPS entry point listens on the host: `CCCI_PROXY_ADDR` if set (an
/// `ip:port`), else `127.0.0.1:<CCCI_PROXY_PORT>` (the port `scripts/testbed-setup` has
/// `ccci server init` publish, default 443). Connect there with the app's domain as SNI and `Host`.
pub fn proxy_addr() -> SocketAddr {
    if let Some(addr) = std::env::var("CCCI_PROXY_ADDR").ok().and_then(|a| a.parse().ok()) {
        return addr;
    }
    let port = std::env::var("CCCI_PROXY_PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(443);
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Where the testbed keeps its state: `CCCI_TESTBED_DIR`, else `/var/lib/ccci-testbed`.
pub fn testbed_dir() -> PathBuf {
    std::env::var_os("CCCI_TESTBED_DIR").map_or_else(|| PathBuf::from("/var/lib/ccci-testbed"), PathBuf::from)
}

/// The testbed server's local CA directory (made by `ccci server init`): `ca.pem`, and the
/// proxy's wildcard certificate `wildcard.pem` with its key `wildcard.key`.
pub fn tls_dir() -> PathBuf {
    testbed_dir().join("server/tls")
}

/// The CA the proxy's wildcard certificate is issued by: what clients of test apps must trust.
pub fn ca_bundle() -> PathBuf {
    tls_dir().join("ca.pem")
}

/// Runs `scripts/testbed-setup` once per process: engine, local images, registry, then swarm,
/// `proxy` network, certificate and the real proxy answering (`ccci server init`). Later calls
/// return the first call's outcome. Skips the script if `CCCI_TESTBED_READY=1` is set (a wrapper
/// already ran it) and the proxy port accepts connections.
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
