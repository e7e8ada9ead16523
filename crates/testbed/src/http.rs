//! Minimal HTTP/1.0 clients for tests: a GET through the real proxy over HTTPS with the app's
//! domain as SNI and `Host`, its certificate verified against the testbed's CA ([`proxy_get`],
//! [`https_get`]), or any one plain request to a loopback server ([`request`]); and a receiver
//! that answers 200 to whatever is posted to it and keeps it ([`receive`]: a webhook's other
//! end). (Product code has its own client; these exist so tests need no async HTTP crate.)

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

/// A response: status code, headers as received, body as text (lossy UTF-8).
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// GET `https://<host><path>` through the proxy ([`crate::proxy_addr`]), the certificate
/// verified against the testbed's CA ([`crate::ca_bundle`]).
pub fn proxy_get(host: &str, path: &str) -> io::Result<Response> {
    https_get(crate::proxy_addr(), host, path, &crate::ca_bundle())
}

/// GET `https://<host><path>` from `addr`: `host` is the TLS server name and the `Host` header,
/// and the server's certificate must chain to a certificate in the PEM bundle `ca` and name
/// `host` (an error otherwise).
pub fn https_get(addr: SocketAddr, host: &str, path: &str, ca: &Path) -> io::Result<Response> {
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(ca).map_err(|e| io::Error::other(format!("{}: {e}", ca.display())))?;
    for cert in certs {
        let cert = cert.map_err(|e| io::Error::other(format!("{}: {e}", ca.display())))?;
        roots.add(cert).map_err(io::Error::other)?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from(host.to_string()).map_err(io::Error::other)?;
    let connection = rustls::ClientConnection::new(Arc::new(config), name).map_err(io::Error::other)?;
    let tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    tcp.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut tls = rustls::StreamOwned::new(connection, tcp);
    write!(tls, "GET {path} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: ccci-testbed\r\n\r\n")?;
    tls.flush()?;
    let mut raw = Vec::new();
    match tls.read_to_end(&mut raw) {
        // A server that closes without TLS close_notify has still sent its whole HTTP/1.0 answer.
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof && !raw.is_empty() => {}
        other => {
            other?;
        }
    }
    parse(&raw)
}

/// One request to `addr` with `Host: host`, extra `headers` and `body`; the whole answer.
pub fn request(
    addr: SocketAddr,
    method: &str,
    host: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<Response> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut head = format!("{method} {path} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: ccci-testbed\r\n");
    if !body.is_empty() || method != "GET" {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse(&raw)
}

fn parse(raw: &[u8]) -> io::Result<Response> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").ok_or_else(|| io::Error::other("incomplete HTTP answer"))?;
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::other("no HTTP status line"))?;
    let headers =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect();
    Ok(Response { status, headers, body: body.to_string() })
}

/// Requests a [`receive`]r got: (headers, body) each.
pub type Got = Arc<Mutex<Vec<(String, String)>>>;

/// An HTTP receiver on `listener`, in a thread of its own, answering 200 to each request and
/// keeping what it got.
pub fn receive(listener: TcpListener) -> Got {
    let got: Got = Default::default();
    let g = got.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let mut reader = BufReader::new(conn);
            let mut headers = String::new();
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                headers.push_str(&line);
            }
            let mut body = vec![0u8; length];
            let _ = reader.read_exact(&mut body);
            g.lock().unwrap().push((headers, String::from_utf8_lossy(&body).into_owned()));
            let _ = reader.get_mut().write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    got
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_status_headers_and_body() {
        let r = super::parse(b"HTTP/1.1 404 Not Found\r\nContent-Length: 19\r\n\r\n404 page not found\n").unwrap();
        assert_eq!(r.status, 404);
        assert_eq!(r.headers[0], ("Content-Length".into(), "19".into()));
        assert_eq!(r.body, "404 page not found\n");
    }
}
