//! How a tier ends when it does not pass, decided once from typed errors (DESIGN: fail vs error):
//! the recipe at fault is a **fail**, the CI or its infrastructure at fault is an **error**.

use crate::result::Outcome;
use crate::serving::NotServing;

/// How a tier ended when it did not pass: whose fault, and the one-line reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierEnd {
    pub outcome: Outcome,
    pub reason: String,
}

impl TierEnd {
    /// The recipe is at fault.
    pub fn fail(reason: impl Into<String>) -> Self {
        Self { outcome: Outcome::Fail, reason: reason.into() }
    }

    /// The CI or the infrastructure is at fault.
    pub fn error(reason: impl Into<String>) -> Self {
        Self { outcome: Outcome::Error, reason: reason.into() }
    }

    /// There was nothing to do (the custom tier without tests).
    pub fn skipped(reason: impl Into<String>) -> Self {
        Self { outcome: Outcome::Skipped, reason: reason.into() }
    }

    /// The same end with `prefix: ` before its reason (e.g. which dependency).
    pub fn context(self, prefix: &str) -> Self {
        Self { reason: format!("{prefix}: {}", self.reason), ..self }
    }
}

impl From<swarm::Error> for TierEnd {
    fn from(e: swarm::Error) -> Self {
        if e.is_infrastructure() {
            TierEnd::error(e.to_string())
        } else {
            TierEnd::fail(e.to_string())
        }
    }
}

impl From<NotServing> for TierEnd {
    fn from(e: NotServing) -> Self {
        if e.is_infrastructure() {
            TierEnd::error(e.to_string())
        } else {
            TierEnd::fail(e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swarm_errors_are_classed_by_their_fault() {
        let recipe = swarm::Error::NoRunningTask { service: "s_app".into() };
        assert_eq!(TierEnd::from(recipe).outcome, Outcome::Fail);
        let infra = swarm::Error::ImagesMissing { missing: vec![("app".into(), "x:1".into())] };
        let end = TierEnd::from(infra);
        assert_eq!(end.outcome, Outcome::Error);
        assert!(end.reason.contains("app needs x:1"), "{}", end.reason);
    }

    #[test]
    fn an_unreachable_proxy_is_an_error_and_a_404_a_failure() {
        let down = NotServing::Unreachable { url: "u".into(), proxy: "p".into(), cause: "refused".into() };
        assert_eq!(TierEnd::from(down).outcome, Outcome::Error);
        let unrouted = NotServing::BadStatus {
            url: "u".into(),
            status: 404,
            attempts: 3,
            elapsed: std::time::Duration::from_secs(1),
            hint: "",
        };
        assert_eq!(TierEnd::from(unrouted).outcome, Outcome::Fail);
    }
}
