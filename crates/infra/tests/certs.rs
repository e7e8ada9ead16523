//! The wildcard certificate against a real TLS client: a loopback HTTPS server (rustls) serves the
//! certificate `infra::certs` made, and reqwest (rustls, trusting only the local CA) must accept it
//! for a name under the base domain and refuse every other name.

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

use infra::certs::{ensure_wildcard, CertSource, WildcardCert};
use infra::{Change, Error};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Serves `cert` over HTTPS on loopback until the test ends: every request gets `200 ok`.
async fn serve(cert: &WildcardCert) -> SocketAddr {
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(&cert.cert).unwrap().collect::<Result<_, _>>().unwrap();
    let key = PrivateKeyDer::from_pem_file(&cert.key).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        // Bounded: a test makes a handful of connections.
        for _ in 0..32 {
            let Ok((tcp, _)) = listener.accept().await else { return };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                let mut buf = [0u8; 4096];
                let _ = tls.read(&mut buf).await;
                let _ = tls.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok").await;
                let _ = tls.shutdown().await;
            });
        }
    });
    addr
}

/// A client that trusts only `ca` (no built-in roots) and reaches every `names` at `addr`.
fn client(ca: Option<&std::path::Path>, addr: SocketAddr, names: &[&str]) -> reqwest::Client {
    let mut builder = reqwest::Client::builder().use_rustls_tls().tls_built_in_root_certs(false);
    if let Some(ca) = ca {
        builder = builder.add_root_certificate(reqwest::Certificate::from_pem(&std::fs::read(ca).unwrap()).unwrap());
    }
    for name in names {
        builder = builder.resolve(name, addr);
    }
    builder.build().unwrap()
}

async fn get(client: &reqwest::Client, host: &str, addr: SocketAddr) -> Result<u16, String> {
    let url = format!("https://{host}:{}/", addr.port());
    client.get(url).send().await.map(|r| r.status().as_u16()).map_err(|e| format!("{e:?}"))
}

#[tokio::test]
async fn the_local_wildcard_is_accepted_for_names_under_the_base_domain_only() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, change) = ensure_wildcard(&CertSource::LocalCa { dir: dir.path().into() }, "ccci.test").unwrap();
    assert_eq!(change, Change::Created);
    let ca = cert.ca.clone().expect("a local CA is named");
    let addr = serve(&cert).await;
    let names = ["app-1a2b3c.ccci.test", "ccci.test", "app.other.test", "deep.app.ccci.test"];
    let trusting = client(Some(&ca), addr, &names);

    assert_eq!(get(&trusting, "app-1a2b3c.ccci.test", addr).await, Ok(200));
    assert_eq!(get(&trusting, "ccci.test", addr).await, Ok(200), "the base domain itself");
    let other = get(&trusting, "app.other.test", addr).await.unwrap_err();
    assert!(other.contains("NotValidForName") || other.contains("certificate"), "{other}");
    let deep = get(&trusting, "deep.app.ccci.test", addr).await.unwrap_err();
    assert!(deep.contains("NotValidForName") || deep.contains("certificate"), "a wildcard covers one label: {deep}");
    let untrusting = client(None, addr, &names);
    let unknown = get(&untrusting, "app-1a2b3c.ccci.test", addr).await.unwrap_err();
    assert!(unknown.contains("UnknownIssuer") || unknown.contains("certificate"), "{unknown}");
}

#[test]
fn the_local_wildcard_is_kept_while_valid_and_reissued_for_another_domain() {
    let dir = tempfile::tempdir().unwrap();
    let source = CertSource::LocalCa { dir: dir.path().into() };
    let (first, _) = ensure_wildcard(&source, "ccci.test").unwrap();
    let ca_before = std::fs::read(first.ca.as_ref().unwrap()).unwrap();
    let (again, change) = ensure_wildcard(&source, "ccci.test").unwrap();
    assert_eq!((change, &again), (Change::Unchanged, &first), "kept and reused");
    for key in [&first.key, &dir.path().join("ca.key")] {
        let mode = std::fs::metadata(key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{} is private", key.display());
    }
    let (other, change) = ensure_wildcard(&source, "ci.example.org").unwrap();
    assert_eq!(change, Change::Replaced);
    assert_ne!(other.sha256, first.sha256);
    assert_eq!(std::fs::read(other.ca.as_ref().unwrap()).unwrap(), ca_before, "the CA is kept");
    assert!(first.not_after > time_now() + 300 * 86_400, "valid for about a year");
}

#[test]
fn provided_files_are_checked_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let (local, _) = ensure_wildcard(&CertSource::LocalCa { dir: dir.path().into() }, "ccci.test").unwrap();
    let provided = CertSource::Provided { cert: local.cert.clone(), key: local.key.clone(), ca: local.ca.clone() };
    let (cert, change) = ensure_wildcard(&provided, "ccci.test").unwrap();
    assert_eq!(
        (change, cert.sha256.as_str(), cert.ca.as_ref()),
        (Change::Unchanged, local.sha256.as_str(), local.ca.as_ref())
    );

    let err = ensure_wildcard(&provided, "ci.example.org").unwrap_err();
    assert!(matches!(err, Error::BadCertificate { .. }), "{err}");
    assert!(err.to_string().contains("does not cover *.ci.example.org and ci.example.org"), "{err}");

    let not_pem = dir.path().join("junk.pem");
    std::fs::write(&not_pem, "hello\n").unwrap();
    let junk = CertSource::Provided { cert: not_pem.clone(), key: local.key.clone(), ca: None };
    let err = ensure_wildcard(&junk, "ccci.test").unwrap_err();
    assert!(err.to_string().starts_with(&format!("{}: not a PEM certificate", not_pem.display())), "{err}");

    let key_missing = CertSource::Provided { cert: local.cert.clone(), key: dir.path().join("nope.key"), ca: None };
    let err = ensure_wildcard(&key_missing, "ccci.test").unwrap_err();
    assert!(err.to_string().contains("nope.key"), "{err}");
}

fn time_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}
