//! How the processes of one host command are held, applied in the forked child before `exec`
//! (all of it async-signal-safe: raw system calls on data prepared in the parent, no allocation).
//!
//! - [`Confinement::Session`] (ccci not root): the command gets its own session, dies with the
//!   thread that started it (`PR_SET_PDEATHSIG`), and its process group is killed when it ends.
//! - [`Confinement::Namespaces`] (ccci is root): three processes. The child *C* that `spawn`
//!   made enters the run's network namespace (sandboxed code), new PID, mount and IPC namespaces
//!   and waits; its child *I* is PID 1 of the new
//!   PID namespace, mounts a private `/proc` (and, for pull-request code, the sandbox) and waits
//!   for its child *P*, the command (switched to the runner user when sandboxed). When *I* ends,
//!   the kernel kills every process left in its namespace, however it was started (`setsid`,
//!   double fork, cleared environment); *I* dies with *C* and *C* with `ccci` (both by
//!   `PR_SET_PDEATHSIG`, which a change of user would clear: that is why *I* stays root and only
//!   *P* changes user). A timeout, a cancel or a `kill -9` of ccci (or of the server above it)
//!   so leaves no process of the command behind.

use std::ffi::{CStr, CString};
use std::io;

use super::runner::Runner;

/// How a command's processes are held.
pub enum Confinement {
    /// Own session and process group, dies with ccci.
    Session,
    /// Own PID, mount and IPC namespaces; with [`Sandboxed`], also the sandbox's view of the
    /// file system and the runner user.
    Namespaces(Option<Box<Sandboxed>>),
}

/// What the sandbox mounts and whom the command runs as; prepared in the parent. Sources are
/// paths, not descriptors: a bind mount's source must be in the caller's (new) mount namespace,
/// and every one of them lies in directories only root can change.
pub struct Sandboxed {
    pub runner: Runner,
    /// The run's network namespace (`super::network`), entered before the others.
    pub network: Option<libc::c_int>,
    /// The working directory, as seen inside.
    pub cwd: CString,
    /// The run's sandbox directory, mounted at `inside`.
    pub sandbox: CString,
    pub inside: CString,
    /// The ccci executable, mounted read-only at `exe_target` (inside).
    pub exe: CString,
    pub exe_target: CString,
    /// Paths covered by an empty, inaccessible directory (`true`) or file (`false`).
    pub masks: Vec<(CString, bool)>,
    pub mask_dir: CString,
    pub mask_file: CString,
    /// Shared writable directories given a private, empty tmpfs (`/dev/shm`, `/var/tmp`,
    /// `/run/lock`).
    pub private_tmpfs: Vec<CString>,
}

impl Confinement {
    /// Apply to `cmd` (before it is spawned).
    pub fn apply(self, cmd: &mut tokio::process::Command) {
        let prepared = Prepared::new(self);
        // SAFETY: the closure runs in the forked child before exec and only makes system calls
        // on memory prepared here (no allocation, no locks); see `Prepared::in_child`.
        unsafe {
            cmd.pre_exec(move || prepared.in_child());
        }
    }
}

/// The confinement as the child reads it.
struct Prepared {
    namespaces: bool,
    sandboxed: Option<Box<Sandboxed>>,
}

fn c(s: &str) -> CString {
    CString::new(s).unwrap_or_default()
}

impl Prepared {
    fn new(confinement: Confinement) -> Prepared {
        match confinement {
            Confinement::Session => Prepared { namespaces: false, sandboxed: None },
            Confinement::Namespaces(sandboxed) => Prepared { namespaces: true, sandboxed },
        }
    }

    /// In the child *C*. Returns only in the process that is to exec the command; errors before
    /// that reach `spawn`'s caller.
    fn in_child(&self) -> io::Result<()> {
        // SAFETY (whole body): system calls with valid arguments, in a single-threaded child.
        unsafe {
            check(libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL))?;
            check(libc::setsid())?;
            if !self.namespaces {
                return Ok(());
            }
            libc::signal(libc::SIGCHLD, libc::SIG_DFL);
            if let Some(fd) = self.sandboxed.as_ref().and_then(|s| s.network) {
                check(libc::setns(fd, libc::CLONE_NEWNET))?;
            }
            check(libc::unshare(libc::CLONE_NEWPID | libc::CLONE_NEWNS | libc::CLONE_NEWIPC))?;
            let mut alive = [0; 2];
            check(libc::pipe2(alive.as_mut_ptr(), libc::O_CLOEXEC))?;
            let init = check(libc::fork())?;
            if init > 0 {
                // C: hold the write end of `alive` (I notices if C is gone), nothing else.
                libc::close(alive[0]);
                close_all_but(alive[1]);
                libc::_exit(wait_exit_code(init));
            }
            // I: PID 1 of the new namespace.
            libc::close(alive[1]);
            check(libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL))?;
            let mut poll = libc::pollfd { fd: alive[0], events: libc::POLLIN, revents: 0 };
            if libc::poll(&mut poll, 1, 0) != 0 {
                // C died before the death signal was set: nobody would stop us.
                libc::_exit(137);
            }
            libc::close(alive[0]);
            mount(None, c"/", None, libc::MS_REC | libc::MS_PRIVATE, None)?;
            if let Some(s) = &self.sandboxed {
                mount_sandbox(s)?;
            }
            let proc_flags = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
            mount(Some(c"proc"), c"/proc", Some(c"proc"), proc_flags, None)?;
            let program = check(libc::fork())?;
            if program > 0 {
                close_all_but(-1);
                libc::_exit(reap_until(program));
            }
            // P: the command.
            if let Some(s) = &self.sandboxed {
                check(libc::setgroups(0, std::ptr::null()))?;
                check(libc::setresgid(s.runner.gid, s.runner.gid, s.runner.gid))?;
                check(libc::setresuid(s.runner.uid, s.runner.uid, s.runner.uid))?;
                check(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))?;
                check(libc::chdir(s.cwd.as_ptr()))?;
            }
            Ok(())
        }
    }
}

/// The sandbox's view: the run's directory over `/tmp`, ccci inside it, masks over what must
/// stay out of sight, private shared memory, `/var/tmp` and `/run/lock`.
fn mount_sandbox(s: &Sandboxed) -> io::Result<()> {
    let bind = |src: &CStr, target: &CStr| mount(Some(src), target, None, libc::MS_BIND, None);
    let remount =
        |target: &CStr, flags: libc::c_ulong| mount(None, target, None, libc::MS_REMOUNT | libc::MS_BIND | flags, None);
    bind(&s.sandbox, &s.inside)?;
    remount(&s.inside, libc::MS_NOSUID | libc::MS_NODEV)?;
    bind(&s.exe, &s.exe_target)?;
    remount(&s.exe_target, libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV)?;
    for (target, is_dir) in &s.masks {
        let src = if *is_dir { &s.mask_dir } else { &s.mask_file };
        // A path that is gone from this view (it was under /tmp) needs no mask.
        if let Err(e) = bind(src, target) {
            if e.raw_os_error() != Some(libc::ENOENT) {
                return Err(e);
            }
        }
    }
    for target in &s.private_tmpfs {
        mount(Some(c"tmpfs"), target, Some(c"tmpfs"), libc::MS_NOSUID | libc::MS_NODEV, Some(c"mode=1777"))?;
    }
    Ok(())
}

/// Built for the child: `c(..)` strings for a sandbox's paths.
pub fn cstring(path: &std::path::Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, format!("{} holds a NUL byte", path.display())))
}

/// A fixed C string (for constants known to hold no NUL).
pub fn fixed(s: &str) -> CString {
    c(s)
}

/// mount(2) with optional source, file system type and data.
fn mount(
    src: Option<&CStr>,
    target: &CStr,
    fstype: Option<&CStr>,
    flags: libc::c_ulong,
    data: Option<&CStr>,
) -> io::Result<()> {
    let ptr = |s: Option<&CStr>| s.map_or(std::ptr::null(), CStr::as_ptr);
    // SAFETY: every pointer is null or a valid NUL-terminated string for the duration of the call.
    let rc = unsafe { libc::mount(ptr(src), target.as_ptr(), ptr(fstype), flags, ptr(data).cast()) };
    check(rc).map(drop)
}

fn check<T: Default + PartialOrd>(rc: T) -> io::Result<T> {
    if rc < T::default() {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// Close every descriptor (stdio included) but `keep`.
unsafe fn close_all_but(keep: libc::c_int) {
    let close_range = |lo: libc::c_int, hi: libc::c_uint| {
        if lo as libc::c_uint <= hi && libc::syscall(libc::SYS_close_range, lo as libc::c_uint, hi, 0) != 0 {
            // Kernels before 5.9: one by one.
            for fd in lo..(hi.min(4096) as libc::c_int + 1) {
                libc::close(fd);
            }
        }
    };
    if keep < 0 {
        close_range(0, libc::c_uint::MAX);
    } else {
        if keep > 0 {
            close_range(0, (keep - 1) as libc::c_uint);
        }
        close_range(keep + 1, libc::c_uint::MAX);
    }
}

/// The exit code that mirrors a wait status: the code, or 128 + the signal.
fn exit_code(status: libc::c_int) -> libc::c_int {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        1
    }
}

unsafe fn errno() -> libc::c_int {
    *libc::__errno_location()
}

/// Wait for `pid` (C's only child); its exit code.
unsafe fn wait_exit_code(pid: libc::pid_t) -> libc::c_int {
    let mut status = 0;
    loop {
        let r = libc::waitpid(pid, &mut status, 0);
        if r == pid {
            return exit_code(status);
        }
        if r < 0 && errno() != libc::EINTR {
            return 1;
        }
    }
}

/// As PID 1: reap every child (orphans of the namespace come to it) until `pid` ends; its code.
unsafe fn reap_until(pid: libc::pid_t) -> libc::c_int {
    let mut status = 0;
    loop {
        let r = libc::waitpid(-1, &mut status, 0);
        if r == pid {
            return exit_code(status);
        }
        if r < 0 && errno() != libc::EINTR {
            return 1;
        }
    }
}

/// The capabilities sandboxing needs ccci to hold (number, name): the namespaces and the sandbox's
/// mounts, the loopback of its network namespace, switching to the runner user.
pub const SANDBOX_CAPABILITIES: [(u32, &str); 4] =
    [(21, "CAP_SYS_ADMIN"), (12, "CAP_NET_ADMIN"), (7, "CAP_SETUID"), (6, "CAP_SETGID")];

/// Which of `caps` this process lacks in its effective set (all of them when it cannot tell).
pub fn missing_capabilities(caps: &[(u32, &'static str)]) -> Vec<&'static str> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let effective = status.lines().find_map(|l| l.strip_prefix("CapEff:")).map(str::trim);
    let held = effective.and_then(|hex| u64::from_str_radix(hex, 16).ok()).unwrap_or(0);
    caps.iter().filter(|(bit, _)| held & (1 << bit) == 0).map(|(_, name)| *name).collect()
}

/// Whether this process may make PID and mount namespaces: it holds `CAP_SYS_ADMIN` (a root
/// inside an unprivileged container does not).
pub fn can_make_namespaces() -> bool {
    missing_capabilities(&SANDBOX_CAPABILITIES[..1]).is_empty()
}

/// Kill what is left of a [`Confinement::Session`] command's process group (its leader is `pid`).
pub fn kill_session(pid: u32) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill with a negative pid signals that process group; ESRCH when it is gone.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
}
