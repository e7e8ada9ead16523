//! One check's verdict: passed with what was found, passed with a warning (fine today, not for
//! long: a certificate about to expire), or failed with the problem and the fix.

use std::fmt;

/// Passed, passed with a warning, or failed; a check that could not run counts as failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pass,
    /// Works now, needs attention soon; does not make `ccci doctor` fail.
    Warn,
    Fail,
}

/// The verdict of one check, printed as one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Short name (`docker`, `proxy`, `disk`...), the same in every run.
    pub name: &'static str,
    pub status: Status,
    /// What was found (a pass) or what is wrong (a failure).
    pub message: String,
    /// What to do about a failure.
    pub fix: Option<String>,
}

impl Check {
    pub fn pass(name: &'static str, message: impl Into<String>) -> Check {
        Check { name, status: Status::Pass, message: message.into(), fix: None }
    }

    pub fn fail(name: &'static str, message: impl Into<String>, fix: impl Into<String>) -> Check {
        Check { name, status: Status::Fail, message: message.into(), fix: Some(fix.into()) }
    }

    pub fn warn(name: &'static str, message: impl Into<String>, fix: impl Into<String>) -> Check {
        Check { name, status: Status::Warn, message: message.into(), fix: Some(fix.into()) }
    }

    /// A check that could not run because an earlier one failed.
    pub fn not_checked(name: &'static str, because: &str) -> Check {
        Check::fail(name, format!("not checked: {because}"), "fix that first")
    }
}

impl fmt::Display for Check {
    /// `ok   docker: ...`, `warn certificate: ... Fix: ...` or `FAIL proxy: ... Fix: ...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mark = match self.status {
            Status::Pass => "ok  ",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
        };
        write!(f, "{mark} {}: {}", self.name, self.message)?;
        if let Some(fix) = &self.fix {
            write!(f, ". Fix: {fix}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_prints_on_one_line_with_its_fix() {
        let c = Check::fail("proxy", "no service labelled cc-ci.infra=proxy", "set up the proxy");
        assert_eq!(c.to_string(), "FAIL proxy: no service labelled cc-ci.infra=proxy. Fix: set up the proxy");
        assert_eq!(Check::pass("disk", "80 GiB free").to_string(), "ok   disk: 80 GiB free");
        let soon = Check::warn("certificate", "expires in 3 days", "renew it");
        assert_eq!(soon.to_string(), "warn certificate: expires in 3 days. Fix: renew it");
    }
}
