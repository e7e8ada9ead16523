//! The sandbox pull-request code runs in (SPEC V9): the recipe's tests, the host hooks of its own
//! `ccci.toml`, and the screenshot browser (it opens pages the pull request serves).
//!
//! Each run has a directory `<data>/sandbox/<run>`: copies of the recipe and its tests (and the
//! CI tree's tests), a `HOME` whose NSS database trusts the run's CA, `tmp/` (`TMPDIR`),
//! `artifacts/` (`CCCI_ARTIFACTS`, taken out after every command), the CA bundle, and the Unix
//! socket of the run's capability (`crate::capability`: exec into this run's services, read this
//! run's secrets). When ccci runs as root and the runner user exists, every such command runs
//! *sandboxed*: as that user, with no supplementary groups and `no_new_privs`, with an
//! environment built from an allowlist only, in its own PID, mount and IPC namespaces
//! (`confine`) and the run's network namespace, whose only way out is the proxy (`network`), where
//! the run's directory is `/tmp`, ccci is `/tmp/bin/ccci`, the data directory and the paths of
//! `CCCI_SANDBOX_HIDE` are covered by inaccessible masks, and `/dev/shm`, `/var/tmp` and
//! `/run/lock` are private. It cannot read the server's token, secrets, config or store, other
//! runs, or reach the Docker socket (root's and the docker group's), and nothing of it outlives
//! the command. Otherwise (a maintainer's machine) commands run as the invoking user with the
//! same cleared environment and their own session, and the run says so; a server requires the
//! sandbox. Hooks and tests of the CI's own tree run *trusted* (as ccci's user with its
//! environment) when its config says `trusted = true`.

pub mod confine;
pub mod files;
pub mod network;
pub mod peek;
pub mod runner;

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use confine::{Confinement, Sandboxed};
use runner::Runner;

/// Where sandboxed code sees the run's sandbox directory.
pub const INSIDE: &str = "/tmp";
/// Names the run's capability socket in the environment of host commands.
pub const SOCKET_ENV: &str = "CCCI_RUN_SOCKET";
/// Colon-separated paths sandboxed code must not see, besides the data directory (the server
/// names its config, token and webhook secret files).
pub const HIDE_ENV: &str = "CCCI_SANDBOX_HIDE";
/// The `PATH` of sandboxed code (after ccci's own directory); default [`DEFAULT_PATH`].
pub const PATH_ENV: &str = "CCCI_SANDBOX_PATH";
/// Where the declared toolset (`packaging/toolset`) is installed on Debian.
pub const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";
const SOCKET: &str = "ccci.sock";
/// Shared directories sandboxed code gets a private, empty copy of.
const PRIVATE_TMPFS: [&str; 3] = ["/dev/shm", "/var/tmp", "/run/lock"];

/// How pull-request code must be held (`ccci test --sandbox`, the server's runs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxPolicy {
    /// The unprivileged user it runs as.
    pub runner_user: String,
    /// Refuse the run when it cannot be sandboxed (the server), rather than running it as the
    /// invoking user with a cleared environment (a maintainer's machine).
    pub required: bool,
}

impl Default for SandboxPolicy {
    fn default() -> Self {
        SandboxPolicy { runner_user: runner::RUNNER_USER.into(), required: false }
    }
}

/// How this run holds untrusted commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// As the runner user, in namespaces with the sandbox's mounts.
    Sandboxed(Runner),
    /// ccci is root but has no runner user: as root, in namespaces, cleared environment.
    RootNoRunner,
    /// ccci is not root, or cannot make namespaces (a container without `CAP_SYS_ADMIN`): as its
    /// user, in a session of its own, cleared environment.
    Invoker,
}

/// A command for the CI host, its paths as the command sees them ([`Sandbox::seen`]).
#[derive(Debug, Clone)]
pub struct HostCommand {
    pub program: PathBuf,
    pub args: Vec<String>,
    /// The working directory.
    pub dir: PathBuf,
    /// The whole environment when untrusted; added to ccci's own when trusted.
    pub env: BTreeMap<String, String>,
    /// Runs outside the sandbox (the CI tree's, with `trusted = true`).
    pub trusted: bool,
}

/// A spawned host command's process handling.
pub struct Spawned {
    pub command: tokio::process::Command,
    /// Its process group is to be killed once it ends (no namespace does it).
    pub kill_group: bool,
}

/// One run's sandbox.
#[derive(Debug)]
pub struct Sandbox {
    dir: PathBuf,
    mode: Mode,
    runner_name: String,
    exe: PathBuf,
    /// What sandboxed code must not see, with whether each is a directory.
    masks: Vec<(PathBuf, bool)>,
    mask_dir: PathBuf,
    mask_file: PathBuf,
    ca: Option<PathBuf>,
    listener: tokio::net::UnixListener,
    /// Sandboxed commands' network (none unless sandboxed).
    network: Option<network::Network>,
}

/// What the sandbox is made from.
pub struct Inputs<'a> {
    pub data_dir: &'a Path,
    pub run_id: &'a str,
    pub policy: &'a SandboxPolicy,
    /// The recipe's private checkout, copied in as `recipe/`.
    pub recipe: &'a Path,
    /// The recipe's tests snapshot, copied in as `tests/`.
    pub tests: &'a Path,
    /// The CI tree's tests for the recipe, copied in as `ci-tests/`.
    pub ci_tests: Option<&'a Path>,
    /// The run's CA bundle.
    pub ca: Option<&'a Path>,
    /// The port of the app's URL: where sandboxed code finds the proxy on its own loopback.
    pub proxy_port: u16,
}

/// `<data>/sandbox`: every run's sandbox directory.
pub fn root_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("sandbox")
}

impl Sandbox {
    /// Decide how this run holds pull-request code, and make its directory and socket. Must run
    /// inside a tokio runtime. A required sandbox that cannot be had is an error saying why.
    pub fn open(inputs: Inputs<'_>) -> Result<Sandbox, String> {
        let name = &inputs.policy.runner_user;
        let mode = if !runner::is_root() || !confine::can_make_namespaces() {
            if inputs.policy.required {
                return Err(format!(
                    "pull-request code must run sandboxed, which needs ccci to run as root with CAP_SYS_ADMIN (it \
                     makes namespaces and switches to {name})"
                ));
            }
            Mode::Invoker
        } else {
            match runner::lookup(name)? {
                Some(r) => Mode::Sandboxed(r),
                None if inputs.policy.required => {
                    return Err(format!(
                        "pull-request code must run sandboxed as the user {name}, which does not exist: create it \
                         (`ccci server init` does; or `useradd --system --user-group --no-create-home --home-dir \
                         /nonexistent --shell /usr/sbin/nologin {name}`)"
                    ))
                }
                None => Mode::RootNoRunner,
            }
        };
        let network = match mode {
            Mode::Sandboxed(_) => Some(network::Network::open(inputs.proxy_port).map_err(|e| {
                format!(
                    "cannot make the run's network namespace for pull-request code: {e} (ccci needs \
                     CAP_SYS_ADMIN and CAP_NET_ADMIN: the systemd unit of the package grants both)"
                )
            })?),
            _ => None,
        };
        let exe = std::env::current_exe().map_err(|e| format!("cannot find the ccci executable: {e}"))?;
        let root = root_dir(inputs.data_dir);
        let dir = root.join(inputs.run_id);
        let owner = match mode {
            Mode::Sandboxed(r) => Some(r),
            _ => None,
        };
        let (ca, listener) = make(&root, &dir, owner, &inputs)
            .map_err(|e| format!("cannot make the run's sandbox {}: {e}", dir.display()))?;
        let mut masks = Vec::new();
        if let Some(hide) = std::env::var_os(HIDE_ENV) {
            for path in std::env::split_paths(&hide).filter(|p| p.is_absolute()) {
                if let Ok(meta) = fs::metadata(&path) {
                    masks.push((path, meta.is_dir()));
                }
            }
        }
        // Last: the masks themselves lie in the data directory.
        masks.push((inputs.data_dir.to_path_buf(), true));
        Ok(Sandbox {
            dir,
            mode,
            runner_name: name.clone(),
            exe,
            masks,
            mask_dir: root.join(".mask"),
            mask_file: root.join(".mask-file"),
            ca,
            listener,
            network,
        })
    }

    /// What the run's log should say about how pull-request code runs.
    pub fn describe(&self) -> String {
        let name = &self.runner_name;
        match self.mode {
            Mode::Sandboxed(_) => format!("recipe tests and host hooks run sandboxed as {name}"),
            Mode::RootNoRunner => format!(
                "NOT SANDBOXED: the user {name} does not exist, so recipe tests and host hooks run as root (with a \
                 cleared environment, in namespaces of their own); create {name} to sandbox them"
            ),
            Mode::Invoker => format!(
                "not sandboxed: ccci is not root with CAP_SYS_ADMIN, so recipe tests and host hooks run as {} \
                 with a cleared environment in a session of their own (a server runs them as {name})",
                runner::user_name(
                    // SAFETY: getuid has no preconditions.
                    unsafe { libc::getuid() }
                )
            ),
        }
    }

    /// Whether a command of this trust runs sandboxed.
    fn confines(&self, trusted: bool) -> bool {
        !trusted && matches!(self.mode, Mode::Sandboxed(_))
    }

    /// The run's sandbox directory on the host.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The recipe's tests (copied in), on the host.
    pub fn tests_dir(&self) -> PathBuf {
        self.dir.join("tests")
    }

    /// The CI tree's tests (copied in), on the host.
    pub fn ci_tests_dir(&self) -> PathBuf {
        self.dir.join("ci-tests")
    }

    /// Where a command of this trust finds the host path `path` (a sandboxed one sees the
    /// sandbox directory at [`INSIDE`]).
    pub fn seen(&self, path: &Path, trusted: bool) -> PathBuf {
        match path.strip_prefix(&self.dir) {
            Ok(rel) if self.confines(trusted) => Path::new(INSIDE).join(rel),
            _ => path.to_path_buf(),
        }
    }

    /// Carry sandboxed code's connections for `hosts` (the run's apps) to the proxy at `target`
    /// (`host:port`).
    pub fn route_proxy(&self, target: String, hosts: impl IntoIterator<Item = String>) {
        if let Some(network) = &self.network {
            network.route_to(target, hosts);
        }
    }

    /// The hosts sandboxed code asked the proxy for and was refused since the last call.
    pub fn refused_hosts(&self) -> Vec<String> {
        self.network.as_ref().map(network::Network::take_refused).unwrap_or_default()
    }

    /// Where a command of this trust reaches the proxy, when that differs from the host's view
    /// (sandboxed: its own loopback, carried to the proxy).
    pub fn proxy_seen(&self, trusted: bool) -> Option<std::net::SocketAddr> {
        self.network.as_ref().filter(|_| self.confines(trusted)).map(network::Network::inside)
    }

    /// The capability socket's listener (`crate::capability` serves it during host commands).
    pub fn listener(&self) -> &tokio::net::UnixListener {
        &self.listener
    }

    /// The environment every host command of this trust gets from the sandbox: `PATH`, `HOME`,
    /// `TMPDIR`, `LANG` and the user's name, `CCCI_BIN`, `CCCI_RUN_SOCKET`, `CCCI_RUN_DIR`,
    /// `CCCI_ARTIFACTS` and, with a CA, the variables ordinary clients trust it by.
    pub fn base_env(&self, trusted: bool) -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        let root = self.seen(&self.dir, trusted);
        let at = |rel: &str| root.join(rel).to_string_lossy().into_owned();
        let parent = |key: &str| std::env::var(key).ok();
        if self.confines(trusted) {
            let path = parent(PATH_ENV).unwrap_or_else(|| DEFAULT_PATH.into());
            env.insert("PATH".into(), format!("{}:{path}", at("bin")));
            env.insert("CCCI_BIN".into(), at("bin/ccci"));
            env.insert("USER".into(), self.runner_name.clone());
            env.insert("LOGNAME".into(), self.runner_name.clone());
        } else {
            let exe_dir = self.exe.parent().map(|d| d.to_string_lossy().into_owned()).unwrap_or_default();
            let path = parent("PATH").map_or(exe_dir.clone(), |p| format!("{exe_dir}:{p}"));
            env.insert("PATH".into(), path);
            env.insert("CCCI_BIN".into(), self.exe.to_string_lossy().into_owned());
            for key in ["USER", "LOGNAME"] {
                if let Some(v) = parent(key) {
                    env.insert(key.into(), v);
                }
            }
        }
        if !trusted {
            env.insert("LANG".into(), parent("LANG").unwrap_or_else(|| "C.UTF-8".into()));
        }
        env.insert("HOME".into(), at("home"));
        env.insert("TMPDIR".into(), at("tmp"));
        env.insert(SOCKET_ENV.into(), at(SOCKET));
        env.insert(crate::secrets_file::RUN_DIR_ENV.into(), root.to_string_lossy().into_owned());
        env.insert("CCCI_ARTIFACTS".into(), at("artifacts"));
        if self.ca.is_some() {
            // So ordinary clients (curl, Python's ssl and requests, OpenSSL) verify without flags.
            for key in ["CCCI_CA_BUNDLE", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"] {
                env.insert(key.into(), at("ca.pem"));
            }
        }
        env
    }

    /// Make `HOME`'s NSS database trust the run's CA (Chromium reads nothing else); why not.
    pub fn trust_ca_in_home(&self) -> Result<(), String> {
        let Some(ca) = &self.ca else { return Ok(()) };
        let home = crate::browser_home::ensure(&self.dir, ca)?;
        files::give_tree(&home, self.runner()).map_err(|e| format!("cannot give {} to the runner: {e}", home.display()))
    }

    fn runner(&self) -> Option<Runner> {
        match self.mode {
            Mode::Sandboxed(r) => Some(r),
            _ => None,
        }
    }

    /// Write a file of ccci's into the sandbox (root's, readable by all); its path on the host.
    pub fn put(&self, name: &str, text: &str) -> io::Result<PathBuf> {
        let path = self.dir.join(name);
        let _ = fs::remove_file(&path);
        fs::OpenOptions::new().write(true).create_new(true).mode(0o644).open(&path)?;
        fs::write(&path, text)?;
        // Whatever ccci's umask (the unit's is 0027), the runner reads it.
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644))?;
        Ok(path)
    }

    /// The process for `cmd`, confined as its trust and this run ask.
    pub fn command(&self, cmd: &HostCommand) -> io::Result<Spawned> {
        let mut command = tokio::process::Command::new(&cmd.program);
        command.args(&cmd.args).stdin(std::process::Stdio::null()).kill_on_drop(true);
        if !cmd.trusted {
            command.env_clear();
        }
        command.envs(&cmd.env);
        let confinement = match self.mode {
            Mode::Sandboxed(runner) if self.confines(cmd.trusted) => {
                Confinement::Namespaces(Some(Box::new(self.sandboxed(runner, &cmd.dir)?)))
            }
            Mode::Invoker => Confinement::Session,
            _ => Confinement::Namespaces(None),
        };
        if !self.confines(cmd.trusted) {
            command.current_dir(&cmd.dir);
        }
        let kill_group = matches!(confinement, Confinement::Session);
        confinement.apply(&mut command);
        Ok(Spawned { command, kill_group })
    }

    /// The mounts and user of a sandboxed command working in `cwd` (as seen inside).
    fn sandboxed(&self, runner: Runner, cwd: &Path) -> io::Result<Sandboxed> {
        let inside = Path::new(INSIDE);
        Ok(Sandboxed {
            runner,
            network: self.network.as_ref().map(network::Network::descriptor),
            cwd: confine::cstring(cwd)?,
            sandbox: confine::cstring(&self.dir)?,
            inside: confine::cstring(inside)?,
            exe: confine::cstring(&self.exe)?,
            exe_target: confine::cstring(&inside.join("bin/ccci"))?,
            masks: self.masks.iter().map(|(p, dir)| Ok((confine::cstring(p)?, *dir))).collect::<io::Result<_>>()?,
            mask_dir: confine::cstring(&self.mask_dir)?,
            mask_file: confine::cstring(&self.mask_file)?,
            private_tmpfs: PRIVATE_TMPFS
                .iter()
                .map(Path::new)
                .filter(|p| p.is_dir())
                .map(confine::cstring)
                .collect::<io::Result<_>>()?,
        })
    }

    /// Move what the last command left in `artifacts/` to `dest`; how many files.
    pub fn take_artifacts(&self, dest: &Path) -> io::Result<usize> {
        files::take_out(&self.dir.join("artifacts"), dest)
    }

    /// Remove the sandbox directory (at the end of the run).
    pub fn discard(&self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// The directory tree of a run's sandbox (given to `owner` where the runner writes) and its socket.
fn make(
    root: &Path,
    dir: &Path,
    owner: Option<Runner>,
    inputs: &Inputs<'_>,
) -> io::Result<(Option<PathBuf>, tokio::net::UnixListener)> {
    fs::DirBuilder::new().recursive(true).mode(0o700).create(root)?;
    fs::set_permissions(root, fs::Permissions::from_mode(0o700))?;
    if owner.is_some() {
        let mask_dir = root.join(".mask");
        fs::DirBuilder::new().recursive(true).mode(0o000).create(&mask_dir)?;
        fs::set_permissions(&mask_dir, fs::Permissions::from_mode(0o000))?;
        let mask_file = root.join(".mask-file");
        fs::OpenOptions::new().create(true).truncate(false).write(true).mode(0o000).open(&mask_file)?;
        fs::set_permissions(&mask_file, fs::Permissions::from_mode(0o000))?;
    }
    let _ = fs::remove_dir_all(dir);
    // Sandboxed, the directory is the command's /tmp: root's, sticky and open to all (only
    // this run's namespaces reach it), so the runner cannot replace what ccci put there.
    let top = if owner.is_some() { 0o1777 } else { 0o700 };
    fs::DirBuilder::new().mode(0o700).create(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(top))?;
    for (sub, mode) in [("home", 0o700), ("tmp", 0o700), ("artifacts", 0o755)] {
        fs::DirBuilder::new().mode(mode).create(dir.join(sub))?;
        files::give(&dir.join(sub), owner)?;
    }
    if owner.is_some() {
        fs::DirBuilder::new().mode(0o755).create(dir.join("bin"))?;
        fs::OpenOptions::new().create(true).truncate(false).write(true).mode(0o755).open(dir.join("bin/ccci"))?;
    }
    for (from, to) in [(Some(inputs.recipe), "recipe"), (Some(inputs.tests), "tests"), (inputs.ci_tests, "ci-tests")] {
        if let Some(from) = from.filter(|p| p.is_dir()) {
            files::copy_tree(from, &dir.join(to), owner)?;
        }
    }
    let ca = match inputs.ca {
        Some(ca) => {
            let copy = dir.join("ca.pem");
            fs::copy(ca, &copy)?;
            fs::set_permissions(&copy, fs::Permissions::from_mode(0o644))?;
            Some(copy)
        }
        None => None,
    };
    let socket = dir.join(SOCKET);
    let listener = tokio::net::UnixListener::bind(&socket)?;
    fs::set_permissions(&socket, fs::Permissions::from_mode(0o600))?;
    files::give(&socket, owner)?;
    Ok((ca, listener))
}

/// Remove the sandbox directories of runs that are not live (killed ones); their names.
pub fn reap_dead(data_dir: &Path, live_dir: &Path) -> Vec<String> {
    let mut reaped = Vec::new();
    for entry in fs::read_dir(root_dir(data_dir)).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if crate::run_id::is_valid(&name)
            && !crate::liveness::is_live(live_dir, &name)
            && fs::remove_dir_all(entry.path()).is_ok()
        {
            reaped.push(name);
        }
    }
    reaped
}

#[cfg(test)]
mod tests {
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    use tokio::io::AsyncBufReadExt;

    use super::*;

    /// A required sandbox for a run in `data`, or `None` (said) where this machine cannot
    /// sandbox: it takes root with `CAP_SYS_ADMIN` and the runner user.
    fn sandbox(data: &Path) -> Option<Sandbox> {
        let able = runner::is_root() && confine::can_make_namespaces();
        if !able || !matches!(runner::lookup(runner::RUNNER_USER), Ok(Some(_))) {
            eprintln!("skipped: sandboxing needs root with CAP_SYS_ADMIN and the user {}", runner::RUNNER_USER);
            return None;
        }
        let src = data.join("src");
        fs::create_dir_all(src.join("tests")).unwrap();
        let policy = SandboxPolicy { required: true, ..SandboxPolicy::default() };
        let inputs = Inputs {
            data_dir: data,
            run_id: "20261201t000000-abcdef",
            policy: &policy,
            recipe: &src,
            tests: &src.join("tests"),
            ci_tests: None,
            ca: None,
            proxy_port: 0,
        };
        Some(Sandbox::open(inputs).unwrap())
    }

    fn shell(sandbox: &Sandbox, script: &str, trusted: bool) -> HostCommand {
        HostCommand {
            program: "sh".into(),
            args: vec!["-c".into(), script.into()],
            dir: sandbox.seen(sandbox.dir(), trusted),
            env: sandbox.base_env(trusted),
            trusted,
        }
    }

    fn mark() -> String {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos().to_string()
    }

    /// How many processes have `needle` in their command line.
    fn processes_mentioning(needle: &str) -> usize {
        fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| fs::read(e.path().join("cmdline")).is_ok_and(|c| String::from_utf8_lossy(&c).contains(needle)))
            .count()
    }

    /// How many processes mention `needle` once `n` do (a forked child shows its command line only
    /// once its exec is done); the count seen last if that takes over 10 s.
    async fn until_mentioned_by(needle: &str, n: usize) -> usize {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let seen = processes_mentioning(needle);
            if seen == n || Instant::now() > deadline {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Until no process mentions `needle` (the kernel kills a namespace's processes
    /// asynchronously); false if some are still there after 10 s.
    async fn all_gone(needle: &str) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while processes_mentioning(needle) > 0 {
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        true
    }

    #[tokio::test]
    async fn sandboxed_code_runs_as_the_runner_with_only_its_environment_and_leaves_no_process() {
        let data = tempfile::tempdir().unwrap();
        let Some(sandbox) = sandbox(data.path()) else { return };
        let mark = mark();
        let left = ["/var/tmp", "/run/lock", "/dev/shm"].map(|d| format!("{d}/ccci-sandbox-test-{mark}"));
        let script = format!(
            "id -u; id -G; env; touch {}; setsid sleep 3600.{mark} & (sleep 3601.{mark} &); echo done",
            left.join(" ")
        );
        let cmd = shell(&sandbox, &script, false);
        let mut spawned = sandbox.command(&cmd).unwrap();
        let out = spawned.command.stdout(Stdio::piped()).stderr(Stdio::piped()).output().await.unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
        let runner = runner::lookup(runner::RUNNER_USER).unwrap().unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some(runner.uid.to_string().as_str()), "{text}");
        assert_eq!(lines.next(), Some(runner.gid.to_string().as_str()), "no supplementary groups: {text}");
        for key in lines.filter_map(|l| l.split_once('=')).map(|(k, _)| k) {
            assert!(cmd.env.contains_key(key) || key == "PWD", "{key} reached the sandbox: {text}");
        }
        assert!(text.contains("PATH=/tmp/bin:") && text.ends_with("done\n"), "{text}");
        assert!(all_gone(&mark).await, "a detached process outlived its command");
        for file in left {
            assert!(!Path::new(&file).exists(), "{file} is the host's, not the sandbox's own");
        }
    }

    #[tokio::test]
    async fn dropping_a_sandboxed_command_kills_every_process_it_started() {
        let data = tempfile::tempdir().unwrap();
        let Some(sandbox) = sandbox(data.path()) else { return };
        let mark = mark();
        let script = format!(
            "setsid sleep 3600.{mark} & nohup sleep 3601.{mark} >/dev/null 2>&1 & echo ready; exec sleep 3602.{mark}"
        );
        let mut spawned = sandbox.command(&shell(&sandbox, &script, false)).unwrap();
        let mut child = spawned.command.stdout(Stdio::piped()).spawn().unwrap();
        let mut stdout = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        assert_eq!(stdout.next_line().await.unwrap().as_deref(), Some("ready"));
        assert_eq!(until_mentioned_by(&mark, 3).await, 3, "the three sleeps run");
        drop(child); // what a timeout or a cancel does
        assert!(all_gone(&mark).await, "a process outlived its dropped command");
    }

    #[tokio::test]
    async fn a_session_of_its_own_is_killed_as_a_group_once_its_command_ends() {
        // How a maintainer's `ccci test` (not root) holds a command.
        let mark = mark();
        let mut command = tokio::process::Command::new("sh");
        let script = format!("sleep 3600.{mark} & sleep 3601.{mark} & echo ready");
        command.args(["-c", &script]).stdout(Stdio::piped()).kill_on_drop(true);
        Confinement::Session.apply(&mut command);
        let mut child = command.spawn().unwrap();
        let pid = child.id().unwrap();
        let mut stdout = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        assert_eq!(stdout.next_line().await.unwrap().as_deref(), Some("ready"));
        assert!(child.wait().await.unwrap().success());
        assert_eq!(until_mentioned_by(&mark, 2).await, 2, "its background processes outlive sh");
        confine::kill_session(pid);
        assert!(all_gone(&mark).await, "a process of the session outlived the kill");
    }

    #[tokio::test]
    async fn trusted_code_runs_as_ccci_with_its_environment() {
        let data = tempfile::tempdir().unwrap();
        let Some(sandbox) = sandbox(data.path()) else { return };
        let cmd = shell(&sandbox, "id -u; echo \"$CARGO_PKG_NAME\"", true);
        let mut spawned = sandbox.command(&cmd).unwrap();
        let out = spawned.command.stdout(Stdio::piped()).output().await.unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "0\nharness\n");
    }
}
