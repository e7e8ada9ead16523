//! Files crossing the sandbox's boundary, done by ccci (root) without ever following a link the
//! sandboxed code could have planted: copying a tree in (links copied as links, every entry given
//! to the runner), taking files out (regular files only, opened with `O_NOFOLLOW`), and making
//! a tree the runner's. No sandboxed process is alive while these run (each command's processes
//! end with it), so nothing changes under them.

use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::{lchown, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use super::runner::Runner;

/// Copy the tree `from` to `to` (created), keeping modes and symbolic links as links, every
/// entry owned by `owner` when given.
pub fn copy_tree(from: &Path, to: &Path, owner: Option<Runner>) -> io::Result<()> {
    let meta = fs::symlink_metadata(from)?;
    fs::create_dir_all(to)?;
    fs::set_permissions(to, fs::Permissions::from_mode(meta.permissions().mode() & 0o7777))?;
    give(to, owner)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let (src, dest) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_tree(&src, &dest, owner)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&src)?, &dest)?;
            give(&dest, owner)?;
        } else if kind.is_file() {
            copy_file(&src, &dest)?;
            give(&dest, owner)?;
        }
        // Sockets, FIFOs and devices are not copied.
    }
    Ok(())
}

/// Copy one regular file (not following a link at `from`), keeping its mode.
fn copy_file(from: &Path, to: &Path) -> io::Result<()> {
    let mut src = open_regular(from)?;
    let mode = src.metadata()?.permissions().mode() & 0o777;
    let mut dest = fs::OpenOptions::new().write(true).create_new(true).mode(mode).open(to)?;
    io::copy(&mut src, &mut dest)?;
    fs::set_permissions(to, fs::Permissions::from_mode(mode))
}

/// Give `path` (not following a link) to `owner`.
pub fn give(path: &Path, owner: Option<Runner>) -> io::Result<()> {
    match owner {
        Some(r) => lchown(path, Some(r.uid), Some(r.gid)),
        None => Ok(()),
    }
}

/// Give the whole tree at `dir` to `owner` (links themselves, never their targets).
pub fn give_tree(dir: &Path, owner: Option<Runner>) -> io::Result<()> {
    if owner.is_none() {
        return Ok(());
    }
    give(dir, owner)?;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            give_tree(&entry.path(), owner)?;
        } else {
            give(&entry.path(), owner)?;
        }
    }
    Ok(())
}

/// Open `path` for reading only if it is a regular file itself (not a link, FIFO or device).
pub fn open_regular(path: &Path) -> io::Result<fs::File> {
    let file = fs::OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK).open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("{} is not a regular file", path.display())));
    }
    Ok(file)
}

/// The text of the regular file `path`, at most `limit` bytes of it.
pub fn read_regular(path: &Path, limit: u64) -> io::Result<String> {
    let mut text = Vec::new();
    open_regular(path)?.take(limit).read_to_end(&mut text)?;
    Ok(String::from_utf8_lossy(&text).into_owned())
}

/// Move every regular file under `from` to the same place under `to` (created as needed);
/// directories stay, links and other entries are dropped. Returns how many files moved.
pub fn take_out(from: &Path, to: &Path) -> io::Result<usize> {
    let mut moved = 0;
    let Ok(entries) = fs::read_dir(from) else { return Ok(0) };
    for entry in entries {
        let entry = entry?;
        let (src, dest) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_dir() {
            moved += take_out(&src, &dest)?;
            continue;
        }
        if kind.is_file() {
            fs::create_dir_all(to)?;
            let mut file = open_regular(&src)?;
            let mut out = fs::File::create(&dest)?;
            io::copy(&mut file, &mut out)?;
            moved += 1;
        }
        fs::remove_file(&src)?;
    }
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_keep_links_as_links_and_taking_out_skips_them() {
        let d = tempfile::tempdir().unwrap();
        let src = d.path().join("src");
        fs::create_dir_all(src.join("sub")).unwrap();
        fs::write(src.join("sub/a.txt"), "a").unwrap();
        fs::write(src.join("run"), "#!/bin/sh\n").unwrap();
        fs::set_permissions(src.join("run"), fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::symlink("/etc/hostname", src.join("link")).unwrap();
        let dest = d.path().join("dest");
        copy_tree(&src, &dest, None).unwrap();
        assert_eq!(fs::read_to_string(dest.join("sub/a.txt")).unwrap(), "a");
        assert_eq!(fs::metadata(dest.join("run")).unwrap().permissions().mode() & 0o777, 0o755);
        assert_eq!(fs::read_link(dest.join("link")).unwrap(), Path::new("/etc/hostname"));

        let out = d.path().join("out");
        assert_eq!(take_out(&dest, &out).unwrap(), 2, "the link is not taken out");
        assert!(!out.join("link").exists() && fs::symlink_metadata(dest.join("link")).is_err());
        assert_eq!(fs::read_to_string(out.join("sub/a.txt")).unwrap(), "a");
        assert!(!dest.join("sub/a.txt").exists(), "moved, not copied");
        assert!(read_regular(&src.join("link"), 100).is_err(), "a link is never read through");
        assert_eq!(read_regular(&src.join("sub/a.txt"), 100).unwrap(), "a");
    }
}
