//! Typed errors of the forge client. Messages name the call and say what to check; none of them
//! ever contains the token (requests never carry it in the URL).

/// What went wrong talking to the forge.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The client was configured with something unusable (bad base URL, token with a newline...).
    #[error("forge client configuration: {0}")]
    Config(String),
    /// The forge could not be reached (connect, TLS, timeout), after all retries.
    #[error("{call}: forge unreachable after {attempts} attempt(s): {source}")]
    Transport {
        call: &'static str,
        attempts: u32,
        #[source]
        source: reqwest::Error,
    },
    /// The forge answered with a status the call does not accept (after retries for 429/5xx).
    #[error("{call}: forge answered HTTP {status} after {attempts} attempt(s): {body}")]
    Status { call: &'static str, status: u16, attempts: u32, body: String },
    /// The membership check was redirected (303): the bot user is not a member of the org it
    /// checks, so the forge can only answer for public members. Make the bot an org member.
    #[error(
        "membership check in org {org} was redirected to {location}: the bot user must itself be a member \
         of {org} (refusing to authorise anyone until it is)"
    )]
    MembershipRedirect { org: String, location: String },
    /// The forge's answer did not parse as the documented JSON.
    #[error("{call}: unexpected response body: {source}")]
    Decode {
        call: &'static str,
        #[source]
        source: serde_json::Error,
    },
    /// A paged listing did not end within the page cap (a forge that ignores `page`).
    #[error("{call}: still getting full pages after {pages} pages; giving up")]
    TooManyPages { call: &'static str, pages: u32 },
}

impl Error {
    /// The HTTP status the forge answered with, if the error is one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Status { status, .. } => Some(*status),
            Error::MembershipRedirect { .. } => Some(303),
            _ => None,
        }
    }
}
