//! Who may trigger a run: organisation membership, checked without following redirects and
//! failing closed.

use crate::retry::Idempotency;
use crate::{Client, Error};

/// The forge's answer to "is this user a member of the org".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Membership {
    Member,
    NotMember,
}

impl Client {
    /// `GET /orgs/{org}/members/{user}`: 204 member, 404 not a member.
    ///
    /// A 303 means the bot itself is not an org member and the forge would only answer for public
    /// members; that is [`Error::MembershipRedirect`], a configuration error, never "not a member".
    pub async fn org_membership(&self, org: &str, user: &str) -> Result<Membership, Error> {
        const CALL: &str = "check org membership";
        let url = self.url(&["orgs", org, "members", user]);
        let response = self.send(CALL, Idempotency::Safe, &[204, 404, 303], |http| http.get(url.clone())).await?;
        match response.status().as_u16() {
            204 => Ok(Membership::Member),
            404 => Ok(Membership::NotMember),
            _ => {
                let location = response
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("(no Location header)")
                    .to_string();
                Err(Error::MembershipRedirect { org: org.to_string(), location })
            }
        }
    }

    /// Fail-closed authorisation: `true` only when the forge positively says `user` is a member of
    /// `org`. Every error (redirect, outage, 401, timeout) is a refusal.
    pub async fn is_org_member(&self, org: &str, user: &str) -> bool {
        matches!(self.org_membership(org, user).await, Ok(Membership::Member))
    }
}
