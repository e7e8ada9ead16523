//! Runs one queued run: `ccci test` in a child process (the same engine as on a maintainer's
//! machine) on the pull request's head commit, with `--quick` for a quick run (on the recipe's
//! canonical copy under the same data dir), writing into the run's directory, under the run
//! timeout (SPEC V4); a sweep's seed run is `ccci warm seed` of its release tag. A run over its
//! timeout is killed and every Docker object it left is reaped.
//! The child dies with the server (`swarm::process::die_with_parent`), so a `kill -9` of the server leaves no
//! engine running on its own (and the engine's sandboxed commands die with it); the restarted
//! server reaps what it left. The engine must sandbox pull-request code (`--sandbox required`,
//! SPEC V9), never gets the forge token's or webhook secret's variables, and hides the server's
//! config and secret files from sandboxed code (`CCCI_SANDBOX_HIDE`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use harness::result::RunResult;

use crate::infra_config::RunInfra;
use crate::paths;
use crate::store::{Mode, Run};

/// Largest `result.json` the server reads and stores (a run's is a few KiB; one this big says its
/// tests wrote far too much into their case messages).
pub const MAX_RESULT_BYTES: u64 = 4 << 20;

/// How runs are started.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// The engine executable: `ccci`, or the configured `engine`, started as `<exe> test …`.
    pub exe: PathBuf,
    pub data_dir: PathBuf,
    /// The forge's root URL; recipes are cloned from `<forge>/<owner>/<name>.git`.
    pub forge_url: String,
    pub base_domain: String,
    pub proxy: Option<SocketAddr>,
    pub dnsrr: bool,
    pub recipes_config_dir: Option<PathBuf>,
    /// Docker hosts of a multi-node swarm's nodes, handed to each run and to the janitor.
    pub node_hosts: Vec<String>,
    pub timeout: Duration,
    /// HTTPS with the CA, pulls and registry credentials.
    pub infra: RunInfra,
    /// Files sandboxed code must not see (the config, the token and webhook secret files).
    pub hidden: Vec<PathBuf>,
    /// Environment variables the engine must not inherit (the token's and webhook secret's).
    pub secret_envs: Vec<String>,
}

/// How a run ended.
#[derive(Debug)]
pub enum RunEnd {
    /// The engine wrote a result (pass, fail or error of its tiers).
    Result { result: Box<RunResult>, json: String },
    /// No result: the run was stopped or the engine could not run; says why.
    Error(String),
}

impl RunnerConfig {
    /// How `config`'s runs are started; `exe` is the `ccci` executable unless the configuration
    /// names another `engine`.
    pub fn new(config: &crate::Config, exe: PathBuf) -> RunnerConfig {
        RunnerConfig {
            exe: config.engine.clone().unwrap_or(exe),
            data_dir: config.data_dir.clone(),
            forge_url: config.forge.base_url.clone(),
            base_domain: config.base_domain.clone(),
            proxy: config.proxy,
            dnsrr: config.dnsrr,
            recipes_config_dir: config.recipes_config_dir.clone(),
            node_hosts: config.node_hosts.clone(),
            timeout: config.run_timeout,
            infra: RunInfra::new(&config.tls, &config.registry, &config.data_dir),
            hidden: config.private_files(),
            secret_envs: config.secret_envs(),
        }
    }

    /// The git URL of `repo` (`owner/name`) on the forge.
    pub fn clone_url(&self, repo: &str) -> String {
        format!("{}/{repo}.git", self.forge_url.trim_end_matches('/'))
    }

    /// The `ccci test` command for `run`.
    fn command(&self, run: &Run) -> tokio::process::Command {
        let dir = paths::run_dir(&self.data_dir, run.id);
        let mut cmd = tokio::process::Command::new(&self.exe);
        // A seed names its release tag (promotion needs the annotated tag, not its commit).
        let rev = match run.mode {
            Mode::Seed => {
                cmd.args(["warm", "seed"]);
                run.git_ref.as_deref()
            }
            Mode::Cold | Mode::Quick => {
                cmd.arg("test");
                run.commit.as_deref().or(run.git_ref.as_deref())
            }
        };
        cmd.arg(self.clone_url(&run.repo));
        if let Some(rev) = rev {
            cmd.args(["--ref", rev]);
        }
        if let Some(tiers) = &run.tiers {
            cmd.arg("--tiers").arg(tiers.iter().map(|t| t.name()).collect::<Vec<_>>().join(","));
        }
        if run.mode == Mode::Quick {
            cmd.arg("--quick");
        }
        cmd.arg("--out").arg(&dir).arg("--base-domain").arg(&self.base_domain);
        if let Some(proxy) = self.proxy {
            cmd.arg("--proxy").arg(proxy.to_string());
        }
        if self.dnsrr {
            cmd.arg("--dnsrr");
        }
        if let Some(config_dir) = &self.recipes_config_dir {
            cmd.arg("--config-dir").arg(config_dir);
        }
        self.infra.add_args(&mut cmd);
        if !self.node_hosts.is_empty() {
            cmd.arg("--node-hosts").arg(self.node_hosts.join(","));
        }
        cmd.args(["--sandbox", "required"]);
        for var in &self.secret_envs {
            cmd.env_remove(var);
        }
        if let Ok(hide) = std::env::join_paths(&self.hidden) {
            cmd.env(harness::sandbox::HIDE_ENV, hide);
        }
        cmd.env("CCCI_DATA_DIR", &self.data_dir)
            .env_remove("CCCI_PROXY_ADDR")
            .env_remove("CCCI_DNSRR")
            .env_remove("CCCI_NODE_HOSTS")
            .env_remove("CCCI_BASE_DOMAIN")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        swarm::process::die_with_parent(&mut cmd);
        cmd
    }

    /// Runs `run` to its end or its timeout.
    pub async fn execute(&self, run: &Run) -> RunEnd {
        let dir = paths::run_dir(&self.data_dir, run.id);
        if let Err(e) = std::fs::create_dir_all(&dir) {
            return RunEnd::Error(format!("cannot create the run directory {}: {e}", dir.display()));
        }
        let output = match std::fs::File::create(dir.join("engine-output.txt")) {
            Ok(file) => file,
            Err(e) => return RunEnd::Error(format!("cannot write in {}: {e}", dir.display())),
        };
        let mut cmd = self.command(run);
        match output.try_clone() {
            Ok(copy) => cmd.stdout(copy).stderr(output),
            Err(e) => return RunEnd::Error(format!("cannot write in {}: {e}", dir.display())),
        };
        let mut child = match cmd.spawn() {
            Ok(child) => child,
            Err(e) => return RunEnd::Error(format!("cannot start {}: {e}", self.exe.display())),
        };
        let status = match tokio::time::timeout(self.timeout, child.wait()).await {
            Ok(Ok(status)) => status,
            Ok(Err(e)) => return RunEnd::Error(format!("lost the engine process: {e}")),
            Err(_) => {
                let _ = child.kill().await;
                let reaped = reap(&self.node_hosts, &self.data_dir).await;
                return RunEnd::Error(format!(
                    "stopped after the run timeout of {}; {reaped}",
                    human_duration(self.timeout)
                ));
            }
        };
        let result_file = paths::run_result(&self.data_dir, run.id);
        if let Ok(meta) = std::fs::metadata(&result_file) {
            if meta.len() > MAX_RESULT_BYTES {
                return RunEnd::Error(format!(
                    "the engine's result.json has {} bytes, more than the {MAX_RESULT_BYTES} the server reads",
                    meta.len()
                ));
            }
        }
        let Ok(json) = std::fs::read_to_string(&result_file) else {
            let tail = last_lines(&std::fs::read_to_string(dir.join("engine-output.txt")).unwrap_or_default(), 5);
            return RunEnd::Error(format!("the engine ended ({status}) without a result: {tail}"));
        };
        match serde_json::from_str::<RunResult>(&json) {
            Ok(result) => RunEnd::Result { result: Box::new(result), json },
            Err(e) => RunEnd::Error(format!("the engine's result.json is unreadable: {e}")),
        }
    }
}

/// Removes every Docker object of runs that are no longer live, on every node, and their
/// sandboxes; says what it did.
pub async fn reap(node_hosts: &[String], data_dir: &std::path::Path) -> String {
    match reap_report(node_hosts, data_dir).await {
        Ok(report) => format!("{} Docker object(s) of dead runs removed", report.removed.len()),
        Err(e) => e,
    }
}

/// [`reap`], returning the janitor's report (or why it could not run).
pub async fn reap_report(
    node_hosts: &[String],
    data_dir: &std::path::Path,
) -> Result<swarm::janitor::JanitorReport, String> {
    let live_dir = harness::liveness::live_dir();
    harness::sandbox::reap_dead(data_dir, &live_dir);
    let swarm = swarm::Swarm::connect_with_nodes(node_hosts)
        .await
        .map_err(|e| format!("could not reach Docker to reap its objects: {e}"))?;
    harness::janitor::reap(&swarm, &live_dir).await.map_err(|e| format!("reaping its Docker objects failed: {e}"))
}

/// `60 min`, `90 s`: how an operator wrote it in the config.
fn human_duration(d: Duration) -> String {
    match d.as_secs() {
        s if s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join(" / ")
}
