//! Which host a connection to the proxy asks for, read from its first bytes: the server name
//! (SNI) of a TLS ClientHello, or the `Host` header of an HTTP/1 request. The sandbox's forwarder
//! (`super::network`) carries a connection only when that host is one of the run's own apps.
//! Pure functions over a prefix of the stream, so they are tested without sockets.

/// At most this much of a connection is read before deciding (a ClientHello's first record or
/// a request's headers).
pub const LIMIT: usize = 16 * 1024;

/// What the first bytes of a connection say.
#[derive(Debug, PartialEq, Eq)]
pub enum Peeked {
    /// It asks for this host (lower case, without port or trailing dot).
    Host(String),
    /// Not enough bytes yet.
    NeedMore,
    /// It names no host this can read (no SNI, no `Host`, another protocol, a malformed start).
    Unnamed,
}

/// The host `start` (the first bytes of a connection) asks for.
pub fn requested_host(start: &[u8]) -> Peeked {
    match start.first() {
        None => Peeked::NeedMore,
        Some(0x16) => tls_server_name(start),
        Some(_) => http_host(start),
    }
}

/// The server name of a TLS ClientHello in the first record.
fn tls_server_name(start: &[u8]) -> Peeked {
    let Some(header) = start.get(..5) else { return Peeked::NeedMore };
    let record_len = usize::from(u16::from_be_bytes([header[3], header[4]]));
    let Some(record) = start.get(5..5 + record_len) else {
        return if 5 + record_len > LIMIT { Peeked::Unnamed } else { Peeked::NeedMore };
    };
    client_hello_sni(record).map_or(Peeked::Unnamed, |name| host(&name))
}

/// The `server_name` extension's host name in a handshake record holding a whole ClientHello.
fn client_hello_sni(record: &[u8]) -> Option<String> {
    let mut r = Reader(record);
    if r.u8()? != 1 {
        return None; // not a ClientHello
    }
    let body = r.sized24()?;
    let mut r = Reader(body);
    r.take(2 + 32)?; // version, random
    let session = usize::from(r.u8()?);
    r.take(session)?;
    r.sized16()?; // cipher suites
    let compression = usize::from(r.u8()?);
    r.take(compression)?;
    let mut r = Reader(r.sized16()?);
    while !r.0.is_empty() {
        let kind = r.u16()?;
        let data = r.sized16()?;
        if kind == 0 {
            let mut names = Reader(data);
            let mut list = Reader(names.sized16()?);
            while !list.0.is_empty() {
                let name_type = list.u8()?;
                let name = list.sized16()?;
                if name_type == 0 {
                    return String::from_utf8(name.to_vec()).ok();
                }
            }
            return None;
        }
    }
    None
}

/// The `Host` header of an HTTP/1 request whose headers are complete.
fn http_host(start: &[u8]) -> Peeked {
    let Some(end) = start.windows(4).position(|w| w == b"\r\n\r\n") else {
        return if start.len() >= LIMIT { Peeked::Unnamed } else { Peeked::NeedMore };
    };
    let Ok(head) = std::str::from_utf8(&start[..end]) else { return Peeked::Unnamed };
    let value = head.split("\r\n").skip(1).find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim().eq_ignore_ascii_case("host").then(|| value.trim().to_string())
    });
    match value {
        Some(v) => {
            host(v.rsplit_once(':').filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit())).map_or(&v, |(h, _)| h))
        }
        None => Peeked::Unnamed,
    }
}

/// A host name as compared (lower case, no trailing dot), if it is one.
fn host(name: &str) -> Peeked {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let valid = !name.is_empty()
        && name.len() <= 253
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if valid {
        Peeked::Host(name)
    } else {
        Peeked::Unnamed
    }
}

/// Reads big-endian fields off the front of a slice.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<usize> {
        self.take(2).map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
    }
    /// A field preceded by its 16-bit length.
    fn sized16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()?;
        self.take(n)
    }
    /// A field preceded by its 24-bit length.
    fn sized24(&mut self) -> Option<&'a [u8]> {
        let b = self.take(3)?;
        self.take(usize::from(b[0]) << 16 | usize::from(b[1]) << 8 | usize::from(b[2]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ClientHello record with the given extensions (type, data).
    fn client_hello(extensions: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut exts = Vec::new();
        for (kind, data) in extensions {
            exts.extend(kind.to_be_bytes());
            exts.extend((data.len() as u16).to_be_bytes());
            exts.extend(data);
        }
        let mut body = vec![3, 3];
        body.extend([7; 32]); // random
        body.push(4);
        body.extend([1, 2, 3, 4]); // session id
        body.extend(4u16.to_be_bytes());
        body.extend([0x13, 0x01, 0x13, 0x02]); // cipher suites
        body.extend([1, 0]); // compression: null
        body.extend((exts.len() as u16).to_be_bytes());
        body.extend(exts);
        let mut handshake = vec![1];
        handshake.extend(&(body.len() as u32).to_be_bytes()[1..]);
        handshake.extend(body);
        let mut record = vec![0x16, 3, 1];
        record.extend((handshake.len() as u16).to_be_bytes());
        record.extend(handshake);
        record
    }

    fn sni(name: &str) -> (u16, Vec<u8>) {
        let mut entry = vec![0];
        entry.extend((name.len() as u16).to_be_bytes());
        entry.extend(name.as_bytes());
        let mut data = (entry.len() as u16).to_be_bytes().to_vec();
        data.extend(entry);
        (0, data)
    }

    #[test]
    fn a_client_hello_names_its_server_and_a_cut_one_needs_more() {
        let hello = client_hello(&[(10, vec![0, 2, 0, 29]), sni("App-1.Ccci.Test.")]);
        assert_eq!(requested_host(&hello), Peeked::Host("app-1.ccci.test".into()));
        for cut in [1, 4, 5, hello.len() - 1] {
            assert_eq!(requested_host(&hello[..cut]), Peeked::NeedMore, "cut at {cut}");
        }
        // Bytes after the record (the rest of the stream) do not matter.
        let mut more = hello.clone();
        more.extend(b"later");
        assert_eq!(requested_host(&more), Peeked::Host("app-1.ccci.test".into()));
    }

    #[test]
    fn a_client_hello_without_sni_or_malformed_names_nothing() {
        assert_eq!(requested_host(&client_hello(&[(10, vec![0, 2, 0, 29])])), Peeked::Unnamed);
        let mut hello = client_hello(&[sni("app.ccci.test")]);
        let len = hello.len();
        hello[len - 14] = 0xff; // the name's length runs past the extension
        assert_eq!(requested_host(&hello), Peeked::Unnamed);
        assert_eq!(requested_host(&client_hello(&[sni("a b/../c")])), Peeked::Unnamed, "not a host name");
        // A record longer than what is read before deciding.
        assert_eq!(requested_host(&[0x16, 3, 1, 0xff, 0xff, 1]), Peeked::Unnamed);
    }

    #[test]
    fn an_http_request_names_its_host_header() {
        let get = b"GET / HTTP/1.1\r\nUser-Agent: x\r\nhOST:  app.ccci.test:8080 \r\n\r\n";
        assert_eq!(requested_host(get), Peeked::Host("app.ccci.test".into()));
        assert_eq!(requested_host(&get[..20]), Peeked::NeedMore);
        assert_eq!(requested_host(b"GET / HTTP/1.0\r\nAccept: */*\r\n\r\n"), Peeked::Unnamed);
        assert_eq!(requested_host(&vec![b'a'; LIMIT]), Peeked::Unnamed, "no end of headers within the limit");
        assert_eq!(requested_host(b""), Peeked::NeedMore);
    }
}
