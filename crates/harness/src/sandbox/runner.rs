//! The unprivileged user pull-request code runs as (SPEC V9): looked up by name through NSS, and
//! refused when it could drive Docker (uid 0, or the docker group as its primary group; its
//! supplementary groups are dropped anyway).

use std::ffi::{CStr, CString};

/// The runner user's default name (created by the Debian package, the NixOS module and
/// `ccci server init`).
pub const RUNNER_USER: &str = "ccci-runner";

/// A user to run as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Runner {
    pub uid: libc::uid_t,
    pub gid: libc::gid_t,
}

/// The user `name` if it exists and is fit to run pull-request code; why not otherwise (`None`
/// when it does not exist).
pub fn lookup(name: &str) -> Result<Option<Runner>, String> {
    let Some((uid, gid)) = passwd(name)? else { return Ok(None) };
    if uid == 0 {
        return Err(format!("the runner user {name} is root (uid 0)"));
    }
    if group_gid("docker")? == Some(gid) {
        return Err(format!(
            "the runner user {name}'s primary group is docker, which drives Docker (root): `usermod -g {name} {name}`"
        ));
    }
    Ok(Some(Runner { uid, gid }))
}

/// The effective user is root.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// A user's ids and name, as `getpw*_r` fills them in by `call`; the error number otherwise.
type PasswdCall<'a> = &'a dyn Fn(*mut libc::passwd, *mut libc::c_char, usize, *mut *mut libc::passwd) -> libc::c_int;

fn passwd_entry(call: PasswdCall<'_>) -> Result<Option<(libc::uid_t, libc::gid_t, String)>, std::io::Error> {
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: all-zero bytes are a valid `passwd` (null pointers, zero ids) for getpw*_r to fill.
    let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    let rc = call(&mut entry, buf.as_mut_ptr(), buf.len(), &mut found);
    if rc != 0 {
        return Err(std::io::Error::from_raw_os_error(rc));
    }
    if found.is_null() {
        return Ok(None);
    }
    // SAFETY: getpw*_r filled `pw_name` with a NUL-terminated string inside `buf`.
    let name = unsafe { CStr::from_ptr(entry.pw_name) }.to_string_lossy().into_owned();
    Ok(Some((entry.pw_uid, entry.pw_gid, name)))
}

fn passwd(name: &str) -> Result<Option<(libc::uid_t, libc::gid_t)>, String> {
    let c = CString::new(name).map_err(|_| format!("invalid user name {name:?}"))?;
    // SAFETY: every pointer is valid for the call and the buffer outlives the use of the entry.
    let call: PasswdCall<'_> = &|e, buf, len, found| unsafe { libc::getpwnam_r(c.as_ptr(), e, buf, len, found) };
    match passwd_entry(call) {
        Ok(entry) => Ok(entry.map(|(uid, gid, _)| (uid, gid))),
        Err(e) => Err(format!("cannot look up the user {name}: {e}")),
    }
}

/// The group `name`: its gid and its members' names (`None` when there is no such group).
fn group(name: &str) -> Result<Option<(libc::gid_t, Vec<String>)>, String> {
    let c = CString::new(name).map_err(|_| format!("invalid group name {name:?}"))?;
    let mut buf = vec![0 as libc::c_char; 64 * 1024];
    // SAFETY: all-zero bytes are a valid `group` (null pointers, zero id) for getgrnam_r to fill.
    let mut entry: libc::group = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::group = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call and `buf` outlives the use of `entry`'s strings.
    let rc = unsafe { libc::getgrnam_r(c.as_ptr(), &mut entry, buf.as_mut_ptr(), buf.len(), &mut found) };
    if rc != 0 {
        return Err(format!("cannot look up the group {name}: {}", std::io::Error::from_raw_os_error(rc)));
    }
    if found.is_null() {
        return Ok(None);
    }
    let mut members = Vec::new();
    let mut member = entry.gr_mem;
    // SAFETY: `gr_mem` is null or a null-terminated array of NUL-terminated strings inside `buf`.
    unsafe {
        while !member.is_null() && !(*member).is_null() {
            members.push(CStr::from_ptr(*member).to_string_lossy().into_owned());
            member = member.add(1);
        }
    }
    Ok(Some((entry.gr_gid, members)))
}

fn group_gid(name: &str) -> Result<Option<libc::gid_t>, String> {
    Ok(group(name)?.map(|(gid, _)| gid))
}

/// Whether `user` is a member of the group `group` (supplementary; `false` when there is no
/// such group).
pub fn in_group(user: &str, group_name: &str) -> Result<bool, String> {
    Ok(group(group_name)?.is_some_and(|(_, members)| members.iter().any(|m| m == user)))
}

/// The name of the user `uid`, for messages.
pub fn user_name(uid: libc::uid_t) -> String {
    // SAFETY: every pointer is valid for the call.
    let call: PasswdCall<'_> = &|e, buf, len, found| unsafe { libc::getpwuid_r(uid, e, buf, len, found) };
    match passwd_entry(call) {
        Ok(Some((_, _, name))) => name,
        _ => format!("uid {uid}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_refused_and_a_missing_user_is_none() {
        assert!(lookup("root").unwrap_err().contains("uid 0"));
        assert_eq!(lookup("ccci-no-such-user-here").unwrap(), None);
        let nobody = lookup("nobody").unwrap().expect("Debian has nobody");
        assert_eq!(nobody.uid, 65534);
        assert_eq!(user_name(0), "root");
        assert!(!in_group("nobody", "ccci-no-such-group-here").unwrap());
        assert_eq!(group_gid("root").unwrap(), Some(0));
    }
}
