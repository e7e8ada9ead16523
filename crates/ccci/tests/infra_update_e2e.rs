//! End to end on the real swarm: health-gated updates of a proxy of the test's own (`ccci
//! infra`; its own base domain, data dir, CA and ports, never the testbed's proxy). Its recipe is
//! a git repository of the project's traefik recipe whose releases appear one after another, as
//! an upstream publishes them: 1.0.0 (Traefik 3.6) is installed by `ccci server init`; 1.1.0
//! (Traefik 3.7) is applied and healthy, last-good advances and an app behind the proxy keeps
//! being served; a broken 1.2.0 (its healthcheck never passes) is rolled back to 1.1.0, which
//! serves again, last-good unchanged, with one alert naming both versions; a 2.0.0 is held by the
//! safety gate (a major bump) with an alert carrying its release notes, and nothing is deployed,
//! until a person accepts it (`--accept-hold`). An update waits while a run holds the
//! infrastructure lock.
//! Every alert reaches a webhook receiver on loopback once.
//!
//! And a stateful warm dependency (the `infra-store` fixture, `[[infra.apps]]`): installed,
//! updated by an ordinary minor (its volume snapshotted first, the data kept); a broken release
//! that migrates the data forward and never gets healthy is rolled back with the snapshot
//! restored, so the previous release (which refuses migrated data) is healthy with the data as
//! before the update; a minor whose notes ask for a manual migration and a major are held,
//! nothing deployed or snapshotted.
//!
//! And the other side of the infrastructure lock: a `ccci test` started while an update holds it
//! says it waits, deploys nothing, and goes ahead once the update has ended.

mod support;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use support::own_proxy::OwnProxy;

const V1_0: &str = "1.0.0+v3.6.15";
const V1_1: &str = "1.1.0+v3.7.15";
const V1_2: &str = "1.2.0+v3.7.15";
const V2_0: &str = "2.0.0+v3.7.15";

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=upstream", "-c", "user.email=upstream@example.org"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The recipe's upstream: the project's traefik recipe, with its 1.1.0 tag taken away until
/// [`Upstream::publish_1_1`] and more releases made on top of 1.1.0.
struct Upstream {
    dir: std::path::PathBuf,
    commit_1_1: String,
}

impl Upstream {
    fn new(dir: &Path) -> Upstream {
        let (recipe, _) = infra::proxy_recipe::materialise(dir).unwrap();
        let commit_1_1 = git(&recipe.path, &["rev-parse", &format!("{V1_1}^{{commit}}")]);
        git(&recipe.path, &["tag", "-d", V1_1]);
        Upstream { dir: recipe.path, commit_1_1 }
    }

    fn publish_1_1(&self) {
        git(&self.dir, &["tag", "-a", V1_1, &self.commit_1_1, "-m", V1_1]);
    }

    /// A release `tag` on top of 1.1.0: its compose.yml edited by `edit` (the version label set
    /// to `tag` already), and `notes` as its release notes.
    fn publish(&self, tag: &str, notes: &str, edit: &dyn Fn(String) -> String) {
        git(&self.dir, &["checkout", "--quiet", "--detach", &self.commit_1_1]);
        let compose = self.dir.join("compose.yml");
        let text = std::fs::read_to_string(&compose).unwrap();
        let versioned = text.replace(&format!(".version={V1_1}"), &format!(".version={tag}"));
        assert_ne!(versioned, text, "the version label is in compose.yml");
        std::fs::write(&compose, edit(versioned)).unwrap();
        std::fs::write(self.dir.join("release").join(tag), format!("{notes}\n")).unwrap();
        git(&self.dir, &["add", "--all"]);
        git(&self.dir, &["commit", "--quiet", "-m", &format!("Release {tag}")]);
        git(&self.dir, &["tag", "-a", tag, "-m", tag]);
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn says(out: &Output) -> String {
    format!("exit {:?}\nstdout:\n{}\nstderr:\n{}", out.status.code(), stdout(out), String::from_utf8_lossy(&out.stderr))
}

/// `ccci infra status --json`: the entry of `app`.
fn app_status(proxy: &OwnProxy, app: &str) -> serde_json::Value {
    let out = proxy.ccci(&["infra", "status", "--json"]);
    assert!(out.status.success(), "{}", says(&out));
    let all: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    all.as_array().unwrap().iter().find(|a| a["app"] == app).cloned().unwrap_or_else(|| panic!("no {app} in {all}"))
}

fn proxy_status(proxy: &OwnProxy) -> serde_json::Value {
    app_status(proxy, "proxy")
}

/// The alerts recorded under the data dir, oldest first.
fn alerts(proxy: &OwnProxy) -> Vec<serde_json::Value> {
    let mut files: Vec<_> = std::fs::read_dir(proxy.data.join("alerts"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files.iter().map(|f| serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap()).collect()
}

/// The `app` service's spec version of `stack` (changes with every deploy).
fn spec_version(stack: &str) -> String {
    support::docker_lines(&["service", "inspect", "--format", "{{.Version.Index}}", &format!("{stack}_app")]).join("")
}

/// A small app behind the proxy, labelled so Traefik routes `app.<base>` to it (its stack is
/// named for the base domain, so the proxy's cleanup removes it).
fn deploy_app_behind(proxy: &OwnProxy) {
    let stack = format!("behind_{}", proxy.base.replace('.', "_"));
    let router = stack.replace('_', "-");
    let compose = format!(
        "version: \"3.8\"\nservices:\n  web:\n    image: ccci-testbed/busybox:1.35\n    command: [\"web-serve\", \"80\"]\n    \
         environment: [PAGE=behind-the-proxy]\n    networks: [proxy]\n    deploy:\n      endpoint_mode: dnsrr\n      \
         labels:\n        - cc-ci.test=infra-update-e2e\n        - traefik.enable=true\n        \
         - traefik.http.services.{router}.loadbalancer.server.port=80\n        \
         - traefik.http.routers.{router}.rule=Host(`app.{}`)\n        - traefik.http.routers.{router}.entrypoints=web-secure\n        \
         - traefik.http.routers.{router}.tls.certresolver=\nnetworks:\n  proxy:\n    external: true\n",
        proxy.base
    );
    let file = proxy.work.path().join("behind.yml");
    std::fs::write(&file, compose).unwrap();
    let out = Command::new("docker")
        .args(["stack", "deploy", "--resolve-image", "never", "-c"])
        .arg(&file)
        .arg(&stack)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Whether the app behind the proxy is served (patience: Traefik's provider refreshes every
/// second).
fn app_served(proxy: &OwnProxy) -> bool {
    let host = format!("app.{}", proxy.base);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let answer = testbed::http::https_get(proxy.https, &host, "/", &proxy.ca());
        if answer.as_ref().is_ok_and(|r| r.status == 200 && r.body.contains("behind-the-proxy")) {
            return true;
        }
        if Instant::now() > deadline {
            eprintln!("app.{}: {answer:?}", proxy.base);
            return false;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn proxy_updates_are_health_gated_rolled_back_and_held() {
    let hook = TcpListener::bind("127.0.0.1:0").unwrap();
    let hook_url = format!("http://{}/alerts", hook.local_addr().unwrap());
    let received = testbed::http::receive(hook);
    let proxy = OwnProxy::new(&|work| {
        let upstream = work.join("upstream-traefik");
        format!(
            "recipe = \"{}\"\n[[alerts.sinks]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{hook_url}\"\n",
            upstream.display()
        )
    });
    let upstream = Upstream::new(&proxy.work.path().join("upstream-traefik"));

    let (_, init) = proxy.init_ok();
    assert!(init.contains(V1_0), "{init}");
    let status = proxy_status(&proxy);
    assert_eq!((status["running"].as_str(), status["last_good"].as_str()), (Some(V1_0), Some(V1_0)), "{status}");
    assert_eq!(status["action"], "up_to_date", "{status}");
    deploy_app_behind(&proxy);
    assert!(app_served(&proxy), "the app is served by 1.0.0");

    // A release that does not exist is a bad request (exit 2), not an alert.
    let typo = proxy.ccci(&["infra", "update", "proxy", "--to", "9.9.9+v3.7.15"]);
    assert_eq!(typo.status.code(), Some(2), "{}", says(&typo));
    assert!(says(&typo).contains("no release 9.9.9+v3.7.15; its releases are 1.0.0+v3.6.15"), "{}", says(&typo));

    // 1.1.0 appears upstream: status says what an update would do, --dry-run changes nothing.
    upstream.publish_1_1();
    let status = proxy_status(&proxy);
    assert_eq!((status["action"].as_str(), status["target"].as_str()), (Some("update"), Some(V1_1)), "{status}");
    assert_eq!(status["notes"], "Traefik v3.7.15. No configuration change; deploy in place.");
    let before = spec_version(&proxy.stack);
    let dry = proxy.ccci(&["infra", "update", "--dry-run"]);
    assert!(dry.status.success() && stdout(&dry).contains(&format!("update {V1_0} → {V1_1}")), "{}", says(&dry));
    assert_eq!(spec_version(&proxy.stack), before, "a dry run deploys nothing");

    // A live run holds the infrastructure lock: the update waits for it to end.
    let run = harness::infra_lock::try_shared(&proxy.data).unwrap().expect("no update is under way");
    let log = proxy.work.path().join("update.stderr");
    let mut update = proxy
        .command(&["infra", "update", "proxy"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    support::poll("the update waiting for the live run", Duration::from_secs(30), || {
        std::fs::read_to_string(&log).unwrap().contains("waiting for the live test runs").then_some(())
    });
    assert!(update.try_wait().unwrap().is_none(), "the update waits while the run is live");
    assert_eq!(spec_version(&proxy.stack), before, "nothing is deployed while the run is live");
    let started = Instant::now();
    drop(run);
    let mut updated = update.wait_with_output().unwrap();
    updated.stderr = std::fs::read(&log).unwrap();
    eprintln!("update {V1_0} → {V1_1} once the run ended: {:?}", started.elapsed());
    assert!(updated.status.success(), "{}", says(&updated));
    assert!(stdout(&updated).contains(&format!("proxy: updated ({V1_0} → {V1_1})")), "{}", says(&updated));
    let status = proxy_status(&proxy);
    assert_eq!((status["running"].as_str(), status["last_good"].as_str()), (Some(V1_1), Some(V1_1)), "{status}");
    assert_eq!(status["last_update"]["outcome"], "updated", "{status}");
    let image = support::docker_lines(&[
        "service",
        "inspect",
        "--format",
        "{{.Spec.TaskTemplate.ContainerSpec.Image}}",
        &format!("{}_app", proxy.stack),
    ]);
    assert!(image.join("").starts_with("traefik:v3.7.15"), "{image:?}");
    assert_eq!(proxy.status_of("ccci-probe"), 200, "the known route");
    assert_eq!(proxy.status_of("nobody"), 404, "an unknown host");
    assert!(app_served(&proxy), "the app is served by 1.1.0");
    assert!(alerts(&proxy).is_empty(), "a healthy update raises no alert");

    // A broken 1.2.0: Traefik runs, but its healthcheck never passes.
    upstream.publish(V1_2, "Traefik v3.7.15 with a stricter health check.", &|compose| {
        let broken = compose
            .replace("test: [\"CMD\", \"traefik\", \"healthcheck\", \"--ping\"]", "test: [\"CMD\", \"false\"]")
            .replace("interval: 5s", "interval: 2s")
            .replace("retries: 12", "retries: 1")
            .replace("start_period: 10s", "start_period: 0s")
            .replace("timeout=${TIMEOUT:-120}", "timeout=40");
        assert!(broken.contains("\"CMD\", \"false\"") && broken.contains("timeout=40"), "{broken}");
        broken
    });
    let started = Instant::now();
    let rolled = proxy.ccci(&["infra", "update"]);
    eprintln!("broken update {V1_1} → {V1_2} and rollback: {:?}\n{}", started.elapsed(), says(&rolled));
    let dump = || {
        support::docker_lines(&["service", "inspect", &format!("{}_app", proxy.stack)]).join("\n")
            + &support::docker_lines(&["service", "ps", "--no-trunc", &format!("{}_app", proxy.stack)]).join("\n")
    };
    assert_eq!(rolled.status.code(), Some(1), "{}\nDUMP{}", says(&rolled), dump());
    assert!(stdout(&rolled).contains(&format!("proxy: rolled_back ({V1_1} → {V1_2})")), "{}", says(&rolled));
    let status = proxy_status(&proxy);
    assert_eq!((status["running"].as_str(), status["last_good"].as_str()), (Some(V1_1), Some(V1_1)), "{status}");
    assert_eq!(status["last_update"]["outcome"], "rolled_back", "{status}");
    assert_eq!(proxy.status_of("ccci-probe"), 200, "the rolled-back proxy serves its known route");
    assert_eq!(proxy.status_of("nobody"), 404);
    assert!(app_served(&proxy), "the app is served again after the rollback");
    let raised = alerts(&proxy);
    assert_eq!(raised.len(), 1, "{raised:?}");
    let alert = &raised[0];
    assert_eq!(alert["kind"], "update_rolled_back", "{alert}");
    assert_eq!((alert["from_version"].as_str(), alert["to_version"].as_str()), (Some(V1_1), Some(V1_2)), "{alert}");
    assert_eq!(alert["release_notes"], "Traefik v3.7.15 with a stricter health check.", "{alert}");

    // A major release: held before anything is touched, alerted with its notes.
    upstream.publish(V2_0, "Traefik v3.7.15, cc-ci's recipe 2.", &|compose| compose);
    let before = spec_version(&proxy.stack);
    let held = proxy.ccci(&["infra", "update", "proxy", "--to", V2_0]);
    assert_eq!(held.status.code(), Some(1), "{}", says(&held));
    assert!(stdout(&held).contains("proxy: held") && stdout(&held).contains("major"), "{}", says(&held));
    assert_eq!(spec_version(&proxy.stack), before, "a held update deploys nothing");
    let status = proxy_status(&proxy);
    assert_eq!(status["running"].as_str(), Some(V1_1), "{status}");
    let raised = alerts(&proxy);
    assert_eq!(raised.len(), 2, "{raised:?}");
    let alert = raised.iter().find(|a| a["kind"] == "update_held").expect("a held alert");
    assert_eq!((alert["from_version"].as_str(), alert["to_version"].as_str()), (Some(V1_1), Some(V2_0)), "{alert}");
    assert_eq!(alert["release_notes"], "Traefik v3.7.15, cc-ci's recipe 2.", "{alert}");

    // A person read the notes: the held update goes ahead by hand, health-gated as any other.
    let accepted = proxy.ccci(&["infra", "update", "proxy", "--to", V2_0, "--accept-hold"]);
    assert!(accepted.status.success(), "{}", says(&accepted));
    assert!(stdout(&accepted).contains(&format!("proxy: updated ({V1_1} → {V2_0})")), "{}", says(&accepted));
    let status = proxy_status(&proxy);
    assert_eq!((status["running"].as_str(), status["last_good"].as_str()), (Some(V2_0), Some(V2_0)), "{status}");
    assert!(app_served(&proxy), "the app is served by 2.0.0");

    // Each alert reached the webhook once (`ccci infra update` delivers before it exits).
    let got = received.lock().unwrap().clone();
    let kinds: Vec<String> = got
        .iter()
        .map(|(_, body)| serde_json::from_str::<serde_json::Value>(body).unwrap()["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, ["update_rolled_back", "update_held"], "{got:?}");
    assert!(alerts(&proxy).iter().all(|a| a["deliveries"][0]["state"] == "delivered"), "{:?}", alerts(&proxy));
}

const STORE: &str = "infra-store";

/// The store's items, through the proxy over verified HTTPS.
fn items(proxy: &OwnProxy) -> (u16, String) {
    let host = format!("shared-{STORE}.{}", proxy.base);
    let answer = testbed::http::https_get(proxy.https, &host, "/data/items.txt", &proxy.ca()).expect("verified HTTPS");
    (answer.status, answer.body)
}

/// Add `item` to the store, in its running container.
fn add_item(stack: &str, item: &str) {
    let filter = format!("label=com.docker.swarm.service.name={stack}_app");
    let container = support::docker_lines(&["ps", "-q", "--filter", &filter]);
    assert_eq!(container.len(), 1, "one running container of {stack}_app: {container:?}");
    let line = format!("echo {item} >>/var/www/data/items.txt");
    let out = Command::new("docker").args(["exec", &container[0], "sh", "-c", &line]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

fn snapshots(proxy: &OwnProxy) -> usize {
    let dir = proxy.data.join("infra/apps").join(STORE).join("snapshots");
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

#[test]
fn a_stateful_warm_dependency_is_snapshotted_and_restored_when_its_update_fails() {
    let proxy = OwnProxy::new(&|work| {
        let store = testbed::fixture(STORE, &work.join(STORE)).unwrap();
        format!("[[infra.apps]]\nrecipe = \"{}\"\n", store.path.display())
    });
    proxy.init_ok();
    let status = app_status(&proxy, STORE);
    assert_eq!((status["action"].as_str(), status["running"].as_str()), (Some("install"), None), "{status}");
    assert_eq!(status["kind"], "warm dependency", "{status}");
    let stack = status["stack"].as_str().unwrap().to_string();

    let installed = proxy.ccci(&["infra", "update", STORE, "--to", "1.0.0+1.35"]);
    assert!(installed.status.success(), "{}", says(&installed));
    assert!(stdout(&installed).contains("infra-store: installed (1.0.0+1.35)"), "{}", says(&installed));
    add_item(&stack, "item-1");
    assert_eq!(items(&proxy), (200, "item-1\n".into()));

    let updated = proxy.ccci(&["infra", "update", STORE, "--to", "1.1.0+1.36"]);
    assert!(updated.status.success(), "{}", says(&updated));
    assert!(stdout(&updated).contains("infra-store: updated (1.0.0+1.35 → 1.1.0+1.36)"), "{}", says(&updated));
    assert_eq!(snapshots(&proxy), 1, "the volume was snapshotted before the update");
    assert_eq!(items(&proxy), (200, "item-1\n".into()), "the data is kept");
    add_item(&stack, "item-2");

    let started = Instant::now();
    let rolled = proxy.ccci(&["infra", "update", STORE, "--to", "1.2.0+1.36"]);
    eprintln!(
        "broken update of {STORE} and its rollback, snapshot restored: {:?}\n{}",
        started.elapsed(),
        says(&rolled)
    );
    let dump = || {
        support::docker_lines(&["service", "inspect", &format!("{}_app", proxy.stack)]).join("\n")
            + &support::docker_lines(&["service", "ps", "--no-trunc", &format!("{}_app", proxy.stack)]).join("\n")
    };
    assert_eq!(rolled.status.code(), Some(1), "{}\nDUMP{}", says(&rolled), dump());
    assert!(stdout(&rolled).contains("infra-store: rolled_back (1.1.0+1.36 → 1.2.0+1.36)"), "{}", says(&rolled));
    assert!(stdout(&rolled).contains("restored from the snapshot"), "{}", says(&rolled));
    assert_eq!(items(&proxy), (200, "item-1\nitem-2\n".into()), "the data as before the update, not migrated");
    let status = app_status(&proxy, STORE);
    assert_eq!((status["running"].as_str(), status["last_good"].as_str()), (Some("1.1.0+1.36"), Some("1.1.0+1.36")));
    let raised = alerts(&proxy);
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert_eq!(raised[0]["kind"], "update_rolled_back");
    assert_eq!(
        (raised[0]["from_version"].as_str(), raised[0]["to_version"].as_str()),
        (Some("1.1.0+1.36"), Some("1.2.0+1.36"))
    );

    let (taken, spec) = (snapshots(&proxy), spec_version(&stack));
    for (to, why) in [("1.3.0+1.36", "manual migration"), ("2.0.0+1.36", "major")] {
        let held = proxy.ccci(&["infra", "update", STORE, "--to", to]);
        assert_eq!(held.status.code(), Some(1), "{}", says(&held));
        assert!(stdout(&held).contains("infra-store: held") && stdout(&held).contains(why), "{}", says(&held));
    }
    assert_eq!((snapshots(&proxy), spec_version(&stack)), (taken, spec), "nothing snapshotted or deployed");
    let raised = alerts(&proxy);
    let held: Vec<_> = raised.iter().filter(|a| a["kind"] == "update_held").collect();
    assert_eq!(held.len(), 2, "{raised:?}");
    assert!(
        held.iter().any(|a| a["release_notes"].as_str().is_some_and(|n| n.contains("a manual migration is needed"))),
        "{held:?}"
    );
    assert_eq!(items(&proxy), (200, "item-1\nitem-2\n".into()));
}

#[test]
fn a_run_waits_while_an_infrastructure_update_holds_the_lock() {
    support::testbed();
    let work = tempfile::tempdir().unwrap();
    let recipe = testbed::fixture("simple", &work.path().join("simple")).unwrap();
    let data = work.path().join("run").join("data");
    let update = harness::infra_lock::try_exclusive(&data).unwrap().expect("no run is live");
    let mut run = support::spawn_ccci_test(&work.path().join("run"), &recipe.path, &["--tiers", "install"]);
    let waiting = |steps: &[support::Step]| {
        steps
            .iter()
            .any(|s| matches!(s, support::Step::Note { text } if text.contains("waiting for an infrastructure update")))
    };
    support::poll("the run saying it waits", Duration::from_secs(60), || waiting(&run.steps_so_far()).then_some(()));
    assert!(run.is_running(), "{}", run.stderr_text());
    let deployed = |steps: &[support::Step]| steps.iter().any(|s| matches!(s, support::Step::Deploying { .. }));
    assert!(!deployed(&run.steps_so_far()), "nothing is deployed during an update");
    drop(update);
    let done = run.wait();
    assert_eq!(done.code(), Some(0), "{}\n{}", done.result, done.stderr());
    assert!(deployed(&done.steps()), "the run went ahead once the update ended");
}
