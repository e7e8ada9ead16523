//! The wildcard certificate the proxy serves for `*.<base domain>` and the base domain itself, to
//! every router whose `tls.certresolver` is empty (how the CI serves its apps without ACME). Either
//! the operator provides it (PEM files from their own ACME client or CA; cc-ci checks them and
//! never writes them), or, on a test machine, cc-ci keeps a local CA in a directory and issues the
//! wildcard from it: kept and reused while valid, renewed when it would expire within
//! [`RENEW_BEFORE`], reissued when the base domain or the CA changed. Clients trust the local CA
//! through [`WildcardCert::ca`].

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;

use crate::{Change, Error, Result};

/// A certificate expiring within this is renewed (local CA) or reported (provided).
pub const RENEW_BEFORE: Duration = Duration::from_secs(30 * 86_400);
/// How long a local CA is valid.
const CA_VALIDITY: Duration = Duration::from_secs(10 * 365 * 86_400);
/// How long a wildcard certificate from the local CA is valid (the most browsers accept).
const LEAF_VALIDITY: Duration = Duration::from_secs(397 * 86_400);

/// File names in a local CA directory.
const CA_CERT: &str = "ca.pem";
const CA_KEY: &str = "ca.key";
const LEAF_CERT: &str = "wildcard.pem";
const LEAF_KEY: &str = "wildcard.key";

/// The wildcard certificate file a local CA in `dir` issues (it may not have been issued yet).
pub fn local_wildcard_file(dir: &Path) -> PathBuf {
    dir.join(LEAF_CERT)
}

/// What a certificate file says, read without changing anything (`ccci doctor`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertFacts {
    /// Expiry, unix seconds.
    pub not_after: i64,
    /// Its DNS names (subjectAltName).
    pub names: Vec<String>,
    /// Of `*.<base>` and `<base>`, those it does not cover.
    pub missing: Vec<String>,
}

/// Reads the certificate (the first PEM block) in `path` and what it covers of `base_domain`.
pub fn inspect(path: &Path, base_domain: &str) -> Result<CertFacts> {
    let base = base_domain.trim_end_matches('.').to_ascii_lowercase();
    let pem = read_pem(path)?;
    let cert = pem.parse_x509().map_err(|e| Error::BadCertificate {
        path: path.to_path_buf(),
        message: format!("not an X.509 certificate: {e}"),
    })?;
    Ok(CertFacts {
        not_after: cert.validity().not_after.timestamp(),
        names: names(&cert),
        missing: missing_names(&cert, &base),
    })
}

/// Where the wildcard certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertSource {
    /// PEM files the operator provides and renews: the certificate (optionally followed by its
    /// chain), its private key, and the CA bundle clients need if the issuer is not publicly
    /// trusted.
    Provided {
        /// Certificate (leaf first, then intermediates).
        cert: PathBuf,
        /// Private key of the certificate.
        key: PathBuf,
        /// CA bundle for clients, if the issuer is private.
        ca: Option<PathBuf>,
    },
    /// A local CA kept in `dir` (created if missing), for test machines.
    LocalCa {
        /// Directory holding `ca.pem`, `ca.key`, `wildcard.pem`, `wildcard.key`.
        dir: PathBuf,
    },
}

/// A usable wildcard certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WildcardCert {
    /// The base domain it covers (`*.<base>` and `<base>`).
    pub base_domain: String,
    /// The certificate (PEM).
    pub cert: PathBuf,
    /// Its private key (PEM, mode 0600 when cc-ci wrote it).
    pub key: PathBuf,
    /// The CA certificate clients must trust, when the issuer is not publicly trusted.
    pub ca: Option<PathBuf>,
    /// Expiry, unix seconds.
    pub not_after: i64,
    /// SHA-256 of the certificate's DER, hex: changes exactly when the certificate does (a new
    /// secret version for the proxy).
    pub sha256: String,
}

/// Make sure a wildcard certificate for `base_domain` exists and is valid; see the module doc.
/// Errors say which file is wrong and how (expired, another domain, not PEM).
pub fn ensure_wildcard(source: &CertSource, base_domain: &str) -> Result<(WildcardCert, Change)> {
    let base_domain = base_domain.trim_end_matches('.').to_ascii_lowercase();
    match source {
        CertSource::Provided { cert, key, ca } => {
            Ok((check_provided(cert, key, ca.as_deref(), &base_domain)?, Change::Unchanged))
        }
        CertSource::LocalCa { dir } => ensure_local(dir, &base_domain),
    }
}

fn check_provided(cert: &Path, key: &Path, ca: Option<&Path>, base: &str) -> Result<WildcardCert> {
    let bad = |path: &Path, message: String| Error::BadCertificate { path: path.to_path_buf(), message };
    let pem = read_pem(cert)?;
    let leaf = pem.parse_x509().map_err(|e| bad(cert, format!("not an X.509 certificate: {e}")))?;
    let missing = missing_names(&leaf, base);
    if !missing.is_empty() {
        return Err(bad(
            cert,
            format!("does not cover {}; it names {}", missing.join(" and "), names(&leaf).join(", ")),
        ));
    }
    let not_after = leaf.validity().not_after.timestamp();
    if not_after <= now() {
        return Err(bad(cert, format!("expired at {}; renew it", leaf.validity().not_after)));
    }
    let key_text = fs::read_to_string(key).map_err(Error::io(key))?;
    if !key_text.contains("PRIVATE KEY-----") {
        return Err(bad(key, "is not a PEM private key".into()));
    }
    if let Some(ca_path) = ca {
        let ca_pem = read_pem(ca_path)?;
        let ca_cert = ca_pem.parse_x509().map_err(|e| bad(ca_path, format!("not an X.509 certificate: {e}")))?;
        if leaf.issuer() == ca_cert.subject() && leaf.verify_signature(Some(ca_cert.public_key())).is_err() {
            return Err(bad(cert, format!("is not signed by the CA in {}", ca_path.display())));
        }
    }
    Ok(WildcardCert {
        base_domain: base.to_string(),
        cert: cert.to_path_buf(),
        key: key.to_path_buf(),
        ca: ca.map(Path::to_path_buf),
        not_after,
        sha256: hex_sha256(&pem.contents),
    })
}

fn ensure_local(dir: &Path, base: &str) -> Result<(WildcardCert, Change)> {
    fs::create_dir_all(dir).map_err(Error::io(dir))?;
    let (ca_cert, ca_key, leaf_cert, leaf_key) =
        (dir.join(CA_CERT), dir.join(CA_KEY), dir.join(LEAF_CERT), dir.join(LEAF_KEY));

    let ca_pem = match usable_ca(&ca_cert, &ca_key) {
        Some(pem) => pem,
        None => {
            let key = KeyPair::generate()?;
            let params = ca_params(base)?;
            let cert = params.self_signed(&key)?;
            write_private(&ca_key, &key.serialize_pem())?;
            write_public(&ca_cert, &cert.pem())?;
            cert.pem()
        }
    };
    if let Some(existing) = usable_leaf(&leaf_cert, &leaf_key, &ca_pem, base) {
        return Ok((local(dir, base, existing), Change::Unchanged));
    }
    let change = if leaf_cert.exists() { Change::Replaced } else { Change::Created };
    let ca_signing_key = KeyPair::from_pem(&fs::read_to_string(&ca_key).map_err(Error::io(&ca_key))?)?;
    let issuer = Issuer::from_ca_cert_pem(&ca_pem, ca_signing_key)?;
    let key = KeyPair::generate()?;
    let cert = leaf_params(base)?.signed_by(&key, &issuer)?;
    write_private(&leaf_key, &key.serialize_pem())?;
    write_public(&leaf_cert, &cert.pem())?;
    let parsed = usable_leaf(&leaf_cert, &leaf_key, &ca_pem, base)
        .ok_or_else(|| Error::BadCertificate { path: leaf_cert.clone(), message: "just issued but unusable".into() })?;
    Ok((local(dir, base, parsed), change))
}

/// Expiry and fingerprint of a certificate that was checked.
struct Checked {
    not_after: i64,
    sha256: String,
}

fn local(dir: &Path, base: &str, checked: Checked) -> WildcardCert {
    WildcardCert {
        base_domain: base.to_string(),
        cert: dir.join(LEAF_CERT),
        key: dir.join(LEAF_KEY),
        ca: Some(dir.join(CA_CERT)),
        not_after: checked.not_after,
        sha256: checked.sha256,
    }
}

/// The CA certificate's PEM if the CA in `cert`/`key` can go on issuing: both files parse, it is a
/// CA, and it stays valid well beyond a new leaf's lifetime.
fn usable_ca(cert: &Path, key: &Path) -> Option<String> {
    let text = fs::read_to_string(cert).ok()?;
    KeyPair::from_pem(&fs::read_to_string(key).ok()?).ok()?;
    let (_, pem) = x509_parser::pem::parse_x509_pem(text.as_bytes()).ok()?;
    let ca = pem.parse_x509().ok()?;
    let lasts = ca.validity().not_after.timestamp() > now() + (LEAF_VALIDITY + RENEW_BEFORE).as_secs() as i64;
    (ca.is_ca() && lasts).then_some(text)
}

/// The leaf if it can be kept: parses, has a key, covers the base domain, is signed by the CA and
/// is not about to expire.
fn usable_leaf(cert: &Path, key: &Path, ca_pem: &str, base: &str) -> Option<Checked> {
    fs::read_to_string(key).ok().filter(|k| k.contains("PRIVATE KEY-----"))?;
    let text = fs::read(cert).ok()?;
    let (_, pem) = x509_parser::pem::parse_x509_pem(&text).ok()?;
    let leaf = pem.parse_x509().ok()?;
    let (_, ca_pem) = x509_parser::pem::parse_x509_pem(ca_pem.as_bytes()).ok()?;
    let ca = ca_pem.parse_x509().ok()?;
    leaf.verify_signature(Some(ca.public_key())).ok()?;
    let not_after = leaf.validity().not_after.timestamp();
    let fresh = not_after > now() + RENEW_BEFORE.as_secs() as i64;
    (fresh && missing_names(&leaf, base).is_empty()).then(|| Checked { not_after, sha256: hex_sha256(&pem.contents) })
}

fn ca_params(base: &str) -> Result<CertificateParams> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, format!("cc-ci local CA for {base}"));
    params.distinguished_name.push(DnType::OrganizationName, "cc-ci");
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    (params.not_before, params.not_after) = validity(CA_VALIDITY);
    Ok(params)
}

fn leaf_params(base: &str) -> Result<CertificateParams> {
    let mut params = CertificateParams::new(vec![format!("*.{base}"), base.to_string()])?;
    params.distinguished_name.push(DnType::CommonName, format!("*.{base}"));
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    (params.not_before, params.not_after) = validity(LEAF_VALIDITY);
    Ok(params)
}

/// From a day ago (clocks differ) to `length` from now.
fn validity(length: Duration) -> (OffsetDateTime, OffsetDateTime) {
    let now = OffsetDateTime::now_utc();
    (now - Duration::from_secs(86_400), now + length)
}

/// The names of `*.<base>` and `<base>` the certificate does not cover.
fn missing_names(cert: &X509Certificate<'_>, base: &str) -> Vec<String> {
    let have = names(cert);
    [format!("*.{base}"), base.to_string()]
        .into_iter()
        .filter(|n| !have.iter().any(|h| h.eq_ignore_ascii_case(n)))
        .collect()
}

/// The DNS names of the certificate's subjectAltName extension.
fn names(cert: &X509Certificate<'_>) -> Vec<String> {
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .filter_map(|n| match n {
            GeneralName::DNSName(s) => Some(s.to_string()),
            _ => None,
        })
        .collect()
}

fn read_pem(path: &Path) -> Result<x509_parser::pem::Pem> {
    let bytes = fs::read(path).map_err(Error::io(path))?;
    let (_, pem) = x509_parser::pem::parse_x509_pem(&bytes).map_err(|e| Error::BadCertificate {
        path: path.to_path_buf(),
        message: format!("not a PEM certificate: {e}"),
    })?;
    Ok(pem)
}

fn hex_sha256(der: &[u8]) -> String {
    Sha256::digest(der).iter().map(|b| format!("{b:02x}")).collect()
}

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// Write `text` to `path` with `mode`, replacing it atomically (a temporary file renamed over it).
fn write_file(path: &Path, text: &str, mode: u32) -> Result<()> {
    let tmp = path.with_extension(format!("new-{}", std::process::id()));
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .map_err(Error::io(&tmp))?;
    file.write_all(text.as_bytes()).map_err(Error::io(&tmp))?;
    file.sync_all().map_err(Error::io(&tmp))?;
    fs::rename(&tmp, path).map_err(Error::io(path))
}

fn write_private(path: &Path, text: &str) -> Result<()> {
    write_file(path, text, 0o600)
}

fn write_public(path: &Path, text: &str) -> Result<()> {
    write_file(path, text, 0o644)
}
