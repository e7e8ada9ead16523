//! An in-memory engine for the harness's unit tests: it records every call, keeps deployed
//! documents, secrets and volumes (files in memory), emulates the default data marker's scripts
//! over those volumes, and fails where a test tells it to — with the swarm crate's own errors, so
//! fail-vs-error classification is exercised exactly as on a real swarm.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use serde_norway::Value;
use swarm::deploy::Deploy;
use swarm::diagnostics::TaskInfo;
use swarm::exec::ExecOutput;
use swarm::janitor::JanitorReport;
use swarm::teardown::{TeardownMode, TornDown};
use swarm::{PullEvent, PullOptions, PullReport};

use swarm::Leftover;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{Engine, Reader, ReapScope, Writer};
use crate::backupbot;
use crate::marker_steps::{PICK_DIR, READ_FILE, SPOIL_FILE, WRITE_FILE};

/// One call the fake received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    Reap,
    CreateSecret { stack: String, name: String },
    Pull { images: Vec<String> },
    Deploy { stack: String },
    Converge { stack: String },
    Exec { stack: String, service: String, argv: Vec<String> },
    Labels { stack: String, service: String },
    ExportVolume { volume: String },
    ImportVolume { volume: String },
    EmptyVolume { volume: String },
    Undeploy { stack: String },
    CreateCanonicalSecret { name: String },
    CreateInfraSecret { name: String },
    CreateCanonicalVolume { name: String },
    DropCanonical { recipe: String },
    Tasks { stack: String },
    Logs { stack: String },
    Teardown { stack: String, mode: TeardownMode },
    ResidualCheck,
    KeepUntil,
}

/// Makes the error an injected failure returns (swarm errors are not `Clone`).
pub type MakeError = Box<dyn Fn() -> swarm::Error + Send + Sync>;
/// Answers an exec (`service`, argv) instead of the built-in behaviour, when it returns `Some`.
pub type Responder = Box<dyn Fn(&str, &[String]) -> Option<ExecOutput> + Send + Sync>;

#[derive(Default)]
struct State {
    calls: Vec<Call>,
    /// Deployed stacks and their documents (the latest deploy).
    stacks: BTreeMap<String, Value>,
    /// Every stack's last deployed document, kept after teardown.
    deployed: BTreeMap<String, Value>,
    secrets: BTreeSet<String>,
    /// Volume name → path inside the volume → contents.
    volumes: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
    /// Secrets and volumes of canonical copies and infrastructure apps, by name → owner (teardown
    /// spares them).
    canonical: BTreeMap<String, String>,
    /// Stacks of infrastructure apps (teardown of a run spares them).
    infra_stacks: BTreeSet<String>,
    deploy_failures: BTreeMap<usize, MakeError>,
    pull_failures: BTreeMap<usize, MakeError>,
    converge_failures: BTreeMap<usize, MakeError>,
    teardown_failure: Option<MakeError>,
    stalled_export: Option<(String, std::path::PathBuf)>,
    deploy_writes: BTreeMap<usize, Vec<(String, String, String)>>,
    responders: Vec<Responder>,
    /// How long each convergence "takes".
    converge_time: Duration,
}

/// The fake engine.
#[derive(Default)]
pub struct FakeEngine {
    state: Mutex<State>,
}

/// An exec answer.
pub fn output(exit_code: i64, stdout: &str, stderr: &str) -> ExecOutput {
    ExecOutput { exit_code, stdout: stdout.as_bytes().to_vec(), stderr: stderr.as_bytes().to_vec() }
}

impl FakeEngine {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The `n`-th deploy (1-based) fails with `make()`.
    pub fn fail_deploy(&self, n: usize, make: impl Fn() -> swarm::Error + Send + Sync + 'static) {
        self.state().deploy_failures.insert(n, Box::new(make));
    }

    /// The `n`-th image pull step (1-based) fails with `make()`.
    pub fn fail_pull(&self, n: usize, make: impl Fn() -> swarm::Error + Send + Sync + 'static) {
        self.state().pull_failures.insert(n, Box::new(make));
    }

    /// The `n`-th wait for convergence (1-based) fails with `make()`.
    pub fn fail_converge(&self, n: usize, make: impl Fn() -> swarm::Error + Send + Sync + 'static) {
        self.state().converge_failures.insert(n, Box::new(make));
    }

    /// Exporting `volume` writes half its archive, flushes, creates the file `signal` and then
    /// never finishes (a process to be killed mid-stream).
    pub fn stall_export(&self, volume: &str, signal: &std::path::Path) {
        self.state().stalled_export = Some((volume.to_string(), signal.to_path_buf()));
    }

    /// The `n`-th deploy (1-based) also writes `contents` to `path` in `volume` (a new version that
    /// migrates, or corrupts, the data as it starts).
    pub fn write_on_deploy(&self, n: usize, volume: &str, path: &str, contents: &str) {
        self.state().deploy_writes.entry(n).or_default().push((
            volume.to_string(),
            path.to_string(),
            contents.to_string(),
        ));
    }

    /// Teardown fails with `make()`.
    pub fn fail_teardown(&self, make: impl Fn() -> swarm::Error + Send + Sync + 'static) {
        self.state().teardown_failure = Some(Box::new(make));
    }

    /// Answer execs `respond` accepts (consulted before the built-in behaviour, newest first).
    pub fn respond(&self, respond: impl Fn(&str, &[String]) -> Option<ExecOutput> + Send + Sync + 'static) {
        self.state().responders.insert(0, Box::new(respond));
    }

    /// How many deploys, and how many waits for convergence, there were so far (to aim an
    /// injected failure at a later run's step).
    pub fn deploys_and_converges(&self) -> (usize, usize) {
        (self.count(|c| matches!(c, Call::Deploy { .. })), self.count(|c| matches!(c, Call::Converge { .. })))
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.state().calls.clone()
    }

    /// The files of `volume` (path → contents as text).
    pub fn volume(&self, volume: &str) -> BTreeMap<String, String> {
        let state = self.state();
        let files = state.volumes.get(volume).cloned().unwrap_or_default();
        files.into_iter().map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned())).collect()
    }

    /// Put a file into `volume`.
    pub fn put_file(&self, volume: &str, path: &str, contents: &str) {
        self.state().volumes.entry(volume.to_string()).or_default().insert(path.to_string(), contents.into());
    }

    /// The names of the secrets that exist now.
    pub fn secrets(&self) -> BTreeSet<String> {
        self.state().secrets.clone()
    }

    /// The document `stack` was last deployed with (also once it is torn down).
    pub fn document(&self, stack: &str) -> Option<Value> {
        self.state().deployed.get(stack).cloned()
    }

    /// Whether `stack` is deployed now.
    pub fn is_deployed(&self, stack: &str) -> bool {
        self.state().stacks.contains_key(stack)
    }

    fn count(&self, pick: impl Fn(&Call) -> bool) -> usize {
        self.state().calls.iter().filter(|c| pick(c)).count()
    }
}

/// `(volume name, mount target)` of each named volume `service` of `stack` mounts.
fn mounts(doc: &Value, stack: &str, service: &str) -> Vec<(String, String)> {
    let names: HashMap<String, String> = backupbot::stack_volumes(doc, stack).into_iter().collect();
    backupbot::volume_mounts(doc, service)
        .into_iter()
        .filter_map(|(key, target)| Some((names.get(&key)?.clone(), target)))
        .collect()
}

/// The volume and the path inside it of `file` as `service` sees it.
fn locate(doc: &Value, stack: &str, service: &str, file: &str) -> Option<(String, String)> {
    mounts(doc, stack, service).into_iter().find_map(|(volume, target)| {
        let rel = file.strip_prefix(target.trim_end_matches('/'))?.trim_start_matches('/');
        Some((volume, rel.to_string()))
    })
}

impl State {
    /// The default marker's scripts, run against the in-memory volumes; anything else succeeds.
    fn builtin_exec(&mut self, stack: &str, service: &str, argv: &[String]) -> ExecOutput {
        let doc = self.stacks.get(stack).cloned().unwrap_or(Value::Null);
        let script = argv.get(2).map(String::as_str).unwrap_or_default();
        let arg = |i: usize| argv.get(i).cloned().unwrap_or_default();
        if script == PICK_DIR {
            let mount = arg(4);
            let volume = locate(&doc, stack, service, &mount).map(|(v, _)| v).unwrap_or_default();
            let files = self.volumes.get(&volume).cloned().unwrap_or_default();
            let is_dir = |p: &str| files.keys().any(|k| k.starts_with(&format!("{}/", p.trim_end_matches('/'))));
            let paths: Vec<String> = argv.iter().skip(5).cloned().collect();
            let root_dir = || files.keys().find_map(|k| k.split_once('/').map(|(d, _)| format!("{mount}/{d}")));
            let picked = match paths.iter().find(|p| is_dir(p)) {
                Some(p) => format!("{mount}/{p}"),
                None if !paths.is_empty() => root_dir().unwrap_or(mount),
                None => mount,
            };
            return output(0, &format!("{picked}\n"), "");
        }
        if [WRITE_FILE, READ_FILE, SPOIL_FILE].contains(&script) {
            let Some((volume, rel)) = locate(&doc, stack, service, &arg(4)) else {
                return output(1, "", &format!("sh: {}: not in a volume", arg(4)));
            };
            let files = self.volumes.entry(volume).or_default();
            if script == WRITE_FILE {
                files.insert(rel, arg(5).into_bytes());
            } else if script == READ_FILE {
                return match files.get(&rel) {
                    Some(v) => output(0, &String::from_utf8_lossy(v), ""),
                    None => output(1, "", &format!("cat: can't open '{}': No such file or directory", arg(4))),
                };
            } else {
                files.remove(&rel);
                let dir = rel.rsplit_once('/').map_or(String::new(), |(d, _)| format!("{d}/"));
                files.insert(format!("{dir}.ccci-junk"), b"junk\n".to_vec());
            }
            return output(0, "", "");
        }
        output(0, "", "")
    }
}

#[async_trait::async_trait]
impl Engine for FakeEngine {
    async fn reap(&self, _: ReapScope<'_>, _: Duration) -> swarm::Result<JanitorReport> {
        self.state().calls.push(Call::Reap);
        Ok(JanitorReport::default())
    }

    async fn create_secret(&self, _: &str, stack: &str, name: &str, _: &[u8]) -> swarm::Result<()> {
        let mut s = self.state();
        s.calls.push(Call::CreateSecret { stack: stack.into(), name: name.into() });
        s.secrets.insert(name.into());
        Ok(())
    }

    async fn pull_images(
        &self,
        doc: &Value,
        _: &PullOptions,
        on_event: &mut (dyn FnMut(PullEvent) + Send),
    ) -> swarm::Result<PullReport> {
        let n = self.count(|c| matches!(c, Call::Pull { .. })) + 1;
        let images: Vec<String> = swarm::compose::images(doc)?.into_iter().map(|(_, image)| image).collect();
        {
            let mut s = self.state();
            s.calls.push(Call::Pull { images: images.clone() });
            if let Some(make) = s.pull_failures.get(&n) {
                return Err(make());
            }
        }
        for image in &images {
            on_event(PullEvent::Started { image: image.clone(), attempt: 1 });
            on_event(PullEvent::Pulled { image: image.clone(), elapsed: Duration::ZERO });
        }
        Ok(PullReport { pulled: images, kept: Vec::new(), elapsed: Duration::ZERO })
    }

    async fn deploy(&self, d: &Deploy<'_>) -> swarm::Result<String> {
        let n = self.count(|c| matches!(c, Call::Deploy { .. })) + 1;
        let mut s = self.state();
        s.calls.push(Call::Deploy { stack: d.stack.into() });
        if let Some(make) = s.deploy_failures.get(&n) {
            return Err(make());
        }
        s.stacks.insert(d.stack.into(), d.document.clone());
        s.deployed.insert(d.stack.into(), d.document.clone());
        for (_, volume) in backupbot::stack_volumes(d.document, d.stack) {
            s.volumes.entry(volume).or_default();
        }
        for (volume, path, contents) in s.deploy_writes.get(&n).cloned().unwrap_or_default() {
            s.volumes.entry(volume).or_default().insert(path, contents.into_bytes());
        }
        Ok(format!("Creating services of {}", d.stack))
    }

    async fn deploy_labelled(&self, d: &Deploy<'_>, _: &[(&str, &str)]) -> swarm::Result<String> {
        let out = self.deploy(d).await?;
        // Nothing the infrastructure app creates is the run's: teardown spares it.
        let mut s = self.state();
        s.infra_stacks.insert(d.stack.to_string());
        for (_, volume) in backupbot::stack_volumes(d.document, d.stack) {
            s.canonical.insert(volume, format!("infra:{}", d.stack));
        }
        Ok(out)
    }

    async fn create_infra_secret(&self, app: &str, name: &str, _: &[u8]) -> swarm::Result<()> {
        let mut s = self.state();
        s.calls.push(Call::CreateInfraSecret { name: name.into() });
        s.secrets.insert(name.into());
        s.canonical.insert(name.into(), format!("infra:{app}"));
        Ok(())
    }

    async fn wait_converged(&self, stack: &str, _: Duration, _: Duration) -> swarm::Result<Duration> {
        let n = self.count(|c| matches!(c, Call::Converge { .. })) + 1;
        let mut s = self.state();
        s.calls.push(Call::Converge { stack: stack.into() });
        match s.converge_failures.get(&n) {
            Some(make) => Err(make()),
            None => Ok(s.converge_time),
        }
    }

    async fn exec(&self, stack: &str, service: &str, cmd: &[&str]) -> swarm::Result<ExecOutput> {
        let argv: Vec<String> = cmd.iter().map(|a| a.to_string()).collect();
        let mut s = self.state();
        s.calls.push(Call::Exec { stack: stack.into(), service: service.into(), argv: argv.clone() });
        if !s.stacks.contains_key(stack) {
            return Err(swarm::Error::NoRunningTask { service: format!("{stack}_{service}") });
        }
        if let Some(out) = s.responders.iter().find_map(|r| r(service, &argv)) {
            return Ok(out);
        }
        Ok(s.builtin_exec(stack, service, &argv))
    }

    async fn service_labels(&self, stack: &str, service: &str) -> swarm::Result<HashMap<String, String>> {
        let mut s = self.state();
        s.calls.push(Call::Labels { stack: stack.into(), service: service.into() });
        let doc =
            s.stacks.get(stack).ok_or_else(|| swarm::Error::NoRunningTask { service: format!("{stack}_{service}") })?;
        Ok(backupbot::service_labels(doc, service).into_iter().collect())
    }

    async fn export_volume(&self, _: &str, volume: &str, _: &str, out: &mut Writer<'_>) -> swarm::Result<u64> {
        let files = {
            let mut s = self.state();
            s.calls.push(Call::ExportVolume { volume: volume.into() });
            s.volumes.get(volume).cloned().ok_or_else(|| no_volume(volume))?
        };
        let mut builder = tar::Builder::new(Vec::new());
        for (path, contents) in &files {
            let mut header = tar::Header::new_gnu();
            header.set_size(contents.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, format!("./{path}"), contents.as_slice()).map_err(io)?;
        }
        let bytes = builder.into_inner().map_err(io)?;
        let stalled = self.state().stalled_export.clone();
        if let Some((_, signal)) = stalled.filter(|(v, _)| v == volume) {
            out.write_all(&bytes[..bytes.len() / 2]).await.map_err(io)?;
            out.flush().await.map_err(io)?;
            std::fs::write(signal, b"mid-stream").map_err(io)?;
            std::future::pending::<()>().await;
        }
        out.write_all(&bytes).await.map_err(io)?;
        out.flush().await.map_err(io)?;
        Ok(bytes.len() as u64)
    }

    async fn import_volume(&self, _: &str, volume: &str, _: &str, tar_stream: &mut Reader<'_>) -> swarm::Result<()> {
        let mut tar_bytes = Vec::new();
        tar_stream.read_to_end(&mut tar_bytes).await.map_err(io)?;
        let mut archive = tar::Archive::new(tar_bytes.as_slice());
        let mut read = Vec::new();
        for entry in archive.entries().map_err(io)? {
            let mut entry = entry.map_err(io)?;
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let path = entry.path().map_err(io)?.to_string_lossy().trim_start_matches("./").to_string();
            let mut contents = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut contents).map_err(io)?;
            read.push((path, contents));
        }
        let mut s = self.state();
        s.calls.push(Call::ImportVolume { volume: volume.into() });
        s.volumes.get_mut(volume).ok_or_else(|| no_volume(volume))?.extend(read);
        Ok(())
    }

    async fn empty_volume(&self, volume: &str) -> swarm::Result<()> {
        let mut s = self.state();
        s.calls.push(Call::EmptyVolume { volume: volume.into() });
        s.volumes.get_mut(volume).ok_or_else(|| no_volume(volume))?.clear();
        Ok(())
    }

    async fn tasks(&self, stack: &str) -> swarm::Result<Vec<TaskInfo>> {
        self.state().calls.push(Call::Tasks { stack: stack.into() });
        Ok(Vec::new())
    }

    async fn stack_logs(&self, stack: &str, _: usize) -> swarm::Result<Vec<(String, Vec<String>)>> {
        self.state().calls.push(Call::Logs { stack: stack.into() });
        Ok(vec![(format!("{stack}_app"), vec!["app says hello".into()])])
    }

    async fn teardown(&self, stack: &str, _: &str, _: Duration, mode: TeardownMode) -> swarm::Result<TornDown> {
        let mut s = self.state();
        s.calls.push(Call::Teardown { stack: stack.into(), mode });
        if let Some(make) = &s.teardown_failure {
            return Err(make());
        }
        let mut removed: Vec<Leftover> = Vec::new();
        if !s.infra_stacks.contains(stack) && s.stacks.remove(stack).is_some() {
            removed.push(Leftover { kind: "stack", name: stack.into() });
        }
        // A canonical copy's secrets and volumes carry no run or stack label: never removed here.
        let canonical = s.canonical.clone();
        let run_secrets: Vec<String> = s.secrets.iter().filter(|n| !canonical.contains_key(*n)).cloned().collect();
        for name in run_secrets {
            s.secrets.remove(&name);
            removed.push(Leftover { kind: "secret", name });
        }
        let run_volumes: Vec<String> = s.volumes.keys().filter(|n| !canonical.contains_key(*n)).cloned().collect();
        for name in run_volumes {
            s.volumes.remove(&name);
            removed.push(Leftover { kind: "volume", name });
        }
        Ok(TornDown { elapsed: Duration::ZERO, removed })
    }

    async fn residual_check(&self, _: &str, _: Option<&str>) -> swarm::Result<()> {
        self.state().calls.push(Call::ResidualCheck);
        Ok(())
    }

    async fn keep_until(&self, _: &str, _: u64) -> swarm::Result<()> {
        self.state().calls.push(Call::KeepUntil);
        Ok(())
    }

    async fn undeploy(&self, stack: &str, _: &str, _: Duration) -> swarm::Result<()> {
        let mut s = self.state();
        s.calls.push(Call::Undeploy { stack: stack.into() });
        s.stacks.remove(stack);
        Ok(())
    }

    async fn create_canonical_secret(&self, recipe: &str, name: &str, _: &[u8]) -> swarm::Result<()> {
        let mut s = self.state();
        s.calls.push(Call::CreateCanonicalSecret { name: name.into() });
        s.secrets.insert(name.into());
        s.canonical.insert(name.into(), recipe.into());
        Ok(())
    }

    async fn create_canonical_volume(&self, recipe: &str, name: &str) -> swarm::Result<()> {
        let mut s = self.state();
        s.calls.push(Call::CreateCanonicalVolume { name: name.into() });
        s.volumes.insert(name.into(), BTreeMap::new());
        s.canonical.insert(name.into(), recipe.into());
        Ok(())
    }

    async fn canonical_objects(&self, recipe: &str) -> swarm::Result<Vec<Leftover>> {
        let s = self.state();
        let mut out: Vec<Leftover> = s
            .canonical
            .iter()
            .filter(|(_, r)| *r == recipe)
            .map(|(name, _)| {
                let kind = if s.volumes.contains_key(name) { "volume" } else { "secret" };
                Leftover { kind, name: name.clone() }
            })
            .collect();
        out.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
        Ok(out)
    }

    async fn drop_canonical(&self, recipe: &str) -> swarm::Result<Vec<Leftover>> {
        let objects = self.canonical_objects(recipe).await?;
        let mut s = self.state();
        s.calls.push(Call::DropCanonical { recipe: recipe.into() });
        for o in &objects {
            s.canonical.remove(&o.name);
            s.secrets.remove(&o.name);
            s.volumes.remove(&o.name);
        }
        Ok(objects)
    }
}

fn no_volume(volume: &str) -> swarm::Error {
    swarm::Error::Io {
        context: format!("volume {volume}"),
        source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such volume"),
    }
}

fn io(source: std::io::Error) -> swarm::Error {
    swarm::Error::Io { context: "the fake engine's volume archive".into(), source }
}
