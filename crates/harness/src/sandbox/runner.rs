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

fn passwd(name: &str) -> Result<Option<(libc::uid_t, libc::gid_t)>, String> {
    let c = CString::new(name).map_err(|_| format!("invalid user name {name:?}"))?;
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: all-zero bytes are a valid `passwd` (null pointers, zero ids) for getpwnam_r to fill.
    let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call and `buf` outlives the use of `entry`'s strings.
    let rc = unsafe { libc::getpwnam_r(c.as_ptr(), &mut entry, buf.as_mut_ptr(), buf.len(), &mut found) };
    if rc != 0 {
        return Err(format!("cannot look up the user {name}: {}", std::io::Error::from_raw_os_error(rc)));
    }
    Ok((!found.is_null()).then_some((entry.pw_uid, entry.pw_gid)))
}

fn group_gid(name: &str) -> Result<Option<libc::gid_t>, String> {
    let c = CString::new(name).map_err(|_| format!("invalid group name {name:?}"))?;
    let mut buf = vec![0 as libc::c_char; 64 * 1024];
    // SAFETY: as in `passwd`, for `group`.
    let mut entry: libc::group = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::group = std::ptr::null_mut();
    // SAFETY: as in `passwd`.
    let rc = unsafe { libc::getgrnam_r(c.as_ptr(), &mut entry, buf.as_mut_ptr(), buf.len(), &mut found) };
    if rc != 0 {
        return Err(format!("cannot look up the group {name}: {}", std::io::Error::from_raw_os_error(rc)));
    }
    Ok((!found.is_null()).then_some(entry.gr_gid))
}

/// Whether `user` is a member of the group `group` (supplementary; `false` when there is no
/// such group).
pub fn in_group(user: &str, group: &str) -> Result<bool, String> {
    let c = CString::new(group).map_err(|_| format!("invalid group name {group:?}"))?;
    let mut buf = vec![0 as libc::c_char; 64 * 1024];
    // SAFETY: as in `passwd`, for `group`.
    let mut entry: libc::group = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::group = std::ptr::null_mut();
    // SAFETY: as in `passwd`.
    let rc = unsafe { libc::getgrnam_r(c.as_ptr(), &mut entry, buf.as_mut_ptr(), buf.len(), &mut found) };
    if rc != 0 {
        return Err(format!("cannot look up the group {group}: {}", std::io::Error::from_raw_os_error(rc)));
    }
    if found.is_null() || entry.gr_mem.is_null() {
        return Ok(false);
    }
    let mut member = entry.gr_mem;
    // SAFETY: `gr_mem` is a null-terminated array of NUL-terminated strings inside `buf`.
    unsafe {
        while !(*member).is_null() {
            if CStr::from_ptr(*member).to_bytes() == user.as_bytes() {
                return Ok(true);
            }
            member = member.add(1);
        }
    }
    Ok(false)
}

/// The name of the user `uid`, for messages.
pub fn user_name(uid: libc::uid_t) -> String {
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: as in `passwd`.
    let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: as in `passwd`.
    let rc = unsafe { libc::getpwuid_r(uid, &mut entry, buf.as_mut_ptr(), buf.len(), &mut found) };
    if rc != 0 || found.is_null() {
        return format!("uid {uid}");
    }
    // SAFETY: getpwuid_r filled `pw_name` with a NUL-terminated string inside `buf`.
    unsafe { CStr::from_ptr(entry.pw_name) }.to_string_lossy().into_owned()
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
    }
}
