//! The sweep end to end (SPEC S1–S2): `ccci sweep --once` against the fake forge (the mirrors,
//! real git over HTTP with pushes as the bot), a second fake forge as the upstream (its default
//! branch `master`), and the testbed's real swarm. The mirror is made equal to upstream (branch
//! forced back, a tag removed, later a new annotated tag added); the newest release is cold-tested
//! and promoted to the canonical copy; a pull request merged upstream is closed with a comment,
//! another is left open; a recipe without tags is "never released"; a sweep after that changes
//! nothing ("no new version") but the clean-up, which keeps the image a recipe pins by digest; the
//! reports are in the store and on the dashboard. A sweep started while a run is live waits for
//! it, and no run starts until it ends. A sweep missed while the server was down runs once when
//! `ccci serve` starts; a mirror whose upstream is gone fails with an alert while the others go on.
mod support;

use std::path::Path;
use std::process::Command;

use support::server::{http_get, Knobs, World};
use testbed::fake_forge::FakeForge;

/// `git -C dir args…` with a fixed identity; panics on failure.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=Upstream", "-c", "user.email=up@example.org"])
        .args(args)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `ccci sweep --config <world's> --once --json`, as an operator would start it: its exit code
/// and report.
fn sweep(world: &World) -> (Option<i32>, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_ccci"))
        .args(["sweep", "--once", "--json", "--config"])
        .arg(&world.config)
        .env_remove("CCCI_PROXY_ADDR")
        .output()
        .expect("ccci sweep runs");
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON report ({e}): {}\nstderr:\n{}\nserver log:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            world.server_log()
        )
    });
    (out.status.code(), report)
}

/// What the engine printed in server run `id` (for failure messages).
fn engine_output(world: &World, id: &serde_json::Value) -> String {
    let path = world.data_dir.join("runs").join(id.to_string()).join("engine-output.txt");
    std::fs::read_to_string(path).unwrap_or_default()
}

/// A clone of the world's fixture source without any tag (a recipe never released), at
/// `<work>/untagged`.
fn untagged_clone(work: &Path) -> std::path::PathBuf {
    let untagged = work.join("untagged");
    git(work, &["clone", "--quiet", &work.join("source").to_string_lossy(), &untagged.to_string_lossy()]);
    for tag in git(&untagged, &["tag", "-l"]).lines() {
        git(&untagged, &["tag", "-d", tag]);
    }
    untagged
}

/// `docker …`, which must succeed; its output.
fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().unwrap();
    assert!(out.status.success(), "docker {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A new dangling image (built without a tag) carrying `label`, its content told apart by
/// `what`; its id.
fn dangling_image(work: &Path, label: &str, what: &str) -> String {
    let context = work.join(format!("image-{what}"));
    std::fs::create_dir_all(&context).unwrap();
    let dockerfile = format!("FROM {}\nRUN echo {label} {what} > /x\n", testbed::BUSYBOX_IMAGE);
    std::fs::write(context.join("Dockerfile"), dockerfile).unwrap();
    docker(&["build", "--quiet", "--label", label, &context.to_string_lossy()])
}

/// A dangling image carrying `label` as a recipe pinned by digest has it: pushed to the testbed's
/// registry, its tag removed, pulled again by digest (no tag). Its id and `name@digest`.
fn pinned_image(work: &Path, label: &str) -> (String, String) {
    let id = dangling_image(work, label, "pinned");
    let tagged = "127.0.0.1:5000/ccci-test-sweep/pinned:latest";
    docker(&["tag", &id, tagged]);
    docker(&["push", "--quiet", tagged]);
    let reference = docker(&["image", "inspect", "--format", "{{index .RepoDigests 0}}", &id]);
    docker(&["rmi", tagged]);
    docker(&["pull", "--quiet", &reference]);
    (id, reference)
}

/// The report's line of `recipe`.
fn line<'a>(report: &'a serde_json::Value, recipe: &str) -> &'a serde_json::Value {
    report["recipes"].as_array().unwrap().iter().find(|r| r["recipe"] == recipe).unwrap_or_else(|| panic!("{report}"))
}

/// The canonical copy of `recipe` (`ccci warm status --json` on the world's data dir).
fn canonical(world: &World, recipe: &str) -> Option<serde_json::Value> {
    let out = support::ccci(world.work.path()).args(["warm", "status", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let all: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    all.into_iter().find(|c| c["recipe"] == recipe)
}

/// What the fake forge `forge` serves as `repo`'s default branch and tags (`git ls-remote`).
fn refs(forge: &FakeForge, repo: &str) -> (String, Vec<String>) {
    let out = git(Path::new("."), &["ls-remote", "--symref", &forge.clone_url(repo)]);
    let head =
        out.lines().find_map(|l| l.strip_prefix("ref: refs/heads/")).map(|l| l.split('\t').next().unwrap().to_string());
    let branch = head.expect("a default branch");
    let commit = out
        .lines()
        .find_map(|l| l.strip_suffix(&format!("\trefs/heads/{branch}")))
        .expect("the branch's commit")
        .to_string();
    let tags = out.lines().filter_map(|l| l.split_once("\trefs/tags/")).map(|(o, t)| format!("{t}={o}")).collect();
    (commit, tags)
}

#[test]
fn sweeps_sync_mirrors_from_upstream_promote_new_releases_and_change_nothing_the_second_time() {
    let world = World::new("simple", Knobs { poll_seconds: 3600, ..Knobs::default() });
    let work = world.work.path();
    let source = work.join("source");
    let first = git(&source, &["rev-parse", "1.0.0+1.35^{commit}"]);
    let second = git(&source, &["rev-parse", "1.1.0+1.36^{commit}"]);

    // Upstream: the recipe as its maintainers publish it, on `master`, so far only 1.0.0.
    let upstream_src = work.join("upstream");
    git(work, &["clone", "--quiet", &source.to_string_lossy(), &upstream_src.to_string_lossy()]);
    git(&upstream_src, &["checkout", "--quiet", "-b", "master", &first]);
    git(&upstream_src, &["branch", "--quiet", "-D", "main"]);
    git(&upstream_src, &["tag", "-d", "1.1.0+1.36"]);
    let upstream = FakeForge::start();
    upstream.create_repo_from_git("up/simple", &upstream_src);

    // The mirror has both releases (upstream later rewrote its history without 1.1.0), a branch
    // of its own with pull request #2, and #1 whose head is 1.1.0's commit.
    git(&source, &["checkout", "--quiet", "-b", "feature"]);
    git(&source, &["commit", "--quiet", "--allow-empty", "-m", "a change of the mirror's own"]);
    git(&source, &["checkout", "--quiet", "main"]);
    world.forge.push_from(&world.repo, &source);
    assert_eq!(world.forge.open_pr_from_branch(&world.repo, 1, "main"), second);
    let feature = world.forge.open_pr_from_branch(&world.repo, 2, "feature");

    // The clean-up touches only images labelled for this test: the engine is shared.
    let label = format!("cc-ci.test-sweep={}", std::process::id());
    // A second recipe, never released (no tags, no upstream), pinning an image by digest.
    let (pinned, reference) = pinned_image(work, &label);
    let untagged = untagged_clone(work);
    let compose = untagged.join("compose.yml");
    let text = std::fs::read_to_string(&compose).unwrap().replace(testbed::BUSYBOX_IMAGE_NEXT, &reference);
    std::fs::write(&compose, text).unwrap();
    git(&untagged, &["commit", "--quiet", "-am", "pin the image by digest"]);
    world.forge.create_repo_from_git("coop-cloud/untagged", &untagged);
    world.append_config(&format!(
        "upstream = \"{}\"\n[[repos]]\nrepo = \"coop-cloud/untagged\"\n[disk]\ncleanup_label = \"{label}\"\n",
        upstream.clone_url("up/simple")
    ));

    // Sweep 1: the mirror is made equal to upstream (forced back to 1.0.0, 1.1.0 removed), and
    // 1.0.0 is cold-tested and becomes the canonical copy.
    let (code, one) = sweep(&world);
    let output = engine_output(&world, &line(&one, "simple")["run"]);
    assert_eq!(code, Some(0), "{one:#}\n{}\nengine output:\n{output}", world.server_log());
    let simple = line(&one, "simple");
    let mirror = &simple["mirror"];
    assert_eq!(mirror["upstream_branch"], "master", "{mirror}");
    assert_eq!(mirror["branch"], "main", "{mirror}");
    assert_eq!(
        (mirror["moved"]["forced"].as_bool(), mirror["moved"]["to"].as_str()),
        (Some(true), Some(first.as_str()))
    );
    assert_eq!(mirror["tags_removed"], serde_json::json!(["1.1.0+1.36"]), "{mirror}");
    assert_eq!(refs(&world.forge, &world.repo), refs(&upstream, "up/simple"), "the mirror equals upstream");
    assert_eq!(simple["action"], "tested", "{simple}");
    assert_eq!((simple["tag"].as_str(), simple["promoted"].as_bool()), (Some("1.0.0+1.35"), Some(true)), "{simple}");
    assert_eq!(canonical(&world, "simple").expect("a canonical copy")["version"], "1.0.0+1.35");
    let never = line(&one, "untagged");
    assert_eq!(never["action"], "skipped", "{never}");
    assert!(never["why"].as_str().unwrap().starts_with("never released"), "{never}");
    assert!(world.forge.pull_is_open(&world.repo, 1) && world.forge.pull_is_open(&world.repo, 2));

    // Upstream releases 1.1.0 (an annotated tag on `master`)...
    git(&upstream_src, &["reset", "--quiet", "--hard", &second]);
    let message = git(&source, &["tag", "-l", "--format=%(contents)", "1.1.0+1.36"]);
    git(&upstream_src, &["tag", "-a", "1.1.0+1.36", "-m", &message, &second]);
    upstream.push_from("up/simple", &upstream_src);

    // ...sweep 2 brings it to the mirror, closes #1 (merged upstream), leaves #2, and promotes it.
    let (code, two) = sweep(&world);
    let output = engine_output(&world, &line(&two, "simple")["run"]);
    assert_eq!(code, Some(0), "{two:#}\n{}\nengine output:\n{output}", world.server_log());
    let simple = line(&two, "simple");
    let mirror = &simple["mirror"];
    assert_eq!(
        (mirror["moved"]["forced"].as_bool(), mirror["moved"]["to"].as_str()),
        (Some(false), Some(second.as_str()))
    );
    assert_eq!(mirror["tags_added"], serde_json::json!(["1.1.0+1.36"]), "{mirror}");
    assert_eq!(
        (mirror["closed_pulls"].clone(), mirror["open_pulls"].clone()),
        (serde_json::json!([1]), serde_json::json!([2]))
    );
    assert_eq!(refs(&world.forge, &world.repo), refs(&upstream, "up/simple"), "the mirror equals upstream");
    assert!(!world.forge.pull_is_open(&world.repo, 1), "#1 was merged upstream");
    assert!(world.forge.pull_is_open(&world.repo, 2), "#2 is left alone");
    let closing = world.bot_comments(1);
    assert!(closing.len() == 1 && closing[0].contains("already in upstream's `master`"), "{closing:?}");
    assert!(world.bot_comments(2).is_empty());
    assert_eq!(simple["canonical"], "1.0.0+1.35");
    assert_eq!((simple["tag"].as_str(), simple["promoted"].as_bool()), (Some("1.1.0+1.36"), Some(true)), "{simple}");
    let copy = canonical(&world, "simple").expect("a canonical copy");
    assert_eq!((copy["version"].as_str(), copy["commit"].as_str()), (Some("1.1.0+1.36"), Some(second.as_str())));
    let promoted_run = simple["run"].as_i64().expect("the run");

    // Sweep 3 changes nothing but removing a dangling image (labelled for this test), keeping the
    // one the untagged recipe pins.
    let leftover = dangling_image(work, &label, "leftover");
    let (code, three) = sweep(&world);
    assert_eq!(three["cleanup"]["images_removed"], serde_json::json!([leftover]), "{:#}", three["cleanup"]);
    assert_eq!(three["cleanup"]["images_kept"], 1, "{:#}", three["cleanup"]);
    assert_eq!(docker(&["image", "inspect", "--format", "{{.Id}}", &reference]), pinned, "the pinned image stays");
    docker(&["rmi", &reference]);
    assert_eq!(code, Some(0), "{three:#}");
    let simple = line(&three, "simple");
    assert_eq!(simple["action"], "skipped", "{simple}");
    assert!(simple["why"].as_str().unwrap().starts_with("no new version"), "{simple}");
    let mirror = &simple["mirror"];
    for field in ["tags_added", "tags_moved", "tags_removed", "closed_pulls"] {
        assert_eq!(mirror[field], serde_json::json!([]), "{field}: {mirror}");
    }
    assert!(mirror["moved"].is_null(), "{mirror}");
    assert_eq!(canonical(&world, "simple").unwrap(), copy, "the copy is unchanged");
    let own = git(Path::new("."), &["ls-remote", &world.forge.clone_url(&world.repo), "refs/heads/feature"]);
    assert!(own.starts_with(&feature), "the mirror's own branch is untouched: {own}");

    // The reports are in the store and on the dashboard.
    let server = world.serve();
    let (status, list) = http_get(&format!("{}/api/sweeps", server.url)).expect("the API answers");
    assert_eq!(status, 200, "{list}");
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(list.as_array().map(Vec::len), Some(3), "{list}");
    let (status, page) = http_get(&format!("{}/sweeps", server.url)).unwrap();
    assert!(status == 200 && page.contains("/sweeps/2") && page.contains("1 promoted"), "{page}");
    let (status, page) = http_get(&format!("{}/sweeps/{}", server.url, two["id"])).unwrap();
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("1.1.0+1.36 tested, promoted") && page.contains(&format!("/runs/{promoted_run}")), "{page}");
    assert!(page.contains("never released"), "{page}");
    let run = server.run(promoted_run as u64);
    assert_eq!((run["outcome"].as_str(), run["mode"].as_str()), (Some("pass"), Some("seed")), "{run}");
    drop(server);

    let dropped = support::ccci(work).args(["warm", "drop", "simple"]).output().unwrap();
    assert!(dropped.status.success(), "{}", String::from_utf8_lossy(&dropped.stderr));
}

#[test]
fn a_sweep_started_while_a_run_is_live_waits_for_it_and_no_run_starts_until_it_ends() {
    // `unhealthy` never converges: its run is live for its whole deploy timeout. Without its tags
    // the sweep has nothing to test ("never released") and is over soon after the run.
    let world = World::new("unhealthy", Knobs { poll_seconds: 3600, max_tests: 2, ..Knobs::default() });
    let work = world.work.path();
    world.forge.push_from(&world.repo, &untagged_clone(work));
    world.append_config("[disk]\ncleanup = false\n");
    world.forge.open_pr_from_branch(&world.repo, 1, "main");
    let server = world.serve();
    world.forge.set_webhook(&format!("{}/hooks/forge", server.url), support::server::HOOK_SECRET);
    world.comment(1, support::server::MEMBER, "!testme tiers=install");
    server.wait_run(1, &["running"], std::time::Duration::from_secs(30));

    let child = Command::new(env!("CARGO_BIN_EXE_ccci"))
        .args(["sweep", "--once", "--json", "--config"])
        .arg(&world.config)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("ccci sweep starts");
    support::server::wait_for("the sweep to wait for run 1", std::time::Duration::from_secs(30), || {
        world.server_log().contains("waiting for 1 run(s) in flight")
    });
    // A run asked for meanwhile is queued and stays so until the sweep ends (max_tests is 2).
    world.comment(1, support::server::MEMBER, "!testme tiers=install");
    let out = child.wait_with_output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no report ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert_eq!(report["waited_for_runs"], 1, "{report:#}");
    let unhealthy = line(&report, "unhealthy");
    assert!(unhealthy["why"].as_str().unwrap().starts_with("never released"), "{unhealthy}");

    let first = server.run(1);
    let sweep_started = report["started_at"].as_i64().unwrap();
    let sweep_finished = report["finished_at"].as_i64().unwrap();
    assert!(first["finished_at"].as_i64().unwrap() >= sweep_started, "run 1 was live when the sweep began: {first}");
    let second = server.wait_run(2, &["running", "finished", "error"], std::time::Duration::from_secs(120));
    let second_started = second["started_at"].as_i64().unwrap();
    assert!(
        second_started >= sweep_finished,
        "run 2 started at {second_started}, before the sweep ended at {sweep_finished}\n{}",
        world.server_log()
    );
    server.wait_run(2, &["finished", "error"], std::time::Duration::from_secs(300));
}

#[test]
fn a_sweep_missed_while_the_server_was_down_runs_once_when_it_starts() {
    let world = World::new("simple", Knobs { poll_seconds: 3600, ..Knobs::default() });
    let work = world.work.path();
    let untagged = untagged_clone(work);
    world.forge.push_from(&world.repo, &untagged);
    // A second mirror whose upstream does not exist: it fails (with an alert), the other goes on.
    world.forge.create_repo_from_git("coop-cloud/orphan", &untagged);
    world.append_config(&format!(
        "[[repos]]\nrepo = \"coop-cloud/orphan\"\nupstream = \"{}\"\n[sweep]\nevery = \"7d\"\n[disk]\ncleanup = false\n",
        world.forge.clone_url("nobody/gone")
    ));
    // The server first ran (arming the weekly schedule) three weeks ago and has been down since.
    std::fs::create_dir_all(&world.data_dir).unwrap();
    let three_weeks_ago = server::store::system_clock()() - 21 * 86_400_000;
    let store = server::Store::open_with_clock(
        &server::paths::store_file(&world.data_dir),
        std::sync::Arc::new(move || three_weeks_ago),
    )
    .unwrap();
    assert_eq!(store.sweep_schedule_since().unwrap(), three_weeks_ago);
    drop(store);

    let server = world.serve();
    support::server::wait_for("the caught-up sweep to finish", std::time::Duration::from_secs(60), || {
        world.server_log().contains("sweep 1 finished")
    });
    let (_, list) = http_get(&format!("{}/api/sweeps", server.url)).unwrap();
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(list[0]["trigger"], "schedule", "{list}");
    assert!(line(&list[0]["report"], "simple")["why"].as_str().unwrap().starts_with("never released"), "{list}");
    let orphan = line(&list[0]["report"], "orphan");
    assert_eq!(orphan["action"], "failed", "{orphan}");
    assert!(orphan["error"].as_str().unwrap().contains("reading upstream"), "{orphan}");
    assert!(!list.to_string().contains(&world.forge.token()), "no credential in the report");
    // The alert records (`<id>.json`; the directory also holds the deliverer's lock file).
    let alerts: Vec<String> = std::fs::read_dir(world.data_dir.join("alerts"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .collect();
    assert_eq!(alerts.len(), 1, "one alert: the orphan's sync: {alerts:?}");
    let infra = &list[0]["report"]["infra"];
    assert_eq!(infra["status"], "updated", "the sweep ran the infrastructure step first: {infra}");
    assert!(infra["steps"][0]["summary"].as_str().unwrap().starts_with("up_to_date"), "{infra}");
    // Once, not once per missed week: after it the next is a week away. (An absence, watched for
    // a while: the schedule would start the next at once.)
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert!(!world.server_log().contains("sweep 2 started"), "{}", world.server_log());
    let (_, list) = http_get(&format!("{}/api/sweeps", server.url)).unwrap();
    assert_eq!(serde_json::from_str::<serde_json::Value>(&list).unwrap().as_array().map(Vec::len), Some(1));
    assert!(world.server_log().contains("sweep schedule: every 1w"), "{}", world.server_log());
}
