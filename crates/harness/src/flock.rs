//! `flock(2)` on a file: the kernel releases the lock when the holding process dies, even by
//! `kill -9`, so no lock taken this way can go stale.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

/// Take an exclusive lock on `file`, waiting for it.
pub fn exclusive(file: &File) -> io::Result<()> {
    flock(file, libc::LOCK_EX)
}

/// Take a shared lock on `file`, waiting while someone holds it exclusively.
pub fn shared(file: &File) -> io::Result<()> {
    flock(file, libc::LOCK_SH)
}

/// Take a shared lock on `file` unless someone holds it exclusively: `Ok(false)` when someone does.
pub fn try_shared(file: &File) -> io::Result<bool> {
    would_block(flock(file, libc::LOCK_SH | libc::LOCK_NB))
}

/// Take an exclusive lock on `file` if nobody holds it: `Ok(false)` when someone does.
pub fn try_exclusive(file: &File) -> io::Result<bool> {
    would_block(flock(file, libc::LOCK_EX | libc::LOCK_NB))
}

/// Whether some process holds an exclusive lock on `file`.
pub fn is_held(file: &File) -> io::Result<bool> {
    let free = would_block(flock(file, libc::LOCK_SH | libc::LOCK_NB))?;
    if free {
        flock(file, libc::LOCK_UN)?;
    }
    Ok(!free)
}

fn would_block(r: io::Result<()>) -> io::Result<bool> {
    match r {
        Ok(()) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::EWOULDBLOCK) => Ok(false),
        Err(e) => Err(e),
    }
}

fn flock(file: &File, op: libc::c_int) -> io::Result<()> {
    // SAFETY: the descriptor belongs to `file`, which outlives the call.
    if unsafe { libc::flock(file.as_raw_fd(), op) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
