//! Image registries for tests, all on loopback: the testbed's own registry (started by
//! `scripts/testbed-setup`, [`registry_addr`]), a second registry with htpasswd (bcrypt)
//! authentication started for one test ([`AuthRegistry`]), and a small HTTP proxy in front of a
//! registry that answers manifest requests with Docker Hub's `429 toomanyrequests`
//! ([`RateLimiter`]). Both helpers stop when dropped and serve a bounded number of connections.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::Error;

/// The testbed's registry: `CCCI_REGISTRY_ADDR` if set, else `127.0.0.1:5000` (what
/// `scripts/testbed-setup` starts). The fixture images are pushed there under their own names.
pub fn registry_addr() -> SocketAddr {
    std::env::var("CCCI_REGISTRY_ADDR")
        .ok()
        .and_then(|a| a.parse().ok())
        .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 5000)))
}

/// A loopback port nobody listens on right now.
fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Waits until `GET /v2/` on `addr` answers (any status), at most `limit`.
fn wait_answering(addr: SocketAddr, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if crate::http::request(addr, "GET", &addr.to_string(), "/v2/", &[], b"").is_ok() {
            return true;
        }
        thread::sleep(Duration::from_millis(50));
    }
    false
}

/// A Distribution registry on a free loopback port that requires a user and password (htpasswd,
/// bcrypt). Its storage is a temporary directory; the process is killed when this is dropped.
pub struct AuthRegistry {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The user it accepts.
    pub user: String,
    /// That user's password.
    pub password: String,
    child: Child,
    _dir: tempfile::TempDir,
}

impl AuthRegistry {
    /// Starts `docker-registry serve` with htpasswd auth for `user`/`password` (made with
    /// Debian's `htpasswd -B`, from apache2-utils).
    pub fn start(user: &str, password: &str) -> Result<AuthRegistry, Error> {
        let dir = tempfile::tempdir().map_err(Error::io("creating the registry's directory"))?;
        let htpasswd = Command::new("htpasswd")
            .args(["-B", "-b", "-n", user, password])
            .output()
            .map_err(|e| Error::Command { command: "htpasswd (apache2-utils)".into(), detail: e.to_string() })?;
        if !htpasswd.status.success() {
            return Err(Error::Command {
                command: "htpasswd".into(),
                detail: String::from_utf8_lossy(&htpasswd.stderr).into(),
            });
        }
        let htpasswd_file = dir.path().join("htpasswd");
        std::fs::write(&htpasswd_file, &htpasswd.stdout).map_err(Error::io("writing htpasswd"))?;
        let port = free_port().map_err(Error::io("finding a free port"))?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let config = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {data}\n  delete:\n    enabled: true\n\
             http:\n  addr: {addr}\nauth:\n  htpasswd:\n    realm: ccci-testbed\n    path: {htpasswd}\n",
            data = dir.path().join("data").display(),
            htpasswd = htpasswd_file.display(),
        );
        let config_file = dir.path().join("config.yml");
        std::fs::write(&config_file, config).map_err(Error::io("writing the registry config"))?;
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config_file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| Error::Command {
                command: "docker-registry serve (Debian docker-registry)".into(),
                detail: e.to_string(),
            })?;
        let registry = AuthRegistry { addr, user: user.into(), password: password.into(), child, _dir: dir };
        if !wait_answering(addr, Duration::from_secs(20)) {
            return Err(Error::Command {
                command: "docker-registry serve".into(),
                detail: format!("no answer on {addr}"),
            });
        }
        Ok(registry)
    }

    /// A Docker `config.json` with this registry's credentials (the `auths` format).
    pub fn docker_config(&self) -> String {
        let auth = base64(format!("{}:{}", self.user, self.password).as_bytes());
        format!("{{\"auths\": {{\"{}\": {{\"auth\": \"{auth}\"}}}}}}", self.addr)
    }

    /// Pushes the local `image` here as `<addr>/<name>` (logging in with a throw-away Docker
    /// config, so the machine's own stays untouched) and removes the local `<addr>/<name>` tag
    /// again. Returns the pushed reference.
    pub fn push(&self, image: &str, name: &str) -> Result<String, Error> {
        let reference = format!("{}/{name}", self.addr);
        let config = tempfile::tempdir().map_err(Error::io("creating a docker config dir"))?;
        std::fs::write(config.path().join("config.json"), self.docker_config())
            .map_err(Error::io("writing config.json"))?;
        let config_dir = config.path().to_string_lossy().into_owned();
        docker(&["tag", image, &reference])?;
        let pushed = docker(&["--config", &config_dir, "push", "-q", &reference]);
        docker(&["image", "rm", &reference])?;
        pushed.map(|_| reference)
    }
}

impl Drop for AuthRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Pushes the local `image` to the testbed's registry as `<registry>/<name>` and removes the local
/// `<registry>/<name>` tag again (so a test can pull it); returns that reference. Remove it from
/// the registry with [`delete_from_registry`].
pub fn push_to_registry(image: &str, name: &str) -> Result<String, Error> {
    let reference = format!("{}/{name}", registry_addr());
    docker(&["tag", image, &reference])?;
    let pushed = docker(&["push", "-q", &reference]);
    docker(&["image", "rm", &reference])?;
    pushed.map(|_| reference)
}

/// Deletes `<repository>:<tag>`'s manifest from the testbed's registry (what a test pushed).
pub fn delete_from_registry(repository: &str, tag: &str) -> Result<(), Error> {
    let addr = registry_addr();
    let accept = ("Accept", "application/vnd.docker.distribution.manifest.v2+json");
    let head = crate::http::request(
        addr,
        "HEAD",
        &addr.to_string(),
        &format!("/v2/{repository}/manifests/{tag}"),
        &[accept],
        b"",
    )
    .map_err(Error::io("asking the registry for a digest"))?;
    let Some((_, digest)) = head.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("docker-content-digest")) else {
        return Ok(());
    };
    let path = format!("/v2/{repository}/manifests/{digest}");
    let answer = crate::http::request(addr, "DELETE", &addr.to_string(), &path, &[], b"")
        .map_err(Error::io("deleting a manifest"))?;
    match answer.status {
        202 | 404 => Ok(()),
        status => Err(Error::Command { command: format!("DELETE {path}"), detail: format!("HTTP {status}") }),
    }
}

fn docker(args: &[&str]) -> Result<String, Error> {
    let out = Command::new("docker")
        .args(args)
        .output()
        .map_err(|e| Error::Command { command: format!("docker {}", args.join(" ")), detail: e.to_string() })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(Error::Command {
            command: format!("docker {}", args.join(" ")),
            detail: String::from_utf8_lossy(&out.stderr).trim().into(),
        })
    }
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// What Docker Hub answers when the pull rate limit is reached.
const TOO_MANY_REQUESTS: &str = "{\"errors\":[{\"code\":\"TOOMANYREQUESTS\",\"message\":\"You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit\"}]}\n";
/// How many connections a [`RateLimiter`] serves before it stops by itself.
const RATE_LIMITER_MAX_CONNECTIONS: usize = 500;

/// An HTTP proxy on a free loopback port in front of `upstream` (a registry): `GET /v2/` is
/// forwarded, every manifest request is answered `429 Too Many Requests` with Docker Hub's
/// `TOOMANYREQUESTS` body, anything else is forwarded. One request per connection; it stops when
/// dropped or after a bounded number of connections.
pub struct RateLimiter {
    /// Where it listens; pull `<addr>/<repository>:<tag>` through it.
    pub addr: SocketAddr,
    refused: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl RateLimiter {
    /// Starts the proxy in front of `upstream`.
    pub fn start(upstream: SocketAddr) -> io::Result<RateLimiter> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let refused = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (refused_in, stop_in) = (refused.clone(), stop.clone());
        thread::spawn(move || {
            for conn in listener.incoming().take(RATE_LIMITER_MAX_CONNECTIONS) {
                if stop_in.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                let refused = refused_in.clone();
                thread::spawn(move || {
                    let _ = handle(conn, upstream, &refused);
                });
            }
        });
        Ok(RateLimiter { addr, refused, stop })
    }

    /// How many manifest requests were answered 429 so far.
    pub fn refused(&self) -> usize {
        self.refused.load(Ordering::SeqCst)
    }
}

impl Drop for RateLimiter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

fn handle(mut client: TcpStream, upstream: SocketAddr, refused: &AtomicUsize) -> io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(client.try_clone()?);
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
        head.push(line);
    }
    let Some(request_line) = head.first() else { return Ok(()) };
    let path = request_line.split_whitespace().nth(1).unwrap_or("/");
    if path.contains("/manifests/") {
        refused.fetch_add(1, Ordering::SeqCst);
        let answer = format!(
            "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{TOO_MANY_REQUESTS}",
            TOO_MANY_REQUESTS.len()
        );
        client.write_all(answer.as_bytes())?;
        return client.shutdown(Shutdown::Both);
    }
    // Forward: the request head with `Connection: close`, then the answer back as it comes.
    let mut server = TcpStream::connect_timeout(&upstream, Duration::from_secs(5))?;
    server.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut forwarded = String::new();
    for line in &head {
        let lower = line.to_ascii_lowercase();
        if !lower.starts_with("connection:") && !lower.starts_with("keep-alive:") {
            forwarded.push_str(line);
        }
    }
    forwarded.push_str("Connection: close\r\n\r\n");
    server.write_all(forwarded.as_bytes())?;
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = server.read(&mut buf)?;
        if n == 0 {
            break;
        }
        client.write_all(&buf[..n])?;
    }
    client.shutdown(Shutdown::Both)
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_the_standard_alphabet_with_padding() {
        assert_eq!(super::base64(b"user:pass"), "dXNlcjpwYXNz");
        assert_eq!(super::base64(b"ab"), "YWI=");
        assert_eq!(super::base64(b"a"), "YQ==");
    }
}
