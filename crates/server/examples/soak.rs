//! The server's bounded soak (`scripts/soak` runs it; figures in docs/benchmarks.md, "Soak").
//!
//! `soak CCCI DELIVERIES SECONDS KILL_EVERY`: a fake forge in this process (one repo, 40 open pull
//! requests, one org member), and `CCCI serve` as a child process on loopback configured against
//! it, with the stand-in engine `tests/stub-engine.sh` (so runs need no swarm) and short HTTP
//! timeouts. Everything is bounded in count and time and stops by itself:
//!
//! 1. a 16 MiB JSON artifact downloaded 12 times (4 at once): the server's RSS before and at its peak;
//! 2. 300 sockets, half idle, half with half-sent headers: how long until the server closed each;
//! 3. the load, spread over SECONDS: DELIVERIES webhook deliveries from 8 senders (member
//!    `!testme`s, byte-for-byte redeliveries, fresh deliveries of seen comments, forged ones with
//!    bad signatures, oversized ones, strangers' `!testme`, a member's 10 000-character command with
//!    a link, plain comments), while live-log floods and slow-header clients run beside them, the
//!    forge is slow (100 ms a request) and hiccups (two 503s, which the client retries) every
//!    second, so triggers are still being handled while the poller cycles, and the server is killed with SIGKILL and restarted every KILL_EVERY
//!    seconds; `/healthz` is probed every 250 ms, and a probe unanswered for 2 s while the server
//!    is up (not being restarted) is a stall: a wedged server must not hide behind the next kill;
//! 4. a bounded wait until the poller has caught up and the queue is empty, a clean stop, and the
//!    store checked against what was sent: every member `!testme` comment has exactly one run, no
//!    other comment has any, no run is left live, no bot comment carries the link.
//!
//! Prints one `SOAK key=value …` line at the end and exits 1 if anything was lost or doubled.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use testbed::fake_forge::{comment_webhook_request, FakeForge, HookAction, WebhookRequest};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ORG: &str = "coop-cloud";
const MEMBER: &str = "maintainer";
const STRANGER: &str = "drive-by";
const REPO: &str = "coop-cloud/soak";
const SECRET: &str = "soak-webhook-secret-9c2e77a1b4";
const PULLS: u64 = 40;
const SENDERS: usize = 8;
const HEADER_TIMEOUT_SECONDS: u64 = 2;
const LINK: &str = "https://phish.example/login";

type Res<T> = Result<T, String>;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize, default: u64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let Some(ccci) = args.first().map(PathBuf::from) else {
        eprintln!("usage: soak CCCI [DELIVERIES] [SECONDS] [KILL_EVERY]");
        std::process::exit(2);
    };
    let plan = Plan {
        ccci,
        deliveries: number(1, 3000) as usize,
        seconds: number(2, 180),
        kill_every: Duration::from_secs(number(3, 5).max(1)),
    };
    match soak(plan).await {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("soak: {e}");
            std::process::exit(1);
        }
    }
}

struct Plan {
    ccci: PathBuf,
    deliveries: usize,
    seconds: u64,
    kill_every: Duration,
}

// ----- the server under test -----

/// `ccci serve` as a child process, restarted at will; its pid is shared with the RSS sampler.
struct Server {
    ccci: PathBuf,
    config: PathBuf,
    data_dir: PathBuf,
    url: String,
    child: Option<tokio::process::Child>,
    pid: Arc<AtomicU32>,
    lives: usize,
}

impl Server {
    fn start(&mut self) -> Res<()> {
        let stderr = std::fs::File::create(self.data_dir.join(format!("serve-{}.stderr", self.lives)))
            .map_err(|e| e.to_string())?;
        let mut cmd = tokio::process::Command::new(&self.ccci);
        cmd.args(["serve", "--config"])
            .arg(&self.config)
            .env("CCCI_STUB_SECONDS", "0.2")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr);
        // A soak killed from outside takes its server along.
        swarm::process::die_with_parent(&mut cmd);
        let child = cmd.spawn().map_err(|e| format!("cannot start {}: {e}", self.ccci.display()))?;
        self.pid.store(child.id().unwrap_or(0), Ordering::SeqCst);
        self.child = Some(child);
        self.lives += 1;
        Ok(())
    }

    /// Waits (at most 60 s) until `/healthz` answers 200.
    async fn ready(&mut self) -> Res<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let client = reqwest::Client::new();
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(format!("ccci serve ended ({status}); see {}", self.data_dir.display()));
                }
            }
            if let Ok(r) = client.get(format!("{}/healthz", self.url)).send().await {
                if r.status() == 200 {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err("ccci serve did not become healthy within 60 s".into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGKILL; returns the life's peak RSS (VmHWM) in KiB.
    async fn kill9(&mut self) -> u64 {
        let peak = proc_status_kib(self.pid.load(Ordering::SeqCst), "VmHWM:").unwrap_or(0);
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
        peak
    }

    /// SIGINT (a clean stop) and wait, at most 30 s, then SIGKILL.
    async fn stop(&mut self) -> u64 {
        let pid = self.pid.load(Ordering::SeqCst);
        let peak = proc_status_kib(pid, "VmHWM:").unwrap_or(0);
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").args(["-INT", &pid.to_string()]).status();
            if tokio::time::timeout(Duration::from_secs(30), child.wait()).await.is_err() {
                let _ = child.kill().await;
            }
        }
        peak
    }
}

fn proc_status_kib(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Samples the current server's RSS every `every` while `running`; the maximum seen, in KiB.
fn sample_rss(pid: Arc<AtomicU32>, running: Arc<AtomicBool>, every: Duration) -> tokio::task::JoinHandle<u64> {
    tokio::spawn(async move {
        let mut peak = 0;
        while running.load(Ordering::SeqCst) {
            peak = peak.max(proc_status_kib(pid.load(Ordering::SeqCst), "VmRSS:").unwrap_or(0));
            tokio::time::sleep(every).await;
        }
        peak
    })
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn write_config(work: &Path, forge: &FakeForge, port: u16) -> Res<(PathBuf, PathBuf)> {
    let data_dir = work.join("data");
    let token = work.join("token");
    let secret = work.join("hook-secret");
    let engine = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/stub-engine.sh");
    std::fs::write(&token, forge.token()).map_err(|e| e.to_string())?;
    std::fs::write(&secret, SECRET).map_err(|e| e.to_string())?;
    let text = format!(
        "base_domain = \"soak.test\"\npublic_url = \"http://127.0.0.1:{port}\"\nlisten = \"127.0.0.1:{port}\"\n\
         data_dir = \"{data}\"\nmax_tests = 2\npoll_interval_seconds = 2\nengine = \"{engine}\"\n\
         [forge]\nkind = \"gitea\"\nbase_url = \"{url}\"\nbot_login = \"{bot}\"\ntoken_file = \"{token}\"\n\
         [webhook]\nsecret_file = \"{secret}\"\n[auth]\norg = \"{ORG}\"\n\
         [http]\nheader_timeout_seconds = {HEADER_TIMEOUT_SECONDS}\nidle_timeout_seconds = 10\n\
         max_connections = 512\nmax_log_streams = 32\nmax_log_streams_per_run = 4\n\
         [[repos]]\nrepo = \"{REPO}\"\n",
        data = data_dir.display(),
        engine = engine.display(),
        url = forge.url(),
        bot = forge.bot_login(),
        token = token.display(),
        secret = secret.display(),
    );
    let config = work.join("soak.toml");
    std::fs::write(&config, text).map_err(|e| e.to_string())?;
    Ok((config, data_dir))
}

// ----- the soak -----

async fn soak(plan: Plan) -> Res<bool> {
    let work = tempfile::Builder::new().prefix("ccci-soak.").tempdir().map_err(|e| e.to_string())?;
    let work = work.keep();
    eprintln!("soak: working in {}", work.display());
    let forge = Arc::new(FakeForge::start());
    forge.create_repo(REPO);
    for n in 1..=PULLS {
        forge.add_pr(REPO, n, &format!("{n:040x}"), &format!("feature-{n}"));
    }
    forge.set_org_members(ORG, &[MEMBER]);
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?;
    let (config, data_dir) = write_config(&work, &forge, port.port())?;
    let pid = Arc::new(AtomicU32::new(0));
    let mut server = Server {
        ccci: plan.ccci.clone(),
        config,
        data_dir: data_dir.clone(),
        url: format!("http://{port}"),
        child: None,
        pid: pid.clone(),
        lives: 0,
    };
    std::fs::create_dir_all(&data_dir).map_err(|e| e.to_string())?;
    server.start()?;
    server.ready().await?;
    wait_for_log(&data_dir.join("server.log"), "first cycle").await?;
    let hook_url = format!("{}/hooks/forge", server.url);

    let json = json_artifact(&forge, &server, &hook_url, &pid).await?;
    let idle = idle_sockets(&server.url).await?;
    let load = load(&plan, forge.clone(), &mut server, &hook_url, json.first).await?;
    let verdict = settle_and_check(&forge, &mut server, &load).await?;

    let mut latencies = load.latencies.lock().unwrap().clone();
    latencies.sort();
    let q = |q: f64| latencies.get(((latencies.len() as f64 * q).ceil() as usize).saturating_sub(1)).copied();
    let peak_rss = load.peak_rss_kib.max(verdict.last_peak_kib).max(json.peak_kib);
    println!("== soak: {} deliveries over {:.0} s, {} server lives", load.sent, load.wall.as_secs_f64(), server.lives);
    println!("  answers: {:?}", load.answers.lock().unwrap());
    println!("  no answer, why: {:?}", load.errors.lock().unwrap());
    println!("  forge hiccups (two 503s each): {}", load.hiccups.load(Ordering::SeqCst));
    let mut restarts = load.restarts.lock().unwrap().clone();
    restarts.sort();
    if let (Some(median), Some(max)) = (restarts.get(restarts.len() / 2), restarts.last()) {
        println!("  kill -9 to healthy again: median {:.0} ms, max {:.0} ms", ms(*median), ms(*max));
    }
    println!(
        "  /healthz probes: {}, unanswered for 2 s while the server was up: {}",
        load.probes.load(Ordering::SeqCst),
        load.stalls.load(Ordering::SeqCst)
    );
    println!("  runs by state at the end: {:?}", verdict.states);
    println!(
        "  16 MiB JSON artifact: RSS {:.1} MiB before, {:.1} MiB at most while serving it 12 times (+{:.1} MiB)",
        mib(json.before_kib),
        mib(json.peak_kib),
        mib(json.peak_kib.saturating_sub(json.before_kib))
    );
    println!(
        "  300 sockets (150 idle, 150 half-sent headers), header timeout {HEADER_TIMEOUT_SECONDS} s: all closed, \
         after {:.2} s at most (median {:.2} s)",
        idle.max.as_secs_f64(),
        idle.median.as_secs_f64()
    );
    println!(
        "  live-log floods: {} streams served, {} refused (503), {} of runs not there yet, {} failed (server \
         down); slow-header clients: {} closed by the server, after {:.2} s at most ({} reset by a kill, {} \
         still open after {} s)",
        load.sse_ok.load(Ordering::SeqCst),
        load.sse_refused.load(Ordering::SeqCst),
        load.sse_unknown.load(Ordering::SeqCst),
        load.sse_failed.load(Ordering::SeqCst),
        load.slow_closed.load(Ordering::SeqCst),
        load.slow_max_ms.load(Ordering::SeqCst) as f64 / 1000.0,
        load.slow_reset.load(Ordering::SeqCst),
        load.slow_open.load(Ordering::SeqCst),
        HEADER_TIMEOUT_SECONDS * 10
    );
    println!(
        "SOAK deliveries_sent={} member_testmes={} runs_queued={} duplicates={} lost={} unexpected={} \
         live_left={} links_posted={} stalls={} restarts={} peak_rss_mib={:.1} webhook_p50_ms={:.1} webhook_p99_ms={:.1} \
         webhook_max_ms={:.1} json16_rss_delta_mib={:.1} idle_close_max_s={:.2}",
        load.sent,
        load.expected.lock().unwrap().len(),
        verdict.runs,
        verdict.duplicates,
        verdict.lost,
        verdict.unexpected,
        verdict.live_left,
        verdict.links_posted,
        load.stalls.load(Ordering::SeqCst),
        server.lives - 1,
        mib(peak_rss),
        q(0.5).map(ms).unwrap_or(0.0),
        q(0.99).map(ms).unwrap_or(0.0),
        latencies.last().copied().map(ms).unwrap_or(0.0),
        mib(json.peak_kib.saturating_sub(json.before_kib)),
        idle.max.as_secs_f64(),
    );
    let ok = verdict.duplicates == 0
        && verdict.lost == 0
        && verdict.unexpected == 0
        && verdict.live_left == 0
        && verdict.links_posted == 0
        && load.stalls.load(Ordering::SeqCst) == 0;
    if ok {
        let _ = std::fs::remove_dir_all(&work);
    } else {
        eprintln!("soak: FAILED; the server's data is kept in {}", work.display());
    }
    Ok(ok)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn wait_for_log(path: &Path, text: &str) -> Res<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !std::fs::read_to_string(path).unwrap_or_default().contains(text) {
        if Instant::now() > deadline {
            return Err(format!("no {text:?} in {} within 60 s", path.display()));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

async fn post(client: &reqwest::Client, url: &str, request: &WebhookRequest) -> Result<u16, String> {
    let mut builder = client.post(url).body(request.body.clone());
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    let response = builder.send().await.map_err(|e| {
        let mut why = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(inner) = source {
            why = format!("{why}: {inner}");
            source = inner.source();
        }
        why.replace(url, "URL")
    })?;
    let status = response.status().as_u16();
    let _ = response.bytes().await;
    Ok(status)
}

// ----- 1. a 16 MiB JSON artifact -----

struct JsonFigures {
    /// The member `!testme` that queued run 1.
    first: u64,
    before_kib: u64,
    peak_kib: u64,
}

/// Also queues the soak's first run (comment `first` of the figures), whose directory holds the file.
async fn json_artifact(forge: &FakeForge, server: &Server, hook_url: &str, pid: &Arc<AtomicU32>) -> Res<JsonFigures> {
    let client = reqwest::Client::new();
    let id = forge.add_comment(REPO, 1, MEMBER, "!testme", forge.now());
    let status =
        post(&client, hook_url, &comment_webhook_request(SECRET, &forge.comment_hook(id, HookAction::Created))).await?;
    if status != 202 {
        return Err(format!("the first !testme was answered {status}"));
    }
    let item = format!("{{\"name\":\"case\",\"message\":\"{}\"}}", "m".repeat(1000));
    let mut text = String::from("[");
    while text.len() < 16 << 20 {
        text.push_str(&item);
        text.push_str(",\n");
    }
    text.push_str(&item);
    text.push(']');
    let dir = server.data_dir.join("runs/1/artifacts");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("big.json"), &text).map_err(|e| e.to_string())?;
    let url = format!("{}/runs/1/artifacts/artifacts/big.json", server.url);
    // Warm up the paths involved with a small answer, then measure.
    client.get(format!("{}/runs/1", server.url)).send().await.map_err(|e| e.to_string())?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before_kib = proc_status_kib(pid.load(Ordering::SeqCst), "VmRSS:").unwrap_or(0);
    let running = Arc::new(AtomicBool::new(true));
    let sampler = sample_rss(pid.clone(), running.clone(), Duration::from_millis(5));
    let fetch = |client: reqwest::Client, url: String| async move {
        let bytes =
            client.get(&url).send().await.map_err(|e| e.to_string())?.bytes().await.map_err(|e| e.to_string())?;
        Ok::<usize, String>(bytes.len())
    };
    for _ in 0..8 {
        fetch(client.clone(), url.clone()).await?;
    }
    let together: Vec<_> = (0..4).map(|_| fetch(client.clone(), url.clone())).collect();
    for got in futures_util::future::join_all(together).await {
        if got? < text.len() / 2 {
            return Err("the JSON artifact came back short".into());
        }
    }
    running.store(false, Ordering::SeqCst);
    let peak_kib = sampler.await.map_err(|e| e.to_string())?.max(before_kib);
    Ok(JsonFigures { first: id, before_kib, peak_kib })
}

// ----- 2. idle sockets and half-sent headers -----

struct IdleFigures {
    max: Duration,
    median: Duration,
}

async fn idle_sockets(url: &str) -> Res<IdleFigures> {
    let addr = url.trim_start_matches("http://").to_string();
    let mut sockets = Vec::new();
    for i in 0..300 {
        let mut socket = tokio::net::TcpStream::connect(&addr).await.map_err(|e| e.to_string())?;
        if i % 2 == 1 {
            socket.write_all(b"GET /healthz HTTP/1.1\r\nHost: soak\r\nX-Slow: ").await.map_err(|e| e.to_string())?;
        }
        sockets.push(socket);
    }
    let opened = Instant::now();
    let closes = sockets.into_iter().map(|mut socket| async move {
        let mut buf = [0u8; 512];
        let bound = Duration::from_secs(HEADER_TIMEOUT_SECONDS * 10);
        let _ = tokio::time::timeout(bound, async {
            while let Ok(n) = socket.read(&mut buf).await {
                if n == 0 {
                    break;
                }
            }
        })
        .await;
        opened.elapsed()
    });
    let mut times = futures_util::future::join_all(closes).await;
    times.sort();
    let max = *times.last().unwrap_or(&Duration::ZERO);
    if max >= Duration::from_secs(HEADER_TIMEOUT_SECONDS * 10) {
        return Err(format!("an idle socket was still open after {max:?}"));
    }
    Ok(IdleFigures { max, median: times[times.len() / 2] })
}

// ----- 3. the load -----

/// What the load did, for the summary and the check.
#[derive(Default)]
struct Load {
    sent: usize,
    wall: Duration,
    /// Member `!testme` comment ids: each must have exactly one run.
    expected: Mutex<Vec<u64>>,
    /// Every other comment id made: none may have a run.
    others: Mutex<Vec<u64>>,
    latencies: Mutex<Vec<Duration>>,
    answers: Mutex<BTreeMap<String, usize>>,
    /// Why deliveries got no answer, by message.
    errors: Mutex<BTreeMap<String, usize>>,
    peak_rss_kib: u64,
    sse_ok: AtomicUsize,
    sse_refused: AtomicUsize,
    sse_failed: AtomicUsize,
    sse_unknown: AtomicUsize,
    slow_closed: AtomicUsize,
    slow_reset: AtomicUsize,
    slow_open: AtomicUsize,
    slow_max_ms: AtomicU64,
    hiccups: AtomicUsize,
    probes: AtomicUsize,
    stalls: AtomicUsize,
    /// From each SIGKILL to the next life's healthy `/healthz`.
    restarts: Mutex<Vec<Duration>>,
}

impl Load {
    fn answer(&self, kind: &str, outcome: Result<u16, String>, took: Duration) {
        let key = match &outcome {
            Ok(status) => format!("{kind} {status}"),
            Err(e) => {
                *self.errors.lock().unwrap().entry(e.clone()).or_default() += 1;
                format!("{kind} no answer")
            }
        };
        if matches!(outcome, Ok(200 | 202)) {
            self.latencies.lock().unwrap().push(took);
        }
        *self.answers.lock().unwrap().entry(key).or_default() += 1;
    }
}

async fn load(plan: &Plan, forge: Arc<FakeForge>, server: &mut Server, hook_url: &str, first: u64) -> Res<Load> {
    let load = Arc::new(Load::default());
    load.expected.lock().unwrap().push(first);
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let deadline = Instant::now() + Duration::from_secs(plan.seconds);
    let recent: Arc<Mutex<Vec<WebhookRequest>>> = Arc::default();
    let started = Instant::now();
    let pace = Duration::from_secs(plan.seconds).mul_f64(0.9) / plan.deliveries.max(1) as u32;

    let mut senders = Vec::new();
    for _ in 0..SENDERS {
        let (forge, load, next, recent, url) =
            (forge.clone(), load.clone(), next.clone(), recent.clone(), hook_url.to_string());
        let total = plan.deliveries;
        senders.push(tokio::spawn(async move {
            // Idle connections are dropped before the server's header timeout would close them.
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .pool_idle_timeout(Duration::from_millis(HEADER_TIMEOUT_SECONDS * 500))
                .build()
                .unwrap();
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= total || Instant::now() > deadline {
                    break;
                }
                // Delivery i is due at its share of the time.
                let due = started + pace * i as u32;
                tokio::time::sleep_until(due.into()).await;
                let (kind, request) = delivery(i, &forge, &load, &recent);
                let t0 = Instant::now();
                let outcome = post(&client, &url, &request).await;
                let failed = outcome.is_err();
                load.answer(kind, outcome, t0.elapsed());
                if failed {
                    // The server is being restarted: a forge would not hammer it either.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }));
    }
    let running = Arc::new(AtomicBool::new(true));
    let sampler = sample_rss(server.pid.clone(), running.clone(), Duration::from_millis(100));
    let restarting = Arc::new(AtomicBool::new(false));
    let prober = tokio::spawn(probe_health(server.url.clone(), load.clone(), done.clone(), restarting.clone()));
    let flood = tokio::spawn(sse_flood(server.url.clone(), load.clone(), done.clone()));
    let slow = tokio::spawn(slow_headers(server.url.clone(), load.clone(), done.clone()));

    let mut peak = 0;
    let mut next_kill = Instant::now() + plan.kill_every;
    let mut next_hiccup = Instant::now();
    forge.set_latency(Duration::from_millis(100));
    while senders.iter().any(|s| !s.is_finished()) {
        if Instant::now() >= next_hiccup {
            forge.fail_next(2, 503, None);
            load.hiccups.fetch_add(1, Ordering::SeqCst);
            next_hiccup = Instant::now() + Duration::from_secs(1);
        }
        if Instant::now() >= next_kill && Instant::now() < deadline {
            restarting.store(true, Ordering::SeqCst);
            let killed = Instant::now();
            peak = peak.max(server.kill9().await);
            server.start()?;
            server.ready().await?;
            restarting.store(false, Ordering::SeqCst);
            load.restarts.lock().unwrap().push(killed.elapsed());
            next_kill = Instant::now() + plan.kill_every;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    forge.set_latency(Duration::ZERO);
    done.store(true, Ordering::SeqCst);
    running.store(false, Ordering::SeqCst);
    let _ = prober.await;
    let _ = flood.await;
    let _ = slow.await;
    let sampled = sampler.await.map_err(|e| e.to_string())?;
    let mut load = Arc::try_unwrap(load).map_err(|_| "the load's tasks still hold it".to_string())?;
    load.sent = next.load(Ordering::SeqCst).min(plan.deliveries);
    load.wall = started.elapsed();
    load.peak_rss_kib = peak.max(sampled);
    Ok(load)
}

/// Delivery `i` of the mix: what kind it is and the request (its comment made on the forge).
fn delivery(
    i: usize,
    forge: &FakeForge,
    load: &Load,
    recent: &Mutex<Vec<WebhookRequest>>,
) -> (&'static str, WebhookRequest) {
    let pr = (i as u64 % PULLS) + 1;
    let comment = |user: &str, body: &str| forge.add_comment(REPO, pr, user, body, forge.now());
    let signed = |id: u64| comment_webhook_request(SECRET, &forge.comment_hook(id, HookAction::Created));
    let replay = recent.lock().unwrap().last().cloned();
    match (i % 20, replay) {
        (12 | 13, Some(previous)) => ("redelivery", previous),
        (14, Some(_)) => {
            let id = *load.expected.lock().unwrap().last().unwrap_or(&1);
            ("fresh delivery of a seen comment", signed(id))
        }
        (15, _) => {
            let id = comment(MEMBER, "!testme");
            load.expected.lock().unwrap().push(id); // real: the poller finds it
            let mut forged = forge.comment_hook(id, HookAction::Created);
            forged.comment_id += 1_000_000_000;
            ("bad signature", comment_webhook_request("not-the-secret-at-all", &forged))
        }
        (16, _) => {
            let id = comment(MEMBER, "!testme");
            load.expected.lock().unwrap().push(id);
            let mut hook = forge.comment_hook(id, HookAction::Created);
            hook.body = format!("!testme\n{}", "p".repeat(2 << 20));
            ("oversized", comment_webhook_request(SECRET, &hook))
        }
        (17, _) => {
            let id = comment(STRANGER, "!testme");
            load.others.lock().unwrap().push(id);
            ("stranger", signed(id))
        }
        (18, _) => {
            let id = comment(MEMBER, &format!("!testme {LINK} {}", "x".repeat(10_000)));
            load.others.lock().unwrap().push(id);
            ("long command with a link", signed(id))
        }
        (19, _) => {
            let id = comment(MEMBER, "LGTM");
            load.others.lock().unwrap().push(id);
            ("plain comment", signed(id))
        }
        _ => {
            let id = comment(MEMBER, "!testme");
            load.expected.lock().unwrap().push(id);
            let request = signed(id);
            let mut recent = recent.lock().unwrap();
            recent.push(request.clone());
            if recent.len() > 50 {
                recent.remove(0);
            }
            ("member !testme", request)
        }
    }
}

/// `/healthz` every 250 ms until `done`; a probe not answered within 2 s while the server is not
/// being restarted (and was not when the probe began) is a stall.
async fn probe_health(url: String, load: Arc<Load>, done: Arc<AtomicBool>, restarting: Arc<AtomicBool>) {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().unwrap();
    while !done.load(Ordering::SeqCst) {
        let before = restarting.load(Ordering::SeqCst);
        let answered = client.get(format!("{url}/healthz")).send().await.is_ok();
        load.probes.fetch_add(1, Ordering::SeqCst);
        if !answered && !before && !restarting.load(Ordering::SeqCst) {
            load.stalls.fetch_add(1, Ordering::SeqCst);
            eprintln!("soak: /healthz unanswered for 2 s while the server was up");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Rounds of 60 live-log streams at once on random runs, each held 500 ms; until `done`, at most 400 rounds.
async fn sse_flood(url: String, load: Arc<Load>, done: Arc<AtomicBool>) {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    for round in 0..400u64 {
        if done.load(Ordering::SeqCst) {
            break;
        }
        let failed_before = load.sse_failed.load(Ordering::SeqCst);
        let streams = (0..60u64).map(|k| {
            let (client, url, load) = (client.clone(), url.clone(), load.clone());
            async move {
                let run = (round * 7 + k) % 30 + 1;
                match client.get(format!("{url}/runs/{run}/log/stream")).send().await {
                    Ok(r) if r.status() == 200 => {
                        load.sse_ok.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                    Ok(r) if r.status() == 503 => {
                        load.sse_refused.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(r) if r.status() == 404 => {
                        load.sse_unknown.fetch_add(1, Ordering::SeqCst);
                    }
                    _ => {
                        load.sse_failed.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }
        });
        futures_util::future::join_all(streams).await;
        // While the server restarts, wait for it rather than spin on refused connections.
        if load.sse_failed.load(Ordering::SeqCst) > failed_before {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// Rounds of 20 clients that send half a request's headers and wait; how long until closed.
async fn slow_headers(url: String, load: Arc<Load>, done: Arc<AtomicBool>) {
    let addr = url.trim_start_matches("http://").to_string();
    for _ in 0..200 {
        if done.load(Ordering::SeqCst) {
            break;
        }
        let clients = (0..20).map(|_| {
            let (addr, load) = (addr.clone(), load.clone());
            async move {
                let Ok(mut socket) = tokio::net::TcpStream::connect(&addr).await else { return };
                let t0 = Instant::now();
                if socket.write_all(b"POST /hooks/forge HTTP/1.1\r\nHost: soak\r\nContent-").await.is_err() {
                    return;
                }
                let mut buf = [0u8; 256];
                let bound = Duration::from_secs(HEADER_TIMEOUT_SECONDS * 10);
                // A clean close is the server's timeout; a reset is the server being killed.
                let closed = tokio::time::timeout(bound, async {
                    loop {
                        match socket.read(&mut buf).await {
                            Ok(0) => return true,
                            Ok(_) => {}
                            Err(_) => return false,
                        }
                    }
                })
                .await;
                match closed {
                    Ok(true) => {
                        load.slow_closed.fetch_add(1, Ordering::SeqCst);
                        load.slow_max_ms.fetch_max(t0.elapsed().as_millis() as u64, Ordering::SeqCst);
                    }
                    Ok(false) => {
                        load.slow_reset.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(_) => {
                        load.slow_open.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }
        });
        futures_util::future::join_all(clients).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

// ----- 4. settle and check -----

struct Verdict {
    runs: usize,
    duplicates: usize,
    lost: usize,
    unexpected: usize,
    live_left: usize,
    links_posted: usize,
    states: BTreeMap<String, usize>,
    last_peak_kib: u64,
}

/// Runs per trigger comment and per state, read from the store file (a reader beside its writer).
fn read_store(data_dir: &Path) -> Res<(HashMap<u64, usize>, BTreeMap<String, usize>)> {
    let path = data_dir.join("ccci.sqlite");
    let conn = rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut by_comment = HashMap::new();
    let mut stmt = conn
        .prepare("SELECT trigger_comment_id, COUNT(*) FROM runs WHERE trigger_comment_id IS NOT NULL GROUP BY 1")
        .map_err(|e| e.to_string())?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as usize)));
    for row in rows.map_err(|e| e.to_string())? {
        let (id, n) = row.map_err(|e| e.to_string())?;
        by_comment.insert(id, n);
    }
    let mut states = BTreeMap::new();
    let mut stmt = conn.prepare("SELECT state, COUNT(*) FROM runs GROUP BY 1").map_err(|e| e.to_string())?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as usize)));
    for row in rows.map_err(|e| e.to_string())? {
        let (state, n) = row.map_err(|e| e.to_string())?;
        states.insert(state, n);
    }
    Ok((by_comment, states))
}

async fn settle_and_check(forge: &FakeForge, server: &mut Server, load: &Load) -> Res<Verdict> {
    let expected = load.expected.lock().unwrap().clone();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (by_comment, states) = read_store(&server.data_dir)?;
        let caught_up = expected.iter().all(|id| by_comment.contains_key(id));
        let live = states.get("queued").copied().unwrap_or(0) + states.get("running").copied().unwrap_or(0);
        if (caught_up && live == 0) || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let last_peak_kib = server.stop().await;
    let (by_comment, states) = read_store(&server.data_dir)?;
    let others = load.others.lock().unwrap().clone();
    let lost: Vec<&u64> = expected.iter().filter(|id| !by_comment.contains_key(id)).collect();
    if !lost.is_empty() {
        eprintln!("soak: member !testme comments without a run: {lost:?}");
    }
    let bot = forge.bot_login();
    Ok(Verdict {
        runs: by_comment.values().sum(),
        duplicates: by_comment.values().filter(|&&n| n > 1).count(),
        lost: lost.len(),
        unexpected: others.iter().filter(|id| by_comment.contains_key(id)).count()
            + by_comment.keys().filter(|id| !expected.contains(id) && !others.contains(id)).count(),
        live_left: states.get("queued").copied().unwrap_or(0) + states.get("running").copied().unwrap_or(0),
        links_posted: forge.comments(REPO).iter().filter(|c| c.author == bot && c.body.contains("phish")).count(),
        states,
        last_peak_kib,
    })
}
