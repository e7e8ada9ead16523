//! The serving check (SPEC T2): a real HTTP(S) request to the app's domain through the proxy must
//! answer 2xx or 3xx. The check knows only the domain and where the proxy listens, never which proxy
//! it is. The proxy may need a moment to route a fresh deploy, so unrouted (404) and gateway
//! answers are retried with backoff until a deadline; the last answer is the verdict.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Where and how to ask.
#[derive(Debug, Clone)]
pub struct Target {
    pub domain: String,
    /// `http` or `https`.
    pub scheme: String,
    /// Connect here instead of resolving the domain (the proxy's address on a test machine).
    pub proxy: Option<SocketAddr>,
    pub path: String,
    /// Statuses that count as serving; empty means any 2xx or 3xx.
    pub expect: Vec<u16>,
    /// A CA bundle (PEM) trusted besides the system's roots, for HTTPS.
    pub ca_bundle: Option<std::path::PathBuf>,
}

impl Target {
    /// `/` of `domain`, any 2xx or 3xx counting as serving.
    pub fn root(domain: &str, scheme: &str, proxy: Option<SocketAddr>) -> Self {
        Target {
            domain: domain.to_string(),
            scheme: scheme.to_string(),
            proxy,
            path: String::new(),
            expect: Vec::new(),
            ca_bundle: None,
        }
    }

    pub fn url(&self) -> String {
        let port = self.proxy.map(|a| a.port()).filter(|p| !is_default_port(&self.scheme, *p));
        match port {
            Some(p) => format!("{}://{}:{}{}", self.scheme, self.domain, p, self.path),
            None => format!("{}://{}{}", self.scheme, self.domain, self.path),
        }
    }
}

/// The port a URL of `scheme` means when it names none.
pub fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

fn is_default_port(scheme: &str, port: u16) -> bool {
    default_port(scheme) == Some(port)
}

/// What a successful check saw.
#[derive(Debug, Clone)]
pub struct Served {
    pub url: String,
    pub status: u16,
    pub attempts: u32,
    pub elapsed: Duration,
}

impl std::fmt::Display for Served {
    /// `<url> answered <status>`, saying the certificate was verified when the check was over
    /// HTTPS (the client never accepts an unverified one); a TCP probe says it was accepted.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.status {
            0 => write!(f, "{} accepted connections", self.url),
            status if self.url.starts_with("https://") => {
                write!(f, "{} answered {status} (certificate verified)", self.url)
            }
            status => write!(f, "{} answered {status}", self.url),
        }
    }
}

/// Why the app does not serve (a recipe failure unless the proxy itself is unreachable).
#[derive(Debug, Clone, thiserror::Error)]
pub enum NotServing {
    #[error("{url} answered {status} after {attempts} attempts in {secs:.1}s{hint}", secs = elapsed.as_secs_f64())]
    BadStatus { url: String, status: u16, attempts: u32, elapsed: Duration, hint: &'static str },
    #[error("cannot reach {url} (proxy at {proxy}): {cause}")]
    Unreachable { url: String, proxy: String, cause: String },
    #[error("cannot build an HTTP client: {0}")]
    Client(String),
}

impl NotServing {
    /// True when the fault lies with the infrastructure (the proxy never answered at all).
    pub fn is_infrastructure(&self) -> bool {
        matches!(self, NotServing::Unreachable { .. } | NotServing::Client(_))
    }
}

fn acceptable(target: &Target, status: u16) -> bool {
    if target.expect.is_empty() {
        (200..400).contains(&status)
    } else {
        target.expect.contains(&status)
    }
}

/// Ask until the app serves or `patience` runs out.
pub async fn check(target: &Target, patience: Duration) -> Result<Served, NotServing> {
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .no_proxy();
    if let Some(addr) = target.proxy {
        builder = builder.resolve(&target.domain, addr);
    }
    if let Some(path) = &target.ca_bundle {
        let pem = std::fs::read(path)
            .map_err(|e| NotServing::Client(format!("cannot read the CA bundle {}: {e}", path.display())))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
            NotServing::Client(format!("the CA bundle {} is not PEM certificates: {e}", path.display()))
        })?;
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    let client = builder.build().map_err(|e| NotServing::Client(e.to_string()))?;
    let url = target.url();
    let started = Instant::now();
    let mut backoff = Duration::from_millis(100);
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        let answer = client.get(&url).send().await;
        let out_of_time = started.elapsed() + backoff > patience;
        match answer {
            Ok(resp) if acceptable(target, resp.status().as_u16()) => {
                return Ok(Served { url, status: resp.status().as_u16(), attempts, elapsed: started.elapsed() });
            }
            Ok(resp) if out_of_time => {
                let status = resp.status().as_u16();
                let hint = match status {
                    404 => ": the proxy has no route for this domain (check the traefik.http.routers.*.rule and loadbalancer port labels), or the app answers 404 at this path",
                    502..=504 => ": the proxy could not reach the app's port",
                    _ => "",
                };
                return Err(NotServing::BadStatus { url, status, attempts, elapsed: started.elapsed(), hint });
            }
            Err(e) if out_of_time => {
                let proxy = target.proxy.map(|a| a.to_string()).unwrap_or_else(|| "DNS".into());
                return Err(NotServing::Unreachable { url, proxy, cause: root_cause(&e) });
            }
            _ => {}
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(1));
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// A one-thread HTTP server on loopback answering each request with the next status given.
    fn serve(statuses: Vec<u16>) -> SocketAddr {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for status in statuses {
                let (mut conn, _) = listener.accept().unwrap();
                let mut buf = [0u8; 4096];
                let n = conn.read(&mut buf).unwrap();
                let request = String::from_utf8_lossy(&buf[..n]).to_string();
                let host_ok = request.to_ascii_lowercase().contains("host: app.test.example");
                let status = if host_ok { status } else { 421 };
                let _ = write!(conn, "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            }
        });
        addr
    }

    fn target(addr: SocketAddr) -> Target {
        Target {
            domain: "app.test.example".into(),
            scheme: "http".into(),
            proxy: Some(addr),
            path: "/".into(),
            expect: vec![],
            ca_bundle: None,
        }
    }

    #[tokio::test]
    async fn retries_an_unrouted_domain_until_the_proxy_routes_it() {
        let addr = serve(vec![404, 502, 200]);
        let served = check(&target(addr), Duration::from_secs(10)).await.unwrap();
        assert_eq!((served.status, served.attempts), (200, 3));
    }

    #[tokio::test]
    async fn a_404_that_persists_is_a_recipe_failure_naming_the_status() {
        let addr = serve(vec![404; 50]);
        let err = check(&target(addr), Duration::from_millis(400)).await.unwrap_err();
        assert!(!err.is_infrastructure());
        assert!(err.to_string().contains("answered 404"), "{err}");
    }

    #[tokio::test]
    async fn a_closed_port_is_an_infrastructure_error() {
        let addr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let err = check(&target(addr), Duration::from_millis(300)).await.unwrap_err();
        assert!(err.is_infrastructure(), "{err}");
    }
}
