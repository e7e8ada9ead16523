//! One client connection: read the request head, pick a backend by `Host`, forward the request and
//! stream the answer back. One request per connection (`Connection: close` both ways); the request
//! body is streamed to the backend as it comes, whatever its framing.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::Duration;

use crate::routes::Routes;

const MAX_HEAD: usize = 64 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const IDLE_TIMEOUT: Duration = Duration::from_secs(120);
/// Traefik's answer for a host no router matches.
const NOT_FOUND: &str = "404 page not found\n";

/// A parsed request head.
struct Head {
    request_line: String,
    headers: Vec<(String, String)>,
}

impl Head {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

pub fn handle(client: TcpStream, routes: &Routes) -> io::Result<()> {
    client.set_read_timeout(Some(IDLE_TIMEOUT))?;
    client.set_write_timeout(Some(IDLE_TIMEOUT))?;
    let peer = client.peer_addr()?;
    let mut reader = BufReader::new(client.try_clone()?);
    let Some(head) = read_head(&mut reader)? else {
        return Ok(());
    };
    let mut client = client;
    let host = request_host(&head);
    let target = head.request_line.split(' ').nth(1).unwrap_or("").to_string();
    let method = head.request_line.split(' ').next().unwrap_or("").to_string();

    // The cached table first (re-read by `backends` when the host is unknown); if none of its
    // addresses answers, the app may have moved to new tasks: re-read once and try again.
    let (mut candidates, mut backend) = (Vec::new(), None);
    for fresh in [false, true] {
        candidates = match routes.backends(&host, fresh) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("docker discovery failed: {e}");
                return respond(&mut client, "502 Bad Gateway", "Bad Gateway\n");
            }
        };
        backend = candidates.iter().find_map(|addr| TcpStream::connect_timeout(addr, CONNECT_TIMEOUT).ok());
        if backend.is_some() || candidates.is_empty() {
            break;
        }
    }
    let Some(backend) = backend else {
        let known = !candidates.is_empty();
        println!("{method} {host}{target} -> {}", if known { 502 } else { 404 });
        return if known {
            respond(&mut client, "502 Bad Gateway", "Bad Gateway\n")
        } else {
            respond(&mut client, "404 Not Found", NOT_FOUND)
        };
    };
    let upstream = backend.peer_addr()?;
    println!("{method} {host}{target} -> {upstream}");
    backend.set_read_timeout(Some(IDLE_TIMEOUT))?;
    let mut to_backend = backend.try_clone()?;
    to_backend.write_all(forwarded_head(&head, &host, peer).as_bytes())?;

    // The body (if any) goes up on its own thread while the answer comes down here.
    let uploader = std::thread::spawn(move || {
        let _ = io::copy(&mut reader, &mut to_backend);
    });
    let result = relay_answer(backend, &mut client);
    let _ = client.shutdown(Shutdown::Both);
    let _ = uploader.join();
    result
}

/// Reads up to the blank line ending the head; `None` if the client closed first.
fn read_head(reader: &mut impl BufRead) -> io::Result<Option<Head>> {
    let mut lines = Vec::new();
    let mut total = 0;
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line)?;
        if n == 0 {
            return Ok(None);
        }
        total += n;
        if total > MAX_HEAD {
            return Err(io::Error::other("request head too large"));
        }
        let line = line.trim_end_matches(['\r', '\n']).to_string();
        if line.is_empty() {
            if lines.is_empty() {
                continue; // tolerate stray blank lines before a request
            }
            break;
        }
        lines.push(line);
    }
    let request_line = lines.remove(0);
    let headers = lines
        .into_iter()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            Some((k.trim().to_string(), v.trim().to_string()))
        })
        .collect();
    Ok(Some(Head { request_line, headers }))
}

/// The host the request is for: `Host` without its port, lower-cased (or the absolute URI's).
fn request_host(head: &Head) -> String {
    let from_uri = head
        .request_line
        .split(' ')
        .nth(1)
        .and_then(|t| t.split_once("://"))
        .map(|(_, rest)| rest.split('/').next().unwrap_or(""));
    let raw = from_uri.or(head.header("host")).unwrap_or("");
    let without_port = if raw.starts_with('[') {
        raw.split(']').next().map(|h| format!("{h}]")).unwrap_or_default()
    } else {
        raw.split(':').next().unwrap_or("").to_string()
    };
    without_port.to_ascii_lowercase()
}

/// The head sent upstream: hop-by-hop headers dropped, forwarding headers added, one request only.
fn forwarded_head(head: &Head, host: &str, peer: SocketAddr) -> String {
    const HOP: [&str; 7] =
        ["connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade", "x-forwarded-for"];
    let mut out = format!("{}\r\n", head.request_line);
    for (k, v) in &head.headers {
        if !HOP.iter().any(|h| k.eq_ignore_ascii_case(h)) {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    let forwarded_for = match head.header("x-forwarded-for") {
        Some(earlier) => format!("{earlier}, {}", peer.ip()),
        None => peer.ip().to_string(),
    };
    out.push_str(&format!(
        "X-Forwarded-For: {forwarded_for}\r\nX-Forwarded-Host: {host}\r\nX-Forwarded-Proto: http\r\nX-Real-Ip: {}\r\nConnection: close\r\n\r\n",
        peer.ip()
    ));
    out
}

/// Copies the backend's answer to the client, with its `Connection` header replaced by `close`.
fn relay_answer(backend: TcpStream, client: &mut TcpStream) -> io::Result<()> {
    let mut reader = BufReader::new(backend);
    let Some(head) = read_head(&mut reader)? else {
        return respond(client, "502 Bad Gateway", "Bad Gateway\n");
    };
    let mut out = format!("{}\r\n", head.request_line);
    for (k, v) in &head.headers {
        if !k.eq_ignore_ascii_case("connection") && !k.eq_ignore_ascii_case("keep-alive") {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    out.push_str("Connection: close\r\n\r\n");
    client.write_all(out.as_bytes())?;
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        client.write_all(&buf[..n])?;
    }
    client.flush()
}

/// A short plain-text answer from the proxy itself.
fn respond(client: &mut TcpStream, status: &str, body: &str) -> io::Result<()> {
    let answer = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    client.write_all(answer.as_bytes())?;
    client.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(raw: &str) -> Head {
        read_head(&mut raw.as_bytes()).unwrap().unwrap()
    }

    #[test]
    fn host_header_loses_port_and_case() {
        let h = head("GET / HTTP/1.1\r\nHost: App.Example:8080\r\n\r\n");
        assert_eq!(request_host(&h), "app.example");
        let h = head("GET http://b.example/x HTTP/1.1\r\nHost: other\r\n\r\n");
        assert_eq!(request_host(&h), "b.example");
    }

    #[test]
    fn forwarded_head_closes_and_adds_forwarding_headers() {
        let h = head("POST /x HTTP/1.1\r\nHost: a.example\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\n");
        let out = forwarded_head(&h, "a.example", "127.0.0.1:5000".parse().unwrap());
        assert!(out.starts_with("POST /x HTTP/1.1\r\nHost: a.example\r\nContent-Length: 3\r\n"));
        assert!(out.contains("X-Forwarded-For: 127.0.0.1\r\n"));
        assert!(out.ends_with("Connection: close\r\n\r\n"));
        assert!(!out.contains("keep-alive"));
    }
}
