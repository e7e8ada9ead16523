//! Whether this host can sandbox pull-request code as the server's runs require (SPEC V9): ccci
//! is root and holds the capabilities for the sandbox's namespaces, and a network namespace with
//! its loopback up can really be made (what every run makes first).

use harness::sandbox::{confine, network::Network, runner};

use crate::Check;

/// What the service needs, said once for every failure.
const FIX: &str = "run the server as root with CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_SETUID and CAP_SETGID (the \
                   package's systemd unit and the NixOS module grant them in CapabilityBoundingSet); run `ccci \
                   doctor` the way the server runs";

/// The verdict; must be called inside a tokio runtime.
pub fn check() -> Check {
    if !runner::is_root() {
        return Check::fail(
            "sandbox",
            "ccci doctor is not running as root, so it cannot sandbox pull-request code",
            FIX,
        );
    }
    let missing = confine::missing_capabilities(&confine::SANDBOX_CAPABILITIES);
    if !missing.is_empty() {
        return Check::fail(
            "sandbox",
            format!("ccci lacks {}: pull-request code cannot be sandboxed", missing.join(", ")),
            FIX,
        );
    }
    match Network::open(0) {
        Ok(_) => Check::pass("sandbox", "pull-request code can be sandboxed (PID, mount, IPC and network namespaces)"),
        Err(e) => Check::fail("sandbox", format!("cannot make a network namespace for pull-request code: {e}"), FIX),
    }
}
