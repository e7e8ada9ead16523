//! The sandbox's network: sandboxed commands run in a network namespace of the run's own whose
//! only way out is the proxy. Inside there is loopback and nothing else, and ccci listens there on
//! `127.0.0.1:<port>` (the port of the app's URL): a connection made to it is carried, from the
//! host's side, to the proxy when the host it asks for (TLS server name or HTTP `Host`, read by
//! `super::peek`) is one of the run's own apps; any other is closed and noted. So pull-request
//! code reaches its run's apps (`CCCI_PROXY_ADDR` names the inside address) and nothing else: not
//! other apps behind the proxy, the image registry or the server's HTTP port on the host's
//! loopback, the Docker API, a cloud's metadata service or the internet.
//!
//! The namespace is made once per run, in a short-lived thread of its own (the network namespace is
//! a property of a thread, and tokio's threads must stay in the host's): it brings `lo` up, binds
//! the listener and opens the descriptor of the namespace that every sandboxed command enters
//! (`setns`, in `confine`). The listener's socket stays in the namespace after the thread is gone;
//! the forwarder runs on tokio's threads and connects to the proxy from the host's namespace.

use std::collections::BTreeSet;
use std::fs::File;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::peek::{self, Peeked};

/// How long the forwarder tries to reach the proxy for one connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections carried at once; more wait for one to end.
const MAX_CONNECTIONS: usize = 256;
/// How long a new connection may take to name its host.
const PEEK_TIMEOUT: Duration = Duration::from_secs(10);
/// At most this many refused hosts are remembered between two [`Network::take_refused`].
const MAX_REFUSED: usize = 16;

/// Where connections go, and for which hosts.
#[derive(Debug, Default)]
struct Route {
    /// `host:port` of the proxy (resolved on the host's side); none: nothing is carried.
    target: Option<String>,
    /// The run's own apps' domains.
    hosts: BTreeSet<String>,
    /// Hosts asked for and refused (`(unnamed)` for a connection that named none).
    refused: BTreeSet<String>,
}

/// The run's network namespace and the forwarder from its loopback to the proxy.
#[derive(Debug)]
pub struct Network {
    namespace: File,
    inside: SocketAddr,
    /// Set once the run knows its apps ([`Network::route_to`]).
    route: Arc<Mutex<Route>>,
    forwarder: tokio::task::JoinHandle<()>,
}

impl Network {
    /// Make the namespace with its listener on `127.0.0.1:port` and start forwarding (to nowhere
    /// until [`Network::route_to`]). Must run inside a tokio runtime, as root.
    pub fn open(port: u16) -> io::Result<Network> {
        let (namespace, listener) = std::thread::spawn(move || in_new_namespace(port))
            .join()
            .map_err(|_| io::Error::other("the thread making the network namespace panicked"))??;
        let inside = listener.local_addr()?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let route = Arc::new(Mutex::new(Route::default()));
        let forwarder = tokio::spawn(forward(listener, route.clone()));
        Ok(Network { namespace, inside, route, forwarder })
    }

    /// Where sandboxed code reaches the proxy.
    pub fn inside(&self) -> SocketAddr {
        self.inside
    }

    /// Carry connections for `hosts` to the proxy at `target` (`host:port`, resolved on the
    /// host's side).
    pub fn route_to(&self, target: String, hosts: impl IntoIterator<Item = String>) {
        let mut route = lock(&self.route);
        route.target = Some(target);
        route.hosts = hosts.into_iter().map(|h| h.to_ascii_lowercase()).collect();
    }

    /// The hosts connections asked for and were refused since the last call.
    pub fn take_refused(&self) -> Vec<String> {
        std::mem::take(&mut lock(&self.route).refused).into_iter().collect()
    }

    /// The namespace's descriptor, for `setns` in a sandboxed command's child.
    pub fn descriptor(&self) -> RawFd {
        self.namespace.as_raw_fd()
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        self.forwarder.abort();
    }
}

/// In a thread of its own: a new network namespace, its loopback up, the listener bound in it.
fn in_new_namespace(port: u16) -> io::Result<(File, std::net::TcpListener)> {
    // SAFETY: unshare with a valid flag; it changes this thread's namespace only.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        return Err(io::Error::last_os_error());
    }
    loopback_up()?;
    let namespace = File::open("/proc/thread-self/ns/net")?;
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port))?;
    listener.set_nonblocking(true)?;
    Ok((namespace, listener))
}

/// Bring the interface `lo` of this thread's network namespace up (a new namespace has it down,
/// without its addresses).
fn loopback_up() -> io::Result<()> {
    // SAFETY: a socket, two ioctls on an `ifreq` that lives for the calls, and its close.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut req: libc::ifreq = std::mem::zeroed();
        for (slot, byte) in req.ifr_name.iter_mut().zip(b"lo\0") {
            *slot = *byte as libc::c_char;
        }
        let mut rc = libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut req);
        if rc == 0 {
            req.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
            rc = libc::ioctl(fd, libc::SIOCSIFFLAGS, &req);
        }
        let error = io::Error::last_os_error();
        libc::close(fd);
        if rc == 0 {
            Ok(())
        } else {
            Err(error)
        }
    }
}

fn lock(route: &Mutex<Route>) -> std::sync::MutexGuard<'_, Route> {
    route.lock().unwrap_or_else(|e| e.into_inner())
}

/// Accept connections inside and carry each that asks for one of the run's hosts to the proxy.
async fn forward(listener: tokio::net::TcpListener, route: Arc<Mutex<Route>>) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else { return };
        let Ok((inside, _)) = listener.accept().await else { continue };
        let route = route.clone();
        tokio::spawn(async move {
            let _slot = slot;
            carry(inside, &route).await;
        });
    }
}

/// One connection: read until it names its host, then carry it (the bytes read first included)
/// or close it.
async fn carry(mut inside: tokio::net::TcpStream, route: &Mutex<Route>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut start = Vec::new();
    let host = loop {
        match peek::requested_host(&start) {
            Peeked::Host(host) => break Some(host),
            Peeked::Unnamed => break None,
            Peeked::NeedMore => {}
        }
        let mut chunk = [0u8; 4096];
        match tokio::time::timeout(PEEK_TIMEOUT, inside.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => start.extend_from_slice(&chunk[..n]),
            _ => return,
        }
    };
    let target = {
        let mut route = lock(route);
        match (&route.target, host) {
            (Some(target), Some(host)) if route.hosts.contains(&host) => Some(target.clone()),
            (_, host) => {
                if route.refused.len() < MAX_REFUSED {
                    route.refused.insert(host.unwrap_or_else(|| "(unnamed)".into()));
                }
                None
            }
        }
    };
    let Some(target) = target else { return };
    let connected = tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(&target)).await;
    if let Ok(Ok(mut proxy)) = connected {
        if proxy.write_all(&start).await.is_ok() {
            let _ = tokio::io::copy_bidirectional(&mut inside, &mut proxy).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// Whether this process may make network namespaces (root with CAP_SYS_ADMIN).
    fn able() -> bool {
        super::super::runner::is_root() && super::super::confine::can_make_namespaces()
    }

    /// Connect to `addr` from inside the namespace (a thread that entered it); what it answered,
    /// or the error number of the failure.
    fn from_inside(network: &Network, addr: SocketAddr, request: &[u8]) -> Result<String, i32> {
        let fd = network.descriptor();
        std::thread::scope(|s| {
            s.spawn(|| {
                // SAFETY: setns on a valid namespace descriptor; it changes this thread only.
                assert_eq!(unsafe { libc::setns(fd, libc::CLONE_NEWNET) }, 0, "{}", io::Error::last_os_error());
                use std::io::{Read, Write};
                let mut conn = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map_err(errno)?;
                conn.write_all(request).map_err(errno)?;
                let mut answer = String::new();
                conn.read_to_string(&mut answer).map_err(errno)?;
                Ok(answer)
            })
            .join()
            .unwrap()
        })
    }

    const GET_APP: &[u8] = b"GET / HTTP/1.1\r\nHost: app.ccci.test\r\n\r\n";

    fn errno(e: io::Error) -> i32 {
        e.raw_os_error().unwrap_or(-1)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn inside_reaches_the_proxy_through_the_forwarder_and_nothing_else_of_the_host() {
        if !able() {
            eprintln!("skipped: network namespaces need root with CAP_SYS_ADMIN");
            return;
        }
        // The "proxy" and another service of the host, both on the host's loopback.
        let proxy = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let other = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let other_addr = other.local_addr().unwrap();
        let proxy_addr = proxy.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = proxy.accept().await {
                let mut got = vec![0u8; GET_APP.len()];
                conn.read_exact(&mut got).await.unwrap();
                conn.write_all(format!("proxy got {}", String::from_utf8_lossy(&got)).as_bytes()).await.unwrap();
            }
        });
        let network = Network::open(0).unwrap();
        let inside = network.inside();
        assert!(inside.ip().is_loopback());

        let inside_ = |request: &'static [u8]| tokio::task::block_in_place(|| from_inside(&network, inside, request));
        let closed = |r: &Result<String, i32>| r.is_err() || r.as_deref() == Ok("");
        let unrouted = inside_(GET_APP);
        assert!(closed(&unrouted), "nothing is carried before route_to: {unrouted:?}");
        assert_eq!(network.take_refused(), vec!["app.ccci.test".to_string()]);

        network.route_to(proxy_addr.to_string(), ["App.ccci.test".to_string()]);
        let answer = inside_(GET_APP);
        assert_eq!(
            answer,
            Ok(format!("proxy got {}", String::from_utf8_lossy(GET_APP))),
            "the bytes read first are carried too"
        );
        // Another app behind the proxy, or a connection naming none, is not carried.
        let other_app = inside_(b"GET / HTTP/1.1\r\nHost: other.ccci.test\r\n\r\n");
        assert!(closed(&other_app), "{other_app:?}");
        let unnamed = inside_(b"GET / HTTP/1.0\r\n\r\n");
        assert!(closed(&unnamed), "{unnamed:?}");
        assert_eq!(network.take_refused(), vec!["(unnamed)".to_string(), "other.ccci.test".to_string()]);
        assert!(network.take_refused().is_empty());
        // The host's own loopback service is out of reach: inside, that address is the
        // namespace's own loopback, where nothing listens.
        let refused = tokio::task::block_in_place(|| from_inside(&network, other_addr, GET_APP));
        assert_eq!(refused, Err(libc::ECONNREFUSED));
        // Nothing beyond loopback exists inside: any other address is unreachable.
        let outside: SocketAddr = "192.0.2.1:443".parse().unwrap();
        let unreachable = tokio::task::block_in_place(|| from_inside(&network, outside, GET_APP));
        assert_eq!(unreachable, Err(libc::ENETUNREACH));
        drop(other);
    }
}
