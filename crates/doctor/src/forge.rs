//! The forge as the server will use it: reachable at `forge.base_url`, the bot's token accepted,
//! the bot a member of the authorising organisation (else every membership check is refused), and
//! every enrolled repository readable by the bot.

use std::time::Duration;

use forge::{Client, Error, Membership, RepoRef, RetryPolicy};
use server::Config;

use crate::Check;

/// One attempt per call, each at most this long: a doctor reports, it does not wait out outages.
const TIMEOUT: Duration = Duration::from_secs(10);

pub async fn check(config: &Config) -> Check {
    let forge = &config.forge;
    let client = match forge::Config::new(&forge.base_url, forge.token.value.clone())
        .map(|c| c.with_retry(RetryPolicy::none()).with_timeout(TIMEOUT))
        .and_then(Client::new)
    {
        Ok(client) => client,
        Err(e) => return Check::fail("forge", e.to_string(), "correct `forge.base_url` and the token"),
    };
    let mut found = vec![format!("{} reached, token accepted", forge.base_url)];
    if let Some(org) = &config.auth.org {
        match client.org_membership(org, &forge.bot_login).await {
            Ok(Membership::Member) => found.push(format!("bot {} is a member of org {org}", forge.bot_login)),
            Ok(Membership::NotMember) | Err(Error::MembershipRedirect { .. }) => {
                return Check::fail(
                    "forge",
                    format!("bot {} is not a member of org {org}, so it cannot check who is", forge.bot_login),
                    format!("add {} to {org} on the forge (Organisation → Members)", forge.bot_login),
                )
            }
            Err(e) => return failure(config, e),
        }
    }
    for repo in &config.repos {
        let Ok(repo_ref) = repo.repo.parse::<RepoRef>() else { continue };
        if let Err(e) = client.list_open_pulls(&repo_ref).await {
            if e.status() == Some(404) {
                return Check::fail(
                    "forge",
                    format!("enrolled repository {} is not visible to bot {}", repo.repo, forge.bot_login),
                    format!("check the name in [[repos]], or give {} read access to it", forge.bot_login),
                );
            }
            return failure(config, e);
        }
    }
    if config.auth.org.is_none() && config.repos.is_empty() {
        return Check::fail(
            "forge",
            "nothing to check the token with: no `auth.org` and no [[repos]]",
            "enrol a repository ([[repos]]) or set `auth.org`",
        );
    }
    if !config.repos.is_empty() {
        found.push(format!("{} enrolled repo(s) readable", config.repos.len()));
    }
    Check::pass("forge", found.join("; "))
}

/// A failed call: a refused token, an unreachable forge, or another answer.
fn failure(config: &Config, e: Error) -> Check {
    let token = crate::secrets::source(&config.forge.token.source);
    match e.status() {
        Some(401 | 403) => Check::fail(
            "forge",
            format!("the forge refused the bot's token: {e}"),
            format!(
                "create a token for {} on the forge (scopes: read:organization, read:repository, write:repository, write:issue) and \
                 put it in {token}",
                config.forge.bot_login
            ),
        ),
        Some(_) => Check::fail("forge", e.to_string(), "see the forge's answer above"),
        None => Check::fail(
            "forge",
            format!("cannot reach the forge: {}", with_causes(&e)),
            format!("check `forge.base_url` ({}) and this host's network and DNS", config.forge.base_url),
        ),
    }
}

/// An error and its causes (`error sending request: dns error: ...`): the transport's own message
/// alone does not say whether DNS, TCP or TLS failed.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let line = c.to_string();
        if !text.contains(&line) {
            text = format!("{text}: {line}");
        }
        cause = c.source();
    }
    text
}
