//! The webhook secret: without it the forge cannot sign deliveries and the server falls back to
//! polling alone (comments seen up to `poll_interval_seconds` late).

use server::config::SecretSource;
use server::Config;

use crate::Check;

/// The configuration has a `[webhook]` section whose secret was read (loading already refused an
/// empty or unreadable one).
pub fn webhook(config: &Config) -> Check {
    match &config.webhook_secret {
        Some(secret) => {
            let from = source(&secret.source);
            Check::pass("webhook", format!("secret read from {from} ({} characters)", secret.expose().chars().count()))
        }
        None => Check::fail(
            "webhook",
            "no [webhook] section: the server relies on polling alone",
            "add a webhook on the forge (event \"Issue comment\", JSON, URL <public_url>/hooks/forge, a random secret) \
             and set `[webhook] secret_file` to a file holding that secret",
        ),
    }
}

/// Where a secret comes from, as an operator would look for it.
pub(crate) fn source(source: &SecretSource) -> String {
    match source {
        SecretSource::File(path) => format!("file {}", path.display()),
        SecretSource::Env(var) => format!("environment variable {var}"),
    }
}
