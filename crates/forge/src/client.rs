//! The HTTP core of the forge client: URL building, the token header, timeouts, redirects off,
//! and the bounded retry loop every call goes through.

use std::time::SystemTime;

use reqwest::header::{HeaderValue, AUTHORIZATION, RETRY_AFTER};
use reqwest::{RequestBuilder, Response};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use url::Url;

use crate::retry::{backoff, parse_retry_after, retryable_status, retryable_transport, Idempotency};
use crate::{Config, Error};

/// An async client for the Gitea/Forgejo REST API (v1), authenticated as the CI's bot user.
///
/// Redirects are never followed (the membership check depends on seeing a 303), the token is only
/// ever sent in the `Authorization` header, and every call has a timeout and bounded retries.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    api: Url,
    token: SecretString,
    pub(crate) config: Config,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("api", &self.api.as_str()).field("token", &"[redacted]").finish()
    }
}

impl Client {
    /// Builds a client from a configuration.
    pub fn new(config: Config) -> Result<Client, Error> {
        let token = config.token.expose_secret();
        if token.trim().is_empty() {
            return Err(Error::Config("the forge token is empty".into()));
        }
        if HeaderValue::from_str(&format!("token {token}")).is_err() {
            return Err(Error::Config("the forge token contains characters not allowed in a header".into()));
        }
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(std::time::Duration::from_secs(10)))
            .user_agent(concat!("cc-ci/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
        Ok(Client { http, api: config.api_root(), token: config.token.clone(), config })
    }

    /// The API root this client talks to (ends in `/api/v1/`).
    pub fn api_url(&self) -> &Url {
        &self.api
    }

    /// The URL of an API path given as raw segments (each one percent-encoded).
    pub(crate) fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.api.clone();
        {
            let mut path = url.path_segments_mut().expect("http(s) URLs have a path");
            path.pop_if_empty();
            path.extend(segments);
        }
        url
    }

    fn auth_header(&self) -> HeaderValue {
        let mut value = HeaderValue::from_str(&format!("token {}", self.token.expose_secret()))
            .expect("checked when the client was built");
        value.set_sensitive(true);
        value
    }

    /// Sends a request built by `make` until it gets a status in `accept`, retrying transient
    /// failures per the retry policy. Any other final status is an [`Error::Status`].
    pub(crate) async fn send(
        &self,
        call: &'static str,
        idempotency: Idempotency,
        accept: &[u16],
        make: impl Fn(&reqwest::Client) -> RequestBuilder,
    ) -> Result<Response, Error> {
        let policy = &self.config.retry;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let may_retry = attempt <= policy.max_retries;
            match make(&self.http).header(AUTHORIZATION, self.auth_header()).send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    if accept.contains(&status) {
                        return Ok(response);
                    }
                    if may_retry && retryable_status(status, idempotency) {
                        let asked = response
                            .headers()
                            .get(RETRY_AFTER)
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| parse_retry_after(v, SystemTime::now()));
                        tokio::time::sleep(backoff(policy, attempt, asked)).await;
                        continue;
                    }
                    let body = response.text().await.unwrap_or_default();
                    return Err(Error::Status {
                        call,
                        status,
                        attempts: attempt,
                        body: crate::text::truncate(&body, 300),
                    });
                }
                Err(source) => {
                    if may_retry && retryable_transport(&source, idempotency) {
                        tokio::time::sleep(backoff(policy, attempt, None)).await;
                        continue;
                    }
                    return Err(Error::Transport { call, attempts: attempt, source: source.without_url() });
                }
            }
        }
    }

    /// Reads a JSON body into `T`.
    pub(crate) async fn json<T: DeserializeOwned>(call: &'static str, response: Response) -> Result<T, Error> {
        let bytes = response.bytes().await.map_err(|source| Error::Transport {
            call,
            attempts: 1,
            source: source.without_url(),
        })?;
        serde_json::from_slice(&bytes).map_err(|source| Error::Decode { call, source })
    }
}
