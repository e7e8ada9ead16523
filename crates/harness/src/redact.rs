//! Redaction at the sink: every secret value of a run is registered here when generated or read,
//! and every byte stream the CI stores or shows passes through [`Redactor::redact`].

use std::sync::{Arc, RwLock};

use aho_corasick::AhoCorasick;

/// What a secret value is replaced with.
pub const MASK: &str = "[redacted]";

/// Shortest value worth redacting: shorter ones would mangle ordinary text and are not secrets
/// anyone generates.
const MIN_SECRET_LEN: usize = 4;

/// A shared, growable set of secret values and the matcher built from them.
#[derive(Clone, Default)]
pub struct Redactor {
    inner: Arc<RwLock<Inner>>,
}

#[derive(Default)]
struct Inner {
    values: Vec<String>,
    matcher: Option<AhoCorasick>,
}

impl Redactor {
    pub fn new() -> Self {
        Self::default()
    }

    /// Register a secret value; from now on it is masked everywhere.
    pub fn register(&self, value: &str) {
        if value.len() < MIN_SECRET_LEN {
            return;
        }
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        if inner.values.iter().any(|v| v == value) {
            return;
        }
        inner.values.push(value.to_owned());
        // Longest first, so a secret that contains another is masked whole.
        inner.values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        inner.matcher =
            AhoCorasick::builder().match_kind(aho_corasick::MatchKind::LeftmostLongest).build(&inner.values).ok();
    }

    /// The text with every registered value replaced by [`MASK`].
    pub fn redact(&self, text: &str) -> String {
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        match &inner.matcher {
            Some(m) => m.replace_all(text, &vec![MASK; inner.values.len()]),
            None => text.to_owned(),
        }
    }

    /// Bytes with every registered value replaced by [`MASK`] (for non-UTF-8 streams).
    pub fn redact_bytes(&self, bytes: &[u8]) -> Vec<u8> {
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        match &inner.matcher {
            Some(m) => m.replace_all_bytes(bytes, &vec![MASK.as_bytes(); inner.values.len()]),
            None => bytes.to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_every_registered_value_longest_first() {
        let r = Redactor::new();
        r.register("hunter2hunter2");
        r.register("hunter2");
        r.register("abc"); // too short to be a secret: ignored
        let out = r.redact("a=hunter2hunter2 b=hunter2 c=abc");
        assert_eq!(out, "a=[redacted] b=[redacted] c=abc");
    }

    #[test]
    fn clones_share_the_registered_values() {
        let r = Redactor::new();
        let sink = r.clone();
        r.register("s3cr3t-value");
        assert_eq!(sink.redact_bytes(b"x s3cr3t-value y"), b"x [redacted] y");
    }
}
