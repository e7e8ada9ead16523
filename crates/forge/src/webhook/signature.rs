//! Webhook signatures: lowercase hex HMAC-SHA256 of the raw body under the hook's secret, in
//! `X-Gitea-Signature` / `X-Forgejo-Signature`, or `sha256=<hex>` in `X-Hub-Signature-256`.
//!
//! Every signature header that is present and non-empty must verify (constant-time comparison);
//! at least one must be present. A hook without a secret sends empty headers: that is rejected.

use hmac::{Hmac, Mac};
use http::HeaderMap;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The headers a signature may arrive in.
pub const SIGNATURE_HEADERS: [&str; 3] = ["X-Gitea-Signature", "X-Forgejo-Signature", "X-Hub-Signature-256"];

/// Why a delivery was not accepted as coming from the forge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No signature header, or only empty ones (a hook configured without a secret).
    #[error("the delivery carries no signature (is the webhook's secret set?)")]
    Missing,
    /// A header is not in the expected format (hex, with `sha256=` for `X-Hub-Signature-256`).
    #[error("signature header {0} is malformed")]
    Malformed(&'static str),
    /// A signature does not match the body under our secret.
    #[error("signature in {0} does not match (wrong secret, or the body was altered)")]
    Mismatch(&'static str),
    /// Our own secret is empty: refuse everything rather than accept unsigned deliveries.
    #[error("no webhook secret is configured")]
    NoSecret,
}

/// The lowercase hex HMAC-SHA256 of `body` under `secret`, as the forge computes it.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Checks the delivery's signature headers against `body` (the raw bytes, before any parsing).
pub fn verify_signature(secret: &[u8], body: &[u8], headers: &HeaderMap) -> Result<(), SignatureError> {
    if secret.is_empty() {
        return Err(SignatureError::NoSecret);
    }
    let mut checked = 0;
    for name in SIGNATURE_HEADERS {
        for value in headers.get_all(name) {
            let value = value.to_str().map_err(|_| SignatureError::Malformed(name))?.trim();
            if value.is_empty() {
                continue;
            }
            let hex_part = if name == "X-Hub-Signature-256" {
                value.strip_prefix("sha256=").ok_or(SignatureError::Malformed(name))?
            } else {
                value
            };
            let expected = hex::decode(hex_part).map_err(|_| SignatureError::Malformed(name))?;
            let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
            mac.update(body);
            mac.verify_slice(&expected).map_err(|_| SignatureError::Mismatch(name))?;
            checked += 1;
        }
    }
    if checked == 0 {
        return Err(SignatureError::Missing);
    }
    Ok(())
}
