//! A home directory for a run's host commands (recipe tests, hooks, the screenshot script) whose
//! NSS database trusts the run's CA bundle. Chromium verifies certificates against the user's NSS
//! database (`$HOME/.pki/nssdb`) and ignores `SSL_CERT_FILE`, so this is how a Playwright test (or
//! the screenshots) opening the app's HTTPS URL verifies the proxy's certificate without any flag.
//! Made once per run, in its work directory, with Debian's `certutil` (libnss3-tools).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The per-run home under `work`, its NSS database trusting every certificate of the PEM bundle
/// `ca` as a CA for TLS servers; why not otherwise.
pub fn ensure(work: &Path, ca: &Path) -> Result<PathBuf, String> {
    let home = work.join("home");
    let db = home.join(".pki/nssdb");
    if db.join("cert9.db").is_file() {
        return Ok(home);
    }
    let bundle = std::fs::read_to_string(ca).map_err(|e| format!("cannot read the CA bundle {}: {e}", ca.display()))?;
    let certs = pem_certificates(&bundle);
    if certs.is_empty() {
        return Err(format!("the CA bundle {} holds no PEM certificate", ca.display()));
    }
    // Built beside its place and renamed into it, so a half-made database is never taken for done.
    let staging = db.with_extension("new");
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).map_err(|e| format!("cannot create {}: {e}", staging.display()))?;
    let db_arg = format!("sql:{}", staging.display());
    certutil(&["-N", "-d", &db_arg, "--empty-password"])?;
    for (i, cert) in certs.iter().enumerate() {
        let file = staging.join(format!("ca-{i}.pem"));
        std::fs::write(&file, cert).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
        let name = format!("cc-ci run CA {i}");
        // `C,,`: a trusted CA for TLS servers (and nothing else).
        certutil(&["-A", "-d", &db_arg, "-n", &name, "-t", "C,,", "-i", &file.to_string_lossy()])?;
    }
    std::fs::rename(&staging, &db).map_err(|e| format!("cannot move {} into place: {e}", staging.display()))?;
    Ok(home)
}

/// Each `CERTIFICATE` block of a PEM bundle (certutil imports one certificate per call).
fn pem_certificates(bundle: &str) -> Vec<String> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut certs = Vec::new();
    let mut rest = bundle;
    while let Some(start) = rest.find(BEGIN) {
        let Some(len) = rest[start..].find(END) else { break };
        let end = start + len + END.len();
        certs.push(format!("{}\n", &rest[start..end]));
        rest = &rest[end..];
    }
    certs
}

fn certutil(args: &[&str]) -> Result<(), String> {
    let out = Command::new("certutil").args(args).output().map_err(|e| {
        format!("cannot run certutil (Debian: apt-get install libnss3-tools), so Chromium cannot trust the CA: {e}")
    })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("certutil {} failed: {}", args[0], String::from_utf8_lossy(&out.stderr).trim()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_is_split_into_its_certificates() {
        let one = "-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----";
        let two = "-----BEGIN CERTIFICATE-----\nBBB\n-----END CERTIFICATE-----";
        let certs = pem_certificates(&format!("# comment\n{one}\n\n{two}\ntrailing"));
        assert_eq!(certs, vec![format!("{one}\n"), format!("{two}\n")]);
        assert!(pem_certificates("no certificate here").is_empty());
    }

    #[test]
    fn the_home_trusts_the_ca_once_and_is_reused() {
        // Needs Debian's certutil (libnss3-tools), which scripts/testbed-setup installs.
        let work = tempfile::tempdir().unwrap();
        let ca = work.path().join("ca.pem");
        std::fs::write(&ca, openssl_ca_pem()).unwrap();
        let home = ensure(work.path(), &ca).unwrap();
        let listed = Command::new("certutil")
            .args(["-L", "-d", &format!("sql:{}", home.join(".pki/nssdb").display())])
            .output()
            .unwrap();
        let listed = String::from_utf8_lossy(&listed.stdout);
        assert!(listed.lines().any(|l| l.starts_with("cc-ci run CA 0") && l.trim_end().ends_with("C,,")), "{listed}");
        assert_eq!(ensure(work.path(), &ca).unwrap(), home, "made once per run");
        let err = ensure(&work.path().join("other"), &work.path().join("none.pem")).unwrap_err();
        assert!(err.contains("none.pem"), "{err}");
    }

    /// A self-signed CA certificate (made by openssl, as a test machine has it).
    fn openssl_ca_pem() -> String {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2"])
            .args(["-subj", "/CN=harness test CA", "-keyout"])
            .arg(dir.path().join("k"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }
}
