//! Helpers of the multi-node end-to-end tests: the multi-node testbed (`scripts/testbed-multinode`,
//! docs/testbed.md) — whether it is up, the environment `ccci` needs to use it —, what each node's
//! own engine still holds of a run, and a record of the containers each node created while a test
//! ran (read from each node engine's event stream, so nothing is sampled).

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;

/// The nodes of the testbed, as `scripts/testbed-multinode` names them.
pub const NODES: [&str; 3] = ["manager", "worker1", "worker2"];

/// The multi-node testbed, up.
pub struct Multinode {
    /// `KEY=value` lines of `scripts/testbed-multinode env`.
    pub env: Vec<(String, String)>,
    /// The Docker host of each of [`NODES`], in order.
    pub hosts: Vec<String>,
}

/// The swarm's name of a testbed node (its hostname).
pub fn hostname(node: &str) -> String {
    format!("ccmn-{node}")
}

fn script() -> PathBuf {
    testbed::repo_root().join("scripts/testbed-multinode")
}

impl Multinode {
    /// The testbed if it is up, else `Err` saying why the tests skip. With `CCCI_MULTINODE=up`
    /// it is brought up first (with the single-node testbed, whose registry the nodes pull from),
    /// and a testbed that cannot be brought up fails the test instead of skipping it.
    pub fn get() -> Result<Multinode, String> {
        let asked = std::env::var("CCCI_MULTINODE").as_deref() == Ok("up");
        if let Some(up) = Multinode::read().unwrap_or_else(|e| if asked { panic!("{e}") } else { None }) {
            return Ok(up);
        }
        if !asked {
            return Err("the multi-node testbed is not up: run `scripts/testbed-multinode up` (or \
                        scripts/test-multinode), or set CCCI_MULTINODE=up to let the test bring it up"
                .into());
        }
        testbed::ensure_ready().expect("the single-node testbed (the registry the nodes pull from)");
        run_script(&["up"]).unwrap_or_else(|e| panic!("{e}"));
        Ok(Multinode::read().unwrap_or_else(|e| panic!("{e}")).expect("scripts/testbed-multinode up brought it up"))
    }

    /// The testbed's environment, if its manager answers with three nodes.
    fn read() -> Result<Option<Multinode>, String> {
        let env: Vec<(String, String)> = run_script(&["env"])?
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let hosts: Vec<String> = env
            .iter()
            .find(|(k, _)| k == "NODE_HOSTS")
            .map(|(_, v)| v.split(',').map(str::to_string).collect())
            .unwrap_or_default();
        if hosts.len() != NODES.len() {
            return Err(format!("scripts/testbed-multinode env printed no NODE_HOSTS for {NODES:?}: {env:?}"));
        }
        let up = Multinode { env, hosts };
        let nodes = Command::new("docker")
            .args(["-H", &up.hosts[0], "info", "--format", "{{.Swarm.Nodes}}"])
            .output()
            .map_err(|e| format!("docker: {e}"))?;
        Ok((String::from_utf8_lossy(&nodes.stdout).trim() == "3").then_some(up))
    }

    /// The variables `ccci` needs (DOCKER_HOST, CCCI_NODE_HOSTS, CCCI_PROXY_ADDR, ...), for
    /// `spawn_ccci_test_env`.
    pub fn ccci_env(&self) -> Vec<(&str, &OsStr)> {
        self.env.iter().filter(|(k, _)| k != "NODE_HOSTS").map(|(k, v)| (k.as_str(), OsStr::new(v.as_str()))).collect()
    }

    /// The same without `CCCI_NODE_HOSTS`, and with only the given node hosts instead.
    pub fn ccci_env_with_hosts<'a>(&'a self, hosts: &'a str) -> Vec<(&'a str, &'a OsStr)> {
        let mut env: Vec<(&str, &OsStr)> =
            self.ccci_env().into_iter().filter(|(k, _)| *k != "CCCI_NODE_HOSTS").collect();
        env.push(("CCCI_NODE_HOSTS", OsStr::new(hosts)));
        env
    }

    /// The Docker host of `node`.
    pub fn host(&self, node: &str) -> &str {
        &self.hosts[NODES.iter().position(|n| *n == node).expect("a testbed node")]
    }

    /// Lines of `docker -H <node's host> <args>` (empty lines dropped).
    pub fn docker(&self, node: &str, args: &[&str]) -> Vec<String> {
        let out = Command::new("docker").arg("-H").arg(self.host(node)).args(args).output().expect("docker runs");
        String::from_utf8_lossy(&out.stdout).lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect()
    }

    /// Everything labelled `cc-ci.run=<run>` on each node's own engine (containers and volumes
    /// are per node), and the swarm's objects (services, networks, configs, secrets) on the
    /// manager, as `<kind> <id> on <node>` lines.
    pub fn leftovers(&self, run: &str) -> Vec<String> {
        let filter = format!("label=cc-ci.run={run}");
        let mut found = Vec::new();
        for node in NODES {
            let mut kinds = vec![("container", vec!["ps", "-aq"]), ("volume", vec!["volume", "ls", "-q"])];
            if node == "manager" {
                kinds.extend([
                    ("service", vec!["service", "ls", "-q"]),
                    ("network", vec!["network", "ls", "-q"]),
                    ("config", vec!["config", "ls", "-q"]),
                    ("secret", vec!["secret", "ls", "-q"]),
                ]);
            }
            for (kind, mut args) in kinds {
                args.extend(["--filter", &filter]);
                found.extend(self.docker(node, &args).into_iter().map(|id| format!("{kind} {id} on {node}")));
            }
        }
        found
    }

    /// Stop (`stop`) or start (`start`) the engine of `node`.
    pub fn node_engine(&self, action: &str, node: &str) {
        run_script(&[action, node]).unwrap_or_else(|e| panic!("{e}"));
    }

    /// Start recording the containers every node creates from now on (`--since` now, so an event
    /// before an engine's stream is connected is replayed, not missed).
    pub fn watch_containers(&self) -> ContainerWatch {
        let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970");
        let since = format!("{}.{:09}", since.as_secs(), since.subsec_nanos());
        let mut children = Vec::new();
        let mut readers = Vec::new();
        for node in NODES {
            let mut child = Command::new("docker")
                .args(["-H", self.host(node), "events", "--since", &since, "--format", "{{json .}}"])
                .args(["--filter", "type=container", "--filter", "event=create"])
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("docker events starts");
            let stdout = child.stdout.take().expect("piped");
            readers.push(std::thread::spawn(move || {
                BufReader::new(stdout)
                    .lines()
                    .map_while(Result::ok)
                    .filter_map(|line| serde_json::from_str::<serde_json::Value>(&line).ok())
                    .map(|ev| {
                        let label = |k: &str| ev["Actor"]["Attributes"][k].as_str().unwrap_or_default().to_string();
                        Created {
                            node: node.to_string(),
                            run: label("cc-ci.run"),
                            stack: label("com.docker.stack.namespace"),
                            service: label("com.docker.swarm.service.name"),
                            name: label("name"),
                        }
                    })
                    .collect()
            }));
            children.push(child);
        }
        ContainerWatch { children, readers }
    }
}

/// Run `scripts/testbed-multinode <args>`; its stdout, or why it failed.
fn run_script(args: &[&str]) -> Result<String, String> {
    let out = Command::new(script()).args(args).output().map_err(|e| format!("scripts/testbed-multinode: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "scripts/testbed-multinode {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A container a node created while a [`ContainerWatch`] recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    /// The testbed node ([`NODES`]).
    pub node: String,
    /// Its `cc-ci.run` label (empty if none).
    pub run: String,
    /// Its stack (empty for a helper container).
    pub stack: String,
    /// Its swarm service (empty for a helper container).
    pub service: String,
    /// The container's name.
    pub name: String,
}

/// Records the containers every node creates, from each node engine's `docker events`.
pub struct ContainerWatch {
    children: Vec<Child>,
    readers: Vec<JoinHandle<Vec<Created>>>,
}

impl ContainerWatch {
    /// Stop recording; what every node created, node by node in order.
    pub fn stop(mut self) -> Vec<Created> {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.readers.drain(..).flat_map(|r| r.join().unwrap_or_default()).collect()
    }
}

impl Drop for ContainerWatch {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
