//! Child processes that must not outlive the process that started them: `docker stack deploy`
//! started by a run that is then killed, or a `ccci test` started by a server that is then killed,
//! would otherwise go on creating objects nobody watches.

/// Makes the child get SIGKILL when the thread that started it ends (Linux `PR_SET_PDEATHSIG`).
/// Start such children from long-lived threads (an async runtime's workers, the main thread).
pub fn die_with_parent(cmd: &mut tokio::process::Command) {
    // SAFETY: the closure runs in the forked child before exec and only calls prctl, which is
    // async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}
