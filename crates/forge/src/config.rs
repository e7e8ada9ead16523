//! Client configuration: where the forge is, the bot token, timeouts and the retry policy.

use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use crate::Error;

/// How often and how patiently a call is retried on transport errors, 429 and 5xx.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (so at most `max_retries + 1` requests per call).
    pub max_retries: u32,
    /// First backoff; doubled on each retry.
    pub base_delay: Duration,
    /// Cap for one wait, including a `Retry-After` the forge asks for.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_retries: 3, base_delay: Duration::from_millis(500), max_delay: Duration::from_secs(30) }
    }
}

impl RetryPolicy {
    /// No retries at all (tests of error paths, one-shot tools).
    pub fn none() -> Self {
        RetryPolicy { max_retries: 0, ..RetryPolicy::default() }
    }
}

/// Everything a [`crate::Client`] needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// The forge's root URL (`https://git.example.org`); `/api/v1` is appended unless present.
    pub base_url: Url,
    /// The bot's API token, sent as `Authorization: token <T>`. Never printed.
    pub token: SecretString,
    /// Per-request timeout (connect + answer).
    pub timeout: Duration,
    /// Retry policy for transient failures.
    pub retry: RetryPolicy,
    /// Page size asked for in paged listings (the forge clamps it to its own maximum, 50 by default).
    pub page_limit: u32,
    /// Upper bound on pages read by one listing, so a misbehaving forge cannot loop us forever.
    pub max_pages: u32,
}

impl Config {
    /// A configuration with defaults: 30 s timeout, [`RetryPolicy::default`], pages of 50, at most
    /// 1000 pages per listing.
    pub fn new(base_url: &str, token: SecretString) -> Result<Config, Error> {
        let base_url = Url::parse(base_url).map_err(|e| Error::Config(format!("base URL {base_url:?}: {e}")))?;
        if !matches!(base_url.scheme(), "http" | "https") {
            return Err(Error::Config(format!("base URL {base_url} must be http or https")));
        }
        Ok(Config {
            base_url,
            token,
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            page_limit: 50,
            max_pages: 1000,
        })
    }

    /// Builder-style override of the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Config {
        self.retry = retry;
        self
    }

    /// Builder-style override of the per-request timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Config {
        self.timeout = timeout;
        self
    }

    /// The API root, always ending in `/api/v1/`.
    pub(crate) fn api_root(&self) -> Url {
        let mut url = self.base_url.clone();
        url.set_query(None);
        url.set_fragment(None);
        let path = url.path().trim_end_matches('/').to_string();
        let path = path.strip_suffix("/api/v1").unwrap_or(&path).to_string();
        url.set_path(&format!("{path}/api/v1/"));
        url
    }
}
