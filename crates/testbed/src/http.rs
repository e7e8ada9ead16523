//! A minimal HTTP/1.0 client for tests: one GET through the stand-in proxy with a chosen `Host`, or
//! any one request to a loopback server. (Product code has its own client; this one exists so
//! tests need no HTTP crate.)

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// A response: status code, headers as received, body as text (lossy UTF-8).
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// GET `path` from the proxy ([`crate::proxy_addr`]) with `Host: host`.
pub fn proxy_get(host: &str, path: &str) -> io::Result<Response> {
    request(crate::proxy_addr(), "GET", host, path, &[], b"")
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
