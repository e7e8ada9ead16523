//! Benchmarks of the server (docs/benchmarks.md, "Server"); `scripts/bench-server` runs them.
//!
//! - `bench_server webhook [N]`: the server started in-process against a fake forge (one repo, one
//!   open pull request, one org member; polling every hour so only webhooks trigger; runs are
//!   started with `/bin/true`, so they end at once as errors without touching Docker), then N
//!   signed deliveries, each a new `!testme` comment by the member, POSTed one after the other to
//!   `/hooks/forge`; each is timed from request to the `202 queued run N` answer.
//! - `bench_server poll`: forge requests per poll cycle with 20 enrolled repos (each with a pull
//!   request and a few comments): the cycle after the seeding one with nothing new, then with one
//!   new plain comment, then with one new `!testme`.
//! - `bench_server serve-runs N ADDR_FILE`: a store filled with N finished runs (five recipes,
//!   distinct trigger comments, a realistic `result.json`), served by the dashboard router on a
//!   free loopback port whose address is written to ADDR_FILE; serves until killed (the script
//!   points `wrk` at it).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use harness::redact::Redactor;
use harness::result::Outcome;
use server::config::Config;
use server::intake::Intake;
use server::store::Clock;
use server::web::{self, WebState};
use server::{paths, poller, Mode, NewRun, RunFilter, RunState, Store};
use testbed::fake_forge::{comment_webhook_request, FakeForge, HookAction, RequestRecord};

const ORG: &str = "coop-cloud";
const MEMBER: &str = "maintainer";
const SECRET: &str = "bench-hook-secret-5e1d";
const RECIPES: [&str; 5] = ["custom-html", "nextcloud", "authentik", "gitea", "wordpress"];

type Res<T> = Result<T, String>;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("webhook") => webhook(number(args.get(1), 1000)).await,
        Some("poll") => poll().await,
        Some("serve-runs") => match args.get(2) {
            Some(file) => serve_runs(number(args.get(1), 10_000), Path::new(file)).await,
            None => Err("usage: bench_server serve-runs N ADDR_FILE".into()),
        },
        _ => Err("usage: bench_server webhook [N] | poll | serve-runs N ADDR_FILE".into()),
    };
    if let Err(e) = result {
        eprintln!("bench_server: {e}");
        std::process::exit(1);
    }
}

fn number(arg: Option<&String>, default: usize) -> usize {
    arg.and_then(|a| a.parse().ok()).unwrap_or(default)
}

/// A server configuration for `repos` on `forge`, parsed from TOML like `ccci serve` does.
fn config_for(forge: &FakeForge, data_dir: &Path, repos: &[String], poll_seconds: u64) -> Res<Config> {
    let mut text = format!(
        "base_domain = \"ccci.test\"\npublic_url = \"http://ci.bench.test\"\nlisten = \"127.0.0.1:0\"\n\
         data_dir = \"{data}\"\nmax_tests = 1\npoll_interval_seconds = {poll_seconds}\n\
         [forge]\nkind = \"gitea\"\nbase_url = \"{url}\"\nbot_login = \"{bot}\"\ntoken_env = \"BENCH_TOKEN\"\n\
         [webhook]\nsecret_env = \"BENCH_SECRET\"\n[auth]\norg = \"{ORG}\"\n",
        data = data_dir.display(),
        url = forge.url(),
        bot = forge.bot_login(),
    );
    for repo in repos {
        text.push_str(&format!("[[repos]]\nrepo = \"{repo}\"\n"));
    }
    let token = forge.token();
    let env = move |name: &str| match name {
        "BENCH_TOKEN" => Some(token.clone()),
        "BENCH_SECRET" => Some(SECRET.to_string()),
        _ => None,
    };
    server::config::parse(Path::new("bench-server.toml"), &text, &env).map_err(|e| e.to_string())
}

/// Milliseconds, with a fraction.
fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The `q` quantile (nearest rank) of sorted `values`.
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Requests per route, as `route×n` in route order.
fn by_route(requests: &[RequestRecord]) -> String {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for r in requests {
        *counts.entry(format!("{} {}", r.method, r.route)).or_default() += 1;
    }
    counts.iter().map(|(route, n)| format!("{route} ×{n}")).collect::<Vec<_>>().join(", ")
}

async fn wait_for_log(path: &Path, text: &str, patience: Duration) -> Res<()> {
    let deadline = Instant::now() + patience;
    while !std::fs::read_to_string(path).unwrap_or_default().contains(text) {
        if Instant::now() > deadline {
            return Err(format!("no {text:?} in {} after {patience:?}", path.display()));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

// ----- 1. webhook → run queued -----

async fn webhook(n: usize) -> Res<()> {
    let work = tempfile::tempdir().map_err(|e| e.to_string())?;
    let forge = FakeForge::start();
    let repo = format!("{ORG}/custom-html");
    forge.create_repo(&repo);
    forge.add_pr(&repo, 1, &"c0ffee".repeat(7)[..40], "feature");
    forge.set_org_members(ORG, &[MEMBER]);
    let data_dir = work.path().join("data");
    let config = config_for(&forge, &data_dir, std::slice::from_ref(&repo), 3600)?;
    let started = server::serve::start(&config, PathBuf::from("/bin/true")).await.map_err(|e| e.to_string())?;
    wait_for_log(&data_dir.join("server.log"), "first cycle", Duration::from_secs(30)).await?;

    let client = reqwest::Client::new();
    let url = format!("http://{}/hooks/forge", started.addr);
    forge.reset_requests();
    let mut times = Vec::with_capacity(n);
    let mut last_run = String::new();
    let wall = Instant::now();
    for _ in 0..n {
        let id = forge.add_comment(&repo, 1, MEMBER, "!testme", forge.now());
        let delivery = comment_webhook_request(SECRET, &forge.comment_hook(id, HookAction::Created));
        let mut request = client.post(&url).body(delivery.body);
        for (name, value) in &delivery.headers {
            request = request.header(name, value);
        }
        let t0 = Instant::now();
        let response = request.send().await.map_err(|e| format!("POST {url}: {e}"))?;
        let status = response.status().as_u16();
        let body = response.text().await.map_err(|e| format!("POST {url}: {e}"))?;
        times.push(t0.elapsed());
        if status != 202 || !body.starts_with("queued run ") {
            return Err(format!("delivery for comment {id}: {status} {body:?}"));
        }
        last_run = body.trim().to_string();
    }
    let wall = wall.elapsed();
    let forge_requests = forge.requests();
    times.sort();
    let total: Duration = times.iter().sum();
    println!("== webhook → run queued ({n} sequential signed deliveries, one keep-alive connection)");
    println!("  last answer: 202 {last_run}");
    println!(
        "  latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}  mean {:.2}",
        ms(quantile(&times, 0.50)),
        ms(quantile(&times, 0.90)),
        ms(quantile(&times, 0.99)),
        ms(*times.last().unwrap_or(&Duration::ZERO)),
        ms(total) / n as f64
    );
    println!(
        "  rate: {:.0} deliveries/s (n / sum of latencies); {:.0}/s including making each comment",
        n as f64 / total.as_secs_f64(),
        n as f64 / wall.as_secs_f64()
    );
    println!(
        "  forge requests meanwhile (intake, feedback and the worker's runs): {} = {:.1} per delivery: {}",
        forge_requests.len(),
        forge_requests.len() as f64 / n as f64,
        by_route(&forge_requests)
    );
    println!(
        "WEBHOOK p50_ms={:.2} p99_ms={:.2} max_ms={:.2} rate_per_s={:.0}",
        ms(quantile(&times, 0.50)),
        ms(quantile(&times, 0.99)),
        ms(*times.last().unwrap_or(&Duration::ZERO)),
        n as f64 / total.as_secs_f64()
    );
    Ok(())
}

// ----- 3. forge requests per poll cycle -----

async fn poll() -> Res<()> {
    let work = tempfile::tempdir().map_err(|e| e.to_string())?;
    let forge = FakeForge::start();
    forge.set_org_members(ORG, &[MEMBER]);
    let repos: Vec<String> = (1..=20).map(|i| format!("{ORG}/recipe-{i:02}")).collect();
    let earlier = forge.now() - 3600;
    for (i, repo) in repos.iter().enumerate() {
        forge.create_repo(repo);
        forge.add_pr(repo, 1, &format!("{:040x}", i + 1), "feature");
        for k in 0..4 {
            forge.add_comment(repo, 1, "contributor", &format!("review note {k}"), earlier + k);
        }
        forge.add_comment(repo, 1, MEMBER, "!testme", earlier + 10);
    }
    let data_dir = work.path().join("data");
    std::fs::create_dir_all(&data_dir).map_err(|e| e.to_string())?;
    let config = config_for(&forge, &data_dir, &repos, 60)?;
    let intake = intake_for(&config)?;

    let cycle = |label: &'static str| {
        let forge = &forge;
        let intake = &intake;
        async move {
            forge.reset_requests();
            let t0 = Instant::now();
            poller::poll_all(intake).await;
            let took = t0.elapsed();
            let requests = forge.requests();
            println!("  {label}: {} forge request(s) in {:.1} ms: {}", requests.len(), ms(took), by_route(&requests));
            requests.len()
        }
    };
    println!("== forge requests per poll cycle, {} enrolled repos (5 comments each)", repos.len());
    let seeding = cycle("first (seeding) cycle").await;
    let idle = cycle("next cycle, nothing new").await;
    forge.add_comment(&repos[4], 1, "contributor", "looks good to me", forge.now());
    let plain = cycle("one new plain comment in one repo").await;
    forge.add_comment(&repos[7], 1, MEMBER, "!testme", forge.now());
    let testme = cycle("one new !testme in one repo").await;
    let after = cycle("next cycle, nothing new").await;
    println!("POLL seeding={seeding} idle={idle} plain_comment={plain} testme={testme} idle_after={after}");
    Ok(())
}

/// The intake `ccci serve` would build for `config` (no workers: runs stay queued).
fn intake_for(config: &Config) -> Res<Arc<Intake>> {
    Ok(server::serve::assemble(config, PathBuf::from("/bin/true")).map_err(|e| e.to_string())?.intake)
}

// ----- 2. the runs list under load -----

/// A `result.json` as `ccci test` writes it (five tiers, a few cases), about 1.5 KB.
fn result_json(id: usize, recipe: &str, outcome: Outcome, level: u32, started: i64, duration_ms: i64) -> String {
    let tiers = ["install", "upgrade", "backup", "restore", "custom"];
    let tier_rows: Vec<serde_json::Value> = tiers
        .iter()
        .enumerate()
        .map(|(i, tier)| {
            let outcome = if (i as u32) < level {
                "pass"
            } else if i as u32 == level {
                outcome.name()
            } else {
                "skipped"
            };
            serde_json::json!({
                "tier": tier,
                "outcome": outcome,
                "duration_ms": duration_ms / 5,
                "reason": if outcome == "skipped" { "an earlier tier did not pass" } else { "" },
                "cases": [
                    { "name": format!("{tier}: deploy converges"), "outcome": outcome, "message": "" },
                    { "name": format!("{tier}: serves 2xx through the proxy"), "outcome": outcome, "message": "" },
                ],
            })
        })
        .collect();
    serde_json::json!({
        "schema_version": 1,
        "run_id": format!("r{id:08x}"),
        "recipe": recipe,
        "ref": "refs/pull/1/head",
        "commit": format!("{id:040x}"),
        "mode": "cold",
        "instance": { "name": format!("{recipe}-{id:x}"), "domain": format!("{recipe}-{id:x}.ccci.test") },
        "started_at": format!("{started}"),
        "finished_at": format!("{}", started + duration_ms),
        "duration_ms": duration_ms,
        "tiers": tier_rows,
        "level": level,
        "level_of": 5,
        "outcome": outcome.name(),
        "artifacts": [],
    })
    .to_string()
}

async fn serve_runs(n: usize, addr_file: &Path) -> Res<()> {
    let work = tempfile::tempdir().map_err(|e| e.to_string())?;
    let data_dir = work.path().to_path_buf();
    // A clock the filling advances: runs of 2 to 10 minutes, one after the other, ending about now.
    let now = Arc::new(AtomicI64::new(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_millis() as i64
            - n as i64 * 450_000,
    ));
    let read = now.clone();
    let clock: Clock = Arc::new(move || read.load(Ordering::SeqCst));
    let store = Arc::new(Store::open_with_clock(&paths::store_file(&data_dir), clock).map_err(|e| e.to_string())?);
    let t0 = Instant::now();
    for i in 0..n {
        let recipe = RECIPES[i % RECIPES.len()];
        let new = NewRun {
            repo: format!("{ORG}/{recipe}"),
            recipe: recipe.to_string(),
            pr: Some((i / 25 + 1) as u64),
            commit: Some(format!("{i:040x}")),
            git_ref: Some(format!("refs/pull/{}/head", i / 25 + 1)),
            mode: Mode::Cold,
            tiers: None,
            trigger_comment_id: Some(100_000 + i as u64),
        };
        store.enqueue(&new).map_err(|e| e.to_string())?;
        now.fetch_add(20_000, Ordering::SeqCst);
        let run = store.claim_next(1).map_err(|e| e.to_string())?.ok_or("nothing to claim")?;
        let started = now.load(Ordering::SeqCst);
        let duration_ms = 120_000 + (i as i64 * 7919) % 480_000;
        now.fetch_add(duration_ms, Ordering::SeqCst);
        match i % 10 {
            9 => store.fail(run.id, "ccci test ended without a result (exit status 1)").map_err(|e| e.to_string())?,
            7 | 8 => {
                let level = (i % 4) as u32;
                let json = result_json(i, recipe, Outcome::Fail, level, started, duration_ms);
                store.finish(run.id, Outcome::Fail, level, &json).map_err(|e| e.to_string())?
            }
            _ => {
                let json = result_json(i, recipe, Outcome::Pass, 5, started, duration_ms);
                store.finish(run.id, Outcome::Pass, 5, &json).map_err(|e| e.to_string())?
            }
        }
        now.fetch_add(60_000, Ordering::SeqCst);
    }
    eprintln!("bench_server: {n} runs stored in {:.1} s", t0.elapsed().as_secs_f64());
    time_queries(&store)?;
    let state = WebState::new(store, data_dir, "http://ci.bench.test", Redactor::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    std::fs::write(addr_file, addr.to_string()).map_err(|e| format!("{}: {e}", addr_file.display()))?;
    axum::serve(listener, web::router(state)).await.map_err(|e| e.to_string())
}

/// The store's share of a runs list page: each query the page makes, alone, mean of 200 calls.
fn time_queries(store: &Store) -> Res<()> {
    let all = RunFilter::default();
    let recipe = RunFilter { recipe: Some(RECIPES[1].into()), ..RunFilter::default() };
    let finished = RunFilter { state: Some(RunState::Finished), ..RunFilter::default() };
    let mean = |f: &dyn Fn() -> Result<(), server::StoreError>| -> Res<f64> {
        let t0 = Instant::now();
        for _ in 0..200 {
            f().map_err(|e| e.to_string())?;
        }
        Ok(ms(t0.elapsed()) / 200.0)
    };
    for (label, filter) in [("all", &all), ("recipe=nextcloud", &recipe), ("state=finished", &finished)] {
        let list = mean(&|| store.list_runs(filter, 50, 0).map(drop))?;
        let count = mean(&|| store.count_runs(filter).map(drop))?;
        eprintln!("bench_server: {label}: list_runs(50) {list:.3} ms, count_runs {count:.3} ms");
    }
    let last_page = mean(&|| store.list_runs(&all, 50, 9950).map(drop))?;
    eprintln!("bench_server: all, last page (offset 9950): list_runs(50) {last_page:.3} ms");
    Ok(())
}
