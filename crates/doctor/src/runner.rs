//! The unprivileged user code from pull requests runs as (SPEC V9): it must exist, and must not
//! be in the `docker` group, whose members can drive the Docker socket and so are root.

use std::process::Command;

use crate::Check;

/// `user` exists and is not in the docker group (as its primary group or a supplementary one).
/// Users and groups are read through NSS (`getent`), so LDAP or sssd accounts count too.
pub fn check(user: &str) -> Check {
    let passwd = match getent("passwd", user) {
        Ok(line) => line,
        Err(e) => return Check::fail("runner", e, "`getent` (Debian package libc-bin) must work"),
    };
    let docker = match getent("group", "docker") {
        Ok(line) => line,
        Err(e) => return Check::fail("runner", e, "`getent` (Debian package libc-bin) must work"),
    };
    verdict(user, passwd.as_deref(), docker.as_deref())
}

/// `getent <db> <key>`: the entry, `None` when there is none (exit 2).
fn getent(db: &str, key: &str) -> Result<Option<String>, String> {
    let out = Command::new("getent").args([db, key]).output().map_err(|e| format!("cannot run getent: {e}"))?;
    match out.status.code() {
        Some(0) => Ok(Some(String::from_utf8_lossy(&out.stdout).lines().next().unwrap_or("").to_string())),
        Some(2) => Ok(None),
        _ => Err(format!("getent {db} {key}: {}", String::from_utf8_lossy(&out.stderr).trim())),
    }
}

/// The verdict from the user's passwd entry and the docker group's entry (`None`: absent).
pub fn verdict(user: &str, passwd: Option<&str>, docker_group: Option<&str>) -> Check {
    let Some(passwd) = passwd else {
        return Check::fail(
            "runner",
            format!("user {user} does not exist"),
            format!(
                "install the cc-ci package (it creates it), or `adduser --system --group --no-create-home \
                 --home /nonexistent --shell /usr/sbin/nologin {user}`"
            ),
        );
    };
    let fields: Vec<&str> = passwd.split(':').collect();
    let (uid, gid) = (fields.get(2).copied().unwrap_or("?"), fields.get(3).copied().unwrap_or(""));
    if let Some(group) = docker_group {
        let fields: Vec<&str> = group.split(':').collect();
        let docker_gid = fields.get(2).copied().unwrap_or("");
        let members = fields.get(3).copied().unwrap_or("");
        if gid == docker_gid {
            return Check::fail(
                "runner",
                format!("user {user}'s primary group is docker: pull-request code could drive Docker (root)"),
                format!("give {user} its own group: `usermod -g {user} {user}`"),
            );
        }
        if members.split(',').any(|m| m.trim() == user) {
            return Check::fail(
                "runner",
                format!("user {user} is in the docker group: pull-request code could drive Docker (root)"),
                format!("`gpasswd -d {user} docker`"),
            );
        }
    }
    Check::pass("runner", format!("user {user} (uid {uid}) exists and is not in the docker group"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Status;

    const RUNNER: &str = "ccci-runner:x:998:997::/nonexistent:/usr/sbin/nologin";

    #[test]
    fn an_existing_runner_outside_the_docker_group_passes() {
        let check = verdict("ccci-runner", Some(RUNNER), Some("docker:x:996:alice,bob"));
        assert_eq!(check.status, Status::Pass, "{check}");
        assert!(check.message.contains("uid 998"), "{check}");
        assert_eq!(verdict("ccci-runner", Some(RUNNER), None).status, Status::Pass);
    }

    #[test]
    fn a_missing_runner_fails_saying_how_to_create_it() {
        let check = verdict("ccci-runner", None, Some("docker:x:996:"));
        assert!(check.message.contains("does not exist"), "{check}");
        assert!(check.fix.unwrap().contains("adduser --system"));
    }

    #[test]
    fn a_runner_in_the_docker_group_fails() {
        let member = verdict("ccci-runner", Some(RUNNER), Some("docker:x:996:alice,ccci-runner"));
        assert_eq!(member.status, Status::Fail);
        assert!(member.fix.unwrap().contains("gpasswd -d ccci-runner docker"));
        let primary = verdict(
            "ccci-runner",
            Some("ccci-runner:x:998:996::/nonexistent:/usr/sbin/nologin"),
            Some("docker:x:996:"),
        );
        assert!(primary.message.contains("primary group is docker"), "{primary}");
        let similar = verdict("ccci-runner", Some(RUNNER), Some("docker:x:996:ccci-runner2"));
        assert_eq!(similar.status, Status::Pass, "a longer name is another user");
    }
}
