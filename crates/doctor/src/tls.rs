//! The proxy as clients meet it: it answers HTTPS where the configuration says (`proxy`, else
//! `127.0.0.1:<web_secure_port>`), an unknown host of the base domain getting its 404 with a
//! certificate that verifies against the configured CA (as `ccci server init` checks it); and the
//! wildcard certificate `[tls]` names is valid for the base domain, with its days to expiry.

use std::path::Path;
use std::time::Duration;

use harness::serving::{self, Target};
use infra::certs::{self, CertFacts};
use server::infra_config::{local_ca_dir, TlsConfig};
use server::Config;

use crate::Check;

/// How long the proxy may take to answer (it is up when this check runs, or it is not).
const PATIENCE: Duration = Duration::from_secs(5);
/// A certificate with fewer days left than this is a warning.
pub const WARN_DAYS: i64 = 14;

/// An unknown host of the base domain gets the proxy's 404 over HTTPS, the certificate verified.
pub async fn https(config: &Config) -> Check {
    let addr = config.infra.proxy.check_addr(config.proxy);
    let domain = format!("{}.{}", infra::proxy::PROBE_HOST, config.base_domain);
    let mut target = Target::root(&domain, "https", Some(addr));
    target.path = "/".into();
    target.expect = vec![404];
    target.ca_bundle = config.tls.ca_bundle(&config.data_dir);
    let trust = match &target.ca_bundle {
        Some(ca) => format!("the CA {}", ca.display()),
        None => "the system's CAs".into(),
    };
    match serving::check(&target, PATIENCE).await {
        Ok(served) => Check::pass("https", format!("the proxy at {addr}: {served}, trusting {trust}")),
        Err(e) => Check::fail(
            "https",
            format!("the proxy does not answer as it should at {addr}: {e}"),
            format!(
                "`ccci server init --config {}` deploys it and says what is wrong; `proxy` (or \
                 [infra.proxy] web_secure_port) must be where this host reaches it",
                config.path.display()
            ),
        ),
    }
}

/// The wildcard certificate `[tls]` names covers the base domain and is not expired; under
/// [`WARN_DAYS`] left is a warning.
pub fn certificate(config: &Config) -> Check {
    let (file, renew) = match &config.tls {
        TlsConfig::LocalCa => (
            certs::local_wildcard_file(&local_ca_dir(&config.data_dir)),
            format!("`ccci server init --config {}` renews the local CA's certificate", config.path.display()),
        ),
        TlsConfig::Files { cert, .. } => (
            cert.clone(),
            format!(
                "renew it (same path), then `ccci server init --config {}` hands it to the proxy",
                config.path.display()
            ),
        ),
    };
    match certs::inspect(&file, &config.base_domain) {
        Ok(facts) => verdict(&file, &config.base_domain, &facts, now(), &renew),
        Err(e) => Check::fail("certificate", e.to_string(), renew),
    }
}

/// The verdict on a certificate's `facts` at unix time `now`.
pub fn verdict(file: &Path, base_domain: &str, facts: &CertFacts, now: i64, renew: &str) -> Check {
    let expiry = time::OffsetDateTime::from_unix_timestamp(facts.not_after)
        .map(|t| t.date().to_string())
        .unwrap_or_else(|_| facts.not_after.to_string());
    let days = (facts.not_after - now).div_euclid(86_400);
    let shown = file.display();
    if !facts.missing.is_empty() {
        return Check::fail(
            "certificate",
            format!("{shown} does not cover {}; it names {}", facts.missing.join(" and "), facts.names.join(", ")),
            format!("use a certificate for *.{base_domain} and {base_domain}, or set base_domain to what it covers"),
        );
    }
    if facts.not_after <= now {
        return Check::fail("certificate", format!("{shown} expired on {expiry}"), renew);
    }
    let message = format!("{shown} covers *.{base_domain}, expires {expiry} ({days} days left)");
    if days < WARN_DAYS {
        Check::warn("certificate", message, renew)
    } else {
        Check::pass("certificate", message)
    }
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Status;

    fn facts(not_after: i64, missing: &[&str]) -> CertFacts {
        CertFacts {
            not_after,
            names: vec!["*.ci.example.org".into(), "ci.example.org".into()],
            missing: missing.iter().map(|m| m.to_string()).collect(),
        }
    }

    #[test]
    fn days_to_expiry_decide_between_pass_warn_and_fail() {
        let file = Path::new("/etc/cc-ci/wildcard.pem");
        let now = 1_767_366_245; // 2026-01-02
        let day = 86_400;
        let ok = verdict(file, "ci.example.org", &facts(now + 90 * day, &[]), now, "renew");
        assert_eq!(ok.status, Status::Pass, "{ok}");
        assert_eq!(ok.message, "/etc/cc-ci/wildcard.pem covers *.ci.example.org, expires 2026-04-02 (90 days left)");
        let soon = verdict(file, "ci.example.org", &facts(now + 13 * day + 5, &[]), now, "renew");
        assert_eq!((soon.status, soon.fix.as_deref()), (Status::Warn, Some("renew")), "{soon}");
        assert!(soon.message.contains("(13 days left)"), "{soon}");
        assert_eq!(verdict(file, "ci.example.org", &facts(now + 14 * day, &[]), now, "r").status, Status::Pass);
        let expired = verdict(file, "ci.example.org", &facts(now - day, &[]), now, "renew");
        assert_eq!(expired.status, Status::Fail);
        assert_eq!(expired.message, "/etc/cc-ci/wildcard.pem expired on 2026-01-01");
    }

    #[test]
    fn a_certificate_for_another_domain_fails_naming_what_it_covers() {
        let other = verdict(Path::new("c.pem"), "ci.test", &facts(i64::MAX / 2, &["*.ci.test", "ci.test"]), 0, "r");
        assert_eq!(other.status, Status::Fail);
        assert_eq!(
            other.message,
            "c.pem does not cover *.ci.test and ci.test; it names *.ci.example.org, ci.example.org"
        );
    }
}
