//! The dashboard over real HTTP on loopback, against a store and run directories on disk: the runs
//! list with filters and pages, the run page, redaction of every answer, the live log (SSE),
//! artifacts (and path traversal), badges, metrics, alerts (page, API, counters), health and 404s.

#[path = "browser/fixture.rs"]
mod fixture;

use std::collections::HashMap;
use std::time::Duration;

use fixture::{Fixture, PNG, SECRET, SECRET2, SECRET2_TAIL};
use server::{Mode, RunId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ALL_PASS: &[fixture::TierSpec] = &[
    ("install", "pass", "deployed and served"),
    ("upgrade", "pass", "upgraded from 1.0.0"),
    ("backup", "pass", "backup taken"),
    ("restore", "pass", "markers restored"),
    ("custom", "pass", "2 tests passed"),
];

/// Links to run pages in an HTML page, in order.
fn run_links(html: &str) -> Vec<i64> {
    html.split("<td class=\"num\"><a href=\"/runs/")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].parse().unwrap())
        .collect()
}

#[tokio::test]
async fn runs_list_filters_and_pages() {
    let f = Fixture::new().await;
    let mut ids = Vec::new();
    for i in 0..120u64 {
        let recipe = if i % 2 == 0 { "alpha" } else { "beta" };
        ids.push(f.enqueue(recipe, Some(i % 5 + 1), Mode::Cold));
    }
    for &id in &ids[..60] {
        f.start(id);
        let tiers: &[fixture::TierSpec] =
            if id.0 % 2 == 1 { ALL_PASS } else { &[("install", "pass", "ok"), ("upgrade", "fail", "no")] };
        f.finish(id, 30_000, tiers, if id.0 % 2 == 1 { 5 } else { 2 });
    }
    f.start(ids[60]);

    let (status, _, html) = f.get("/").await;
    assert_eq!(status, 200);
    let links = run_links(&html);
    assert_eq!(links, (71..=120).rev().collect::<Vec<_>>(), "newest first, 50 per page");
    assert!(html.contains("120 runs"), "{html}");
    assert!(html.contains("href=\"/?page=2\""));
    assert!(!html.contains("rel=\"prev\""));

    let (_, _, html) = f.get("/?page=3").await;
    assert_eq!(run_links(&html), (1..=20).rev().collect::<Vec<_>>());
    assert!(html.contains("page 3 of 3") && !html.contains("rel=\"next\""));

    let (_, _, html) = f.get("/?recipe=alpha").await;
    assert!(html.contains("60 runs matching"));
    assert!(run_links(&html).iter().all(|id| id % 2 == 1), "alpha runs have odd ids");
    assert!(html.contains("href=\"/?recipe=alpha&#38;page=2\""), "paging keeps the filter: {html}");

    let (_, _, html) = f.get("/?state=running").await;
    assert_eq!(run_links(&html), vec![61]);
    assert!(html.contains("<option value=\"running\" selected>"));

    let (_, _, html) = f.get("/?state=finished&recipe=alpha").await;
    assert!(html.contains("30 runs matching"));
    assert!(html.contains("5 of 5"), "level N of M: {html}");

    let (_, _, html) = f.get("/?pr=3&recipe=&state=").await;
    assert_eq!(run_links(&html), (1..=120).filter(|i| (i - 1) % 5 + 1 == 3).rev().collect::<Vec<_>>());

    // The API: the same filters and pages.
    let (status, v) = f.json("/api/runs?recipe=beta&page=2").await;
    assert_eq!(status, 200);
    assert_eq!((v["total"].as_u64(), v["pages"].as_u64(), v["page"].as_u64()), (Some(60), Some(2), Some(2)));
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 10);
    assert!(runs.iter().all(|r| r["recipe"] == "beta"));
    assert_eq!(runs[0]["id"], 20);
    assert_eq!(runs[0]["url"], "https://ci.example.test/runs/20");
    assert_eq!((runs[0]["level"].as_u64(), runs[0]["level_of"].as_u64()), (Some(1), Some(2)));
    assert_eq!(runs[0]["duration_ms"], 30_000);
    let (_, v) = f.json("/api/runs?state=queued").await;
    assert_eq!(v["total"], 59);
    assert_eq!((v["runs"][0]["id"].as_i64(), v["runs"][0]["queue_position"].as_u64()), (Some(120), Some(59)));
    assert!(v["runs"][0]["level"].is_null() && v["runs"][0]["outcome"].is_null());
    let (_, _, html) = f.get("/?state=queued").await;
    assert!(html.contains("waiting, position 59<") && html.contains("waiting, position 10<"), "{html}");

    // Bad values: 400 with a message, as a page and as JSON.
    for q in ["state=bogus", "page=0", "page=x", "pr=abc"] {
        let (status, _, html) = f.get(&format!("/?{q}")).await;
        assert_eq!(status, 400, "{q}");
        assert!(html.contains("400"), "{html}");
        let (status, v) = f.json(&format!("/api/runs?{q}")).await;
        assert_eq!(status, 400, "{q}");
        assert!(v["error"].as_str().unwrap().contains(q.split('=').next().unwrap()), "{v}");
    }
    let (_, _, html) = f.get("/?state=bogus").await;
    assert!(html.contains("unknown state"));
}

#[tokio::test]
async fn run_page_shows_tiers_log_artifacts_and_errors() {
    let f = Fixture::new().await;
    let id = f.enqueue("app-db", Some(7), Mode::Cold);
    f.start(id);
    f.write(id, "log.txt", "install: deploying app-db\ninstall: <converged> & serving\n");
    f.write(id, "junit.xml", "<testsuites/>");
    f.write(id, "artifacts/diagnostics.txt", "docker service ps: all good\n");
    f.write(id, "artifacts/screenshots/home page.png", PNG);
    f.write(id, "artifacts/backup-app_db.tar.gz", [0x1f, 0x8b, 8, 0]);
    f.finish(
        id,
        61_000,
        &[
            ("install", "pass", "deployed and served https://app-db.ci.test"),
            ("upgrade", "pass", "upgraded from 1.0.0+2.3"),
            ("backup", "fail", "the marker <row 42> was missing after restore"),
            ("restore", "skipped", "backup failed"),
            ("custom", "skipped", "backup failed"),
        ],
        5,
    );

    let (status, _, html) = f.get(&format!("/runs/{id}")).await;
    assert_eq!(status, 200);
    for want in [
        "Run #1",
        "app-db",
        "#7",
        "refs/pull/7/head",
        "2 of 5",
        "deployed and served https://app-db.ci.test",
        "the marker &#60;row 42&#62; was missing after restore",
        "1.5s",
        "4.5s",
        "install: deploying app-db",
        "install: &#60;converged&#62; &#38; serving",
        "<img src=\"/runs/1/artifacts/artifacts/screenshots/home%20page.png\"",
        "href=\"/runs/1/artifacts/artifacts/diagnostics.txt\"",
        "href=\"/runs/1/artifacts/artifacts/backup-app_db.tar.gz\"",
        "href=\"/runs/1/artifacts/junit.xml\"",
        "href=\"/runs/1/artifacts/log.txt\"",
    ] {
        assert!(html.contains(want), "{want:?} missing from\n{html}");
    }
    assert!(!html.contains("EventSource"), "a finished run's page has no live log script");
    assert!(!html.contains("<row 42>"), "escaped");

    // A running run follows its log; the page carries the offset after the lines it shows.
    let live = f.enqueue("app-db", Some(8), Mode::Quick);
    f.start(live);
    f.append_log(live, "line one\npartial");
    let (_, _, html) = f.get(&format!("/runs/{live}")).await;
    assert!(html.contains("EventSource") && html.contains(&format!("/runs/{live}/log/stream?from=9")), "{html}");
    assert!(html.contains("line one") && !html.contains("partial"), "only whole lines while live");

    // A run the CI could not finish shows why; HTML in stored text is escaped.
    let broken = f.enqueue("x<b>y", None, Mode::Cold);
    f.store.fail(broken, "could not clone: <img src=x onerror=alert(1)>").unwrap();
    let (_, _, html) = f.get(&format!("/runs/{broken}")).await;
    assert!(html.contains("could not clone: &#60;img src=x onerror=alert(1)&#62;"), "{html}");
    assert!(html.contains("x&#60;b&#62;y") && !html.contains("x<b>y"));

    // The API: the run with its parsed result, files and URLs.
    let (status, v) = f.json(&format!("/api/runs/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(v["state"], "finished");
    assert_eq!(v["outcome"], "fail");
    assert_eq!((v["level"].as_u64(), v["level_of"].as_u64()), (Some(2), Some(5)));
    assert_eq!(v["result"]["tiers"][2]["outcome"], "fail");
    assert_eq!(v["log_url"], "https://ci.example.test/runs/1/artifacts/log.txt");
    let files: Vec<&str> = v["files"].as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert_eq!(
        files,
        [
            "artifacts/backup-app_db.tar.gz",
            "artifacts/diagnostics.txt",
            "artifacts/screenshots/home page.png",
            "junit.xml",
            "log.txt",
            "result.json"
        ]
    );
    let (_, v) = f.json(&format!("/api/runs/{live}")).await;
    assert_eq!((v["state"].as_str(), v["result"].is_null()), (Some("running"), true));
}

#[tokio::test]
async fn secrets_never_leave_the_dashboard() {
    let f = Fixture::new().await;
    let leaky = format!("token={SECRET} hook={SECRET2}");
    // A finished run whose every file and result text holds the secrets.
    let id = f.enqueue("leaky", Some(1), Mode::Cold);
    f.start(id);
    f.write(
        id,
        "log.txt",
        format!("starting\n{leaky}\nmulti {SECRET}{SECRET}\nbody {}\n", serde_json::json!({"hook": SECRET2})),
    );
    f.write(id, "artifacts/diagnostics.txt", format!("env: {leaky}\n"));
    let escaped = "we&lt;b&gt;&quot;hook&amp;s3cr3t-77tail";
    f.write(id, "junit.xml", format!("<failure message=\"{leaky}\"/>\n<failure message=\"{escaped}\"/>\n"));
    f.write(id, "artifacts/report.json", serde_json::json!({"env": leaky}).to_string());
    f.write(id, "artifacts/events.jsonl", format!("{}\n", serde_json::json!({"env": leaky})));
    f.write(id, "artifacts/page.html", format!("<p>{leaky}</p>"));
    f.write(id, &format!("artifacts/{}.png", SECRET2.replace('/', "_")), PNG);
    f.finish(id, 5_000, &[("install", "fail", &format!("login failed with {leaky}"))], 5);
    // One the CI failed, with the secret in its error and ref; a live one with it in its log.
    let failed = f.enqueue("leaky", Some(2), Mode::Cold);
    f.store.fail(failed, &format!("forge said: {leaky}")).unwrap();
    let live = f.enqueue("leaky", Some(3), Mode::Cold);
    f.start(live);
    f.append_log(live, &format!("{leaky}\n"));
    f.store.finish(live, harness::result::Outcome::Pass, 1, &format!(r#"{{"note":"{}"}}"#, SECRET)).unwrap();

    let mut paths: Vec<String> = [
        "/",
        "/?recipe=leaky",
        &format!("/?recipe={SECRET}"),
        "/recipes",
        "/api/runs",
        "/api/recipes",
        "/metrics",
        "/badge/leaky.svg",
        &format!("/nothing/{SECRET}"),
        &format!("/runs/{SECRET}"),
        &format!("/api/runs/{SECRET}"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for run in [id, failed, live] {
        paths.push(format!("/runs/{run}"));
        paths.push(format!("/api/runs/{run}"));
        paths.push(format!("/runs/{run}/log/stream"));
    }
    for file in [
        "log.txt",
        "result.json",
        "junit.xml",
        "artifacts/diagnostics.txt",
        "artifacts/page.html",
        "artifacts/report.json",
        "artifacts/events.jsonl",
    ] {
        paths.push(format!("/runs/{id}/artifacts/{file}"));
    }
    let mut redacted_somewhere = 0;
    for path in &paths {
        let (status, _, body) = tokio::time::timeout(Duration::from_secs(10), f.get(path)).await.expect(path);
        assert!(status == 200 || status == 404, "{path}: {status}");
        assert!(!body.contains(SECRET), "{path} shows the secret:\n{body}");
        assert!(!body.contains(SECRET2_TAIL), "{path} shows (part of) the second secret:\n{body}");
        assert!(!body.contains("tok3n"), "{path}: {body}");
        if body.contains("[redacted]") {
            redacted_somewhere += 1;
        }
    }
    assert!(redacted_somewhere >= 15, "the secrets were there to mask: {redacted_somewhere}");
    let (_, _, page) = f.get(&format!("/runs/{id}")).await;
    assert!(page.contains("token=[redacted] hook=[redacted]"), "{page}");
    let (_, headers, html) = f.get(&format!("/runs/{id}/artifacts/artifacts/page.html")).await;
    assert_eq!(headers["content-type"], "text/plain; charset=utf-8", "HTML artifacts are not rendered");
    assert!(html.contains("<p>token=[redacted]"));
}

/// A minimal server-sent events reader.
struct Sse {
    res: reqwest::Response,
    buf: String,
}

#[derive(Debug, PartialEq, Eq)]
struct Event {
    event: String,
    data: String,
    id: Option<String>,
}

impl Sse {
    async fn open(f: &Fixture, path: &str, last_event_id: Option<&str>) -> Sse {
        let mut req = f.http.get(format!("{}{path}", f.base));
        if let Some(id) = last_event_id {
            req = req.header("Last-Event-ID", id);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "text/event-stream");
        Sse { res, buf: String::new() }
    }

    /// The next event (comments skipped); `None` when the stream ended. Fails after 10 s.
    async fn next(&mut self) -> Option<Event> {
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                if let Some(i) = self.buf.find("\n\n") {
                    let block: String = self.buf.drain(..i + 2).collect();
                    let mut ev = Event { event: "message".into(), data: String::new(), id: None };
                    let mut data = Vec::new();
                    for line in block.lines() {
                        if let Some(v) = line.strip_prefix("data: ") {
                            data.push(v.to_owned());
                        } else if let Some(v) = line.strip_prefix("event: ") {
                            ev.event = v.into();
                        } else if let Some(v) = line.strip_prefix("id: ") {
                            ev.id = Some(v.into());
                        }
                    }
                    if data.is_empty() && ev.event == "message" {
                        continue;
                    }
                    ev.data = data.join("\n");
                    return Some(ev);
                }
                match self.res.chunk().await.unwrap() {
                    Some(bytes) => self.buf.push_str(&String::from_utf8_lossy(&bytes)),
                    None => return None,
                }
            }
        })
        .await
        .expect("no event within 10 s")
    }

    async fn data(&mut self) -> String {
        let ev = self.next().await.expect("an event");
        assert_eq!(ev.event, "message", "{ev:?}");
        ev.data
    }
}

#[tokio::test]
async fn log_stream_sends_the_log_follows_it_and_ends() {
    let f = Fixture::new().await;
    let id = f.enqueue("app-db", Some(1), Mode::Cold);
    f.start(id);
    f.append_log(id, "first line\nsecond line\n");

    let mut sse = Sse::open(&f, &format!("/runs/{id}/log/stream"), None).await;
    assert_eq!(sse.data().await, "first line");
    assert_eq!(sse.data().await, "second line");

    // Lines written after connecting arrive, redacted; a line written in two pieces arrives whole.
    f.append_log(id, &format!("third line with {SECRET}\n"));
    assert_eq!(sse.data().await, "third line with [redacted]");
    f.append_log(id, "fourth ");
    tokio::time::sleep(Duration::from_millis(600)).await;
    f.append_log(id, "line\n\n");
    assert_eq!(sse.data().await, "fourth line");
    assert_eq!(sse.data().await, " ", "an empty line is one space (browsers drop empty events)");

    // Finishing the run ends the stream, after any last line.
    f.append_log(id, "last words");
    f.finish(id, 1000, ALL_PASS, 5);
    assert_eq!(sse.data().await, "last words");
    let end = sse.next().await.expect("the end event");
    assert_eq!((end.event.as_str(), end.data.as_str()), ("end", "finished"));
    assert_eq!(sse.next().await, None, "the stream closes after end");

    // Resuming: from an offset (the page's), or from the browser's Last-Event-ID.
    let mut sse = Sse::open(&f, &format!("/runs/{id}/log/stream?from=11"), None).await;
    let ev = sse.next().await.unwrap();
    assert_eq!(ev.data, "second line");
    let mut sse = Sse::open(&f, &format!("/runs/{id}/log/stream?from=0"), Some("23")).await;
    assert_eq!(sse.data().await, "third line with [redacted]");
    // Starting mid-line (inside the secret) skips to the next line: no piece of a secret.
    let inside = 23 + "third line with tok".len();
    let mut sse = Sse::open(&f, &format!("/runs/{id}/log/stream?from={inside}"), None).await;
    assert_eq!(sse.data().await, "fourth line");
    let mut sse = Sse::open(&f, &format!("/runs/{id}/log/stream"), Some("99999")).await;
    assert_eq!(sse.next().await.unwrap().event, "end", "past the end: nothing but the end");
    // Ids are byte offsets after the batch's last line.
    let mut sse = Sse::open(&f, &format!("/runs/{id}/log/stream"), None).await;
    let mut last = None;
    while let Some(ev) = sse.next().await {
        if ev.id.is_some() {
            last = ev.id;
        }
    }
    let len = std::fs::metadata(server::paths::run_log(&f.data, id)).unwrap().len();
    assert_eq!(last, Some(len.to_string()));

    // A queued run with no log yet ends when it is superseded or failed.
    let queued = f.enqueue("app-db", Some(2), Mode::Cold);
    let mut sse = Sse::open(&f, &format!("/runs/{queued}/log/stream"), None).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    f.store.fail(queued, "cancelled").unwrap();
    let end = sse.next().await.unwrap();
    assert_eq!((end.event.as_str(), end.data.as_str()), ("end", "error"));

    let (status, _, _) = f.get("/runs/99/log/stream").await;
    assert_eq!(status, 404);
    let (status, _, _) = f.get(&format!("/runs/{id}/log/stream?from=x")).await;
    assert_eq!(status, 400);
}

/// A GET sent byte for byte (HTTP clients normalise `..` away before sending).
async fn raw_get(f: &Fixture, path: &str) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(f.addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, text)
}

#[tokio::test]
async fn artifacts_are_served_from_the_run_dir_only() {
    let f = Fixture::new().await;
    let id = f.enqueue("app-db", None, Mode::Cold);
    let other = f.enqueue("app-db", None, Mode::Cold);
    f.start(id);
    f.finish(id, 1000, ALL_PASS, 5);
    f.write(id, "log.txt", "a log\n");
    f.write(id, "junit.xml", "<testsuites/>");
    f.write(id, "artifacts/shot.png", PNG);
    f.write(id, "artifacts/diagnostics.txt", "diagnostics\n");
    f.write(id, "artifacts/backup-x.tar.gz", [0x1f, 0x8b, 8, 0, 1, 2, 3]);
    let outside = f.data.join("outside.txt");
    std::fs::write(&outside, "OUTSIDE-CONTENT").unwrap();
    f.write(other, "log.txt", "OUTSIDE-CONTENT of another run\n");
    let artifacts = f.run_dir(id).join("artifacts");
    std::os::unix::fs::symlink(&outside, artifacts.join("escape.txt")).unwrap();
    std::os::unix::fs::symlink("../../2/log.txt", artifacts.join("sibling.txt")).unwrap();
    std::os::unix::fs::symlink("/etc", artifacts.join("etc")).unwrap();
    std::os::unix::fs::symlink("diagnostics.txt", artifacts.join("inside.txt")).unwrap();

    for (file, ctype) in [
        ("artifacts/shot.png", "image/png"),
        ("artifacts/diagnostics.txt", "text/plain; charset=utf-8"),
        ("result.json", "application/json"),
        ("junit.xml", "application/xml"),
        ("artifacts/backup-x.tar.gz", "application/gzip"),
        ("log.txt", "text/plain; charset=utf-8"),
        ("artifacts/inside.txt", "text/plain; charset=utf-8"),
    ] {
        let res = f.http.get(format!("{}/runs/{id}/artifacts/{file}", f.base)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{file}");
        assert_eq!(res.headers()["content-type"], ctype, "{file}");
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
        let body = res.bytes().await.unwrap();
        let on_disk = std::fs::read(f.run_dir(id).join(file)).unwrap();
        assert_eq!(body.as_ref(), on_disk.as_slice(), "{file} served as it is (nothing to redact)");
    }

    for path in [
        "../../outside.txt",
        "../../../../../../etc/passwd",
        "%2e%2e/%2e%2e/outside.txt",
        "..%2f..%2foutside.txt",
        "artifacts/../../../outside.txt",
        "artifacts/..%5c..%5c..%5coutside.txt",
        "/etc/passwd",
        "%2fetc%2fpasswd",
        "artifacts/escape.txt",
        "artifacts/sibling.txt",
        "artifacts/etc/passwd",
        "artifacts",
        "artifacts/",
        "./log.txt",
        "nope.txt",
    ] {
        let (status, text) = raw_get(&f, &format!("/runs/{id}/artifacts/{path}")).await;
        assert_eq!(status, 404, "{path}: {text}");
        assert!(!text.contains("OUTSIDE-CONTENT") && !text.contains("root:"), "{path}: {text}");
    }
    let (status, _) = raw_get(&f, "/runs/99/artifacts/log.txt").await;
    assert_eq!(status, 404);
    let (status, _) = raw_get(&f, "/runs/..%2f2/artifacts/log.txt").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn badges_follow_the_last_cold_result() {
    let f = Fixture::new().await;
    let finished = |recipe: &str, mode: Mode, tiers: &[fixture::TierSpec]| {
        let id = f.enqueue(recipe, None, mode);
        f.start(id);
        f.finish(id, 1000, tiers, 5);
    };
    finished("good", Mode::Cold, ALL_PASS);
    finished("bad", Mode::Cold, &[("install", "pass", "ok"), ("upgrade", "pass", "ok"), ("backup", "fail", "no")]);
    let broke = f.enqueue("broke", None, Mode::Cold);
    f.store.fail(broke, "the server stopped").unwrap();
    // Newer results decide; quick runs and queued runs do not count.
    finished("mixed", Mode::Cold, ALL_PASS);
    finished("mixed", Mode::Cold, &[("install", "fail", "no")]);
    finished("mixed", Mode::Quick, ALL_PASS);
    f.enqueue("mixed", None, Mode::Cold);

    for (recipe, colour, text) in [
        ("good", "#2b8a3e", "level 5/5"),
        ("bad", "#c92a2a", "level 2/5"),
        ("broke", "#868e96", "error"),
        ("never-tested", "#868e96", "unknown"),
        ("mixed", "#c92a2a", "level 0/5"),
    ] {
        let (status, headers, svg) = f.get(&format!("/badge/{recipe}.svg")).await;
        assert_eq!(status, 200, "{recipe}");
        assert_eq!(headers["content-type"], "image/svg+xml; charset=utf-8");
        assert_eq!(headers["cache-control"], "no-cache");
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""), "{svg}");
        assert!(svg.contains(&format!("fill=\"{colour}\"")), "{recipe}: {svg}");
        assert!(svg.contains(&format!(">{text}</text>")), "{recipe}: {svg}");
        assert!(svg.contains(">cc-ci</text>"));
    }
    for path in ["/badge/good", "/badge/.svg", "/badge/good.png"] {
        let (status, _, _) = f.get(path).await;
        assert_eq!(status, 404, "{path}");
    }

    // The recipes page and API: one row per recipe, the last result per mode, the badge.
    let (status, _, html) = f.get("/recipes").await;
    assert_eq!(status, 200);
    for want in [
        "<img class=\"badge\" src=\"/badge/good.svg\"",
        "href=\"/?recipe=mixed\"",
        "[![cc-ci](https://ci.example.test/badge/good.svg)](https://ci.example.test/?recipe=good)",
        "level 2 of 5",
    ] {
        assert!(html.contains(want), "{want:?} missing from\n{html}");
    }
    let (_, v) = f.json("/api/recipes").await;
    let recipes = v["recipes"].as_array().unwrap();
    let names: Vec<&str> = recipes.iter().map(|r| r["recipe"].as_str().unwrap()).collect();
    assert_eq!(names, ["bad", "broke", "good", "mixed"]);
    let mixed = &recipes[3];
    assert_eq!(mixed["runs"], 4);
    assert_eq!((mixed["cold"]["outcome"].as_str(), mixed["cold"]["run"].as_i64()), (Some("fail"), Some(5)));
    assert_eq!((mixed["quick"]["outcome"].as_str(), mixed["quick"]["level"].as_u64()), (Some("pass"), Some(5)));
    assert_eq!(recipes[1]["cold"]["state"], "error");
    assert!(recipes[0]["quick"].is_null());
    assert_eq!(mixed["badge_url"], "https://ci.example.test/badge/mixed.svg");
}

/// The samples of a Prometheus text exposition, checking every line's syntax.
fn parse_metrics(text: &str) -> HashMap<String, f64> {
    let mut samples = HashMap::new();
    let mut typed = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(["gauge", "counter", "summary"].contains(&kind), "{line}");
            typed.push(name.to_owned());
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("not a sample: {line:?}"));
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("bad value: {line:?}"));
        let name = series.split('{').next().unwrap();
        assert!(
            !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
                && !name.starts_with(|c: char| c.is_ascii_digit()),
            "bad name: {line:?}"
        );
        if let Some(labels) = series.strip_prefix(name) {
            if !labels.is_empty() {
                let inner = labels.strip_prefix('{').and_then(|l| l.strip_suffix('}')).expect(line);
                for pair in inner.split("\",") {
                    let (k, v) = pair.split_once("=\"").expect(line);
                    assert!(k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "{line}");
                    assert!(!v.trim_end_matches('"').contains('"'), "{line}");
                }
            }
        }
        assert!(
            typed
                .iter()
                .any(|t| name == t || name.strip_prefix(t.as_str()).is_some_and(|s| s == "_sum" || s == "_count")),
            "{name} has no TYPE line before it"
        );
        assert!(samples.insert(series.to_owned(), value).is_none(), "duplicate {series}");
    }
    samples
}

#[tokio::test]
async fn metrics_count_runs_by_state_and_outcome() {
    let f = Fixture::new().await;
    let done = |recipe: &str, took: i64, tiers: &[fixture::TierSpec]| {
        let id = f.enqueue(recipe, Some(1), Mode::Cold);
        f.start(id);
        f.finish(id, took, tiers, 5);
    };
    done("app", 30_000, ALL_PASS);
    done("app", 90_000, ALL_PASS);
    done("db", 12_500, &[("install", "fail", "no")]);
    let crashed = f.enqueue("db", Some(2), Mode::Cold);
    f.start(crashed);
    f.store.fail(crashed, "the server stopped").unwrap();
    let running = f.enqueue("app", Some(3), Mode::Cold);
    f.start(running);
    f.enqueue("app", Some(4), Mode::Cold);
    let newer = server::NewRun {
        repo: "coop-cloud/app".into(),
        recipe: "app".into(),
        pr: Some(4),
        trigger_comment_id: Some(9_999),
        ..Default::default()
    };
    assert_eq!(f.store.enqueue_for_pr(&newer).unwrap().1.len(), 1, "the older run of PR 4 is superseded");
    f.enqueue("db", Some(5), Mode::Cold);

    let (status, headers, text) = f.get("/metrics").await;
    assert_eq!(status, 200);
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let m = parse_metrics(&text);
    let want = [
        ("ccci_runs{state=\"queued\"}", 2.0),
        ("ccci_runs{state=\"running\"}", 1.0),
        ("ccci_runs{state=\"finished\"}", 3.0),
        ("ccci_runs{state=\"superseded\"}", 1.0),
        ("ccci_runs{state=\"error\"}", 1.0),
        ("ccci_queue_length", 2.0),
        ("ccci_runs_finished_total{outcome=\"pass\"}", 2.0),
        ("ccci_runs_finished_total{outcome=\"fail\"}", 1.0),
        ("ccci_runs_finished_total{outcome=\"error\"}", 1.0),
        ("ccci_run_duration_seconds_sum{recipe=\"app\",mode=\"cold\"}", 120.0),
        ("ccci_run_duration_seconds_count{recipe=\"app\",mode=\"cold\"}", 2.0),
        ("ccci_run_duration_seconds_sum{recipe=\"db\",mode=\"cold\"}", 12.5),
        ("ccci_run_last_duration_seconds{recipe=\"app\",mode=\"cold\"}", 90.0),
        ("ccci_run_last_duration_seconds{recipe=\"db\",mode=\"cold\"}", 12.5),
    ];
    for (series, value) in want {
        assert_eq!(m.get(series), Some(&value), "{series} in\n{text}");
    }
    for kind in alerts::Kind::ALL {
        assert_eq!(m.get(&format!("ccci_alerts_total{{kind=\"{}\"}}", kind.name())), Some(&0.0), "{text}");
    }
    assert_eq!(m.len(), want.len() + 1 + alerts::Kind::ALL.len(), "db's count too, nothing else:\n{text}");
}

#[tokio::test]
async fn alerts_show_on_their_page_in_the_api_and_as_counters() {
    let f = Fixture::new().await;
    let (_, _, html) = f.get("/alerts").await;
    assert!(html.contains("No alerts"), "{html}");
    let store = alerts::AlertStore::new(&f.data);
    let hook = alerts::Sink {
        name: "hook".into(),
        kind: alerts::SinkKind::Webhook,
        url: "http://127.0.0.1:9/".into(),
        token: None,
    };
    let about = |message: &str, notes: Option<&str>| alerts::NewAlert {
        app: Some("proxy".into()),
        recipe: Some("traefik".into()),
        from_version: Some("1.1.0+v3.7.15".into()),
        to_version: Some("2.0.0+v3.7.15".into()),
        message: message.into(),
        release_notes: notes.map(str::to_string),
    };
    let held = store
        .raise(alerts::Kind::UpdateHeld, about("held: the major version changes", Some("Traefik <4>")), &[hook])
        .unwrap();
    let rolled = store.raise(alerts::Kind::UpdateRolledBack, about("rolled back", None), &[]).unwrap();

    let (status, _, html) = f.get("/alerts").await;
    assert_eq!(status, 200);
    let (at_held, at_rolled) =
        (html.find(&format!("alert-{}", held.id)).unwrap(), html.find(&format!("alert-{}", rolled.id)).unwrap());
    assert_eq!(at_rolled < at_held, rolled.id > held.id, "newest (greatest id) first: {html}");
    assert!(html.contains("update_held") && html.contains("1.1.0+v3.7.15 → 2.0.0+v3.7.15"), "{html}");
    assert!(html.contains("Traefik &#60;4&#62;"), "the notes, escaped: {html}");
    assert!(html.contains("hook: pending (0 attempts)"), "{html}");
    assert!(html.contains("href=\"/alerts\""), "the nav links the page");

    let (status, v) = f.json("/api/alerts").await;
    assert_eq!(status, 200);
    let listed = v["alerts"].as_array().unwrap();
    assert_eq!(listed.len(), 2, "{v}");
    assert!(listed.iter().any(|a| a["kind"] == "update_held" && a["release_notes"] == "Traefik <4>"), "{v}");

    let (_, _, text) = f.get("/metrics").await;
    let m = parse_metrics(&text);
    assert_eq!(m.get("ccci_alerts_total{kind=\"update_held\"}"), Some(&1.0), "{text}");
    assert_eq!(m.get("ccci_alerts_total{kind=\"update_rolled_back\"}"), Some(&1.0), "{text}");
    assert_eq!(m.get("ccci_alerts_total{kind=\"disk_low\"}"), Some(&0.0), "{text}");
}

#[tokio::test]
async fn healthz_is_ok_until_the_store_breaks() {
    let f = Fixture::new().await;
    let (status, _, body) = f.get("/healthz").await;
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    let conn = rusqlite::Connection::open(server::paths::store_file(&f.data)).unwrap();
    conn.execute_batch("ALTER TABLE runs RENAME TO runs_gone").unwrap();
    let (status, _, body) = f.get("/healthz").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("runs"), "{body}");
}

#[tokio::test]
async fn unknown_runs_and_pages_are_404() {
    let f = Fixture::new().await;
    let id = f.enqueue("app", None, Mode::Cold);
    assert_eq!(id, RunId(1));
    for path in
        ["/runs/2", "/runs/0", "/runs/-1", "/runs/abc", "/nope", "/runs/2/log/stream", "/runs/2/artifacts/log.txt"]
    {
        let (status, headers, html) = f.get(path).await;
        assert_eq!(status, 404, "{path}");
        assert!(headers["content-type"].to_str().unwrap().starts_with("text/html"), "{path}");
        assert!(html.contains("404 Not Found"), "{path}: {html}");
    }
    let (_, _, html) = f.get("/runs/2").await;
    assert!(html.contains("there is no run 2"));
    for path in ["/api/runs/2", "/api/runs/abc", "/api/nope"] {
        let (status, v) = f.json(path).await;
        assert_eq!(status, 404, "{path}");
        assert!(v["error"].is_string(), "{path}: {v}");
    }
}

#[tokio::test]
async fn sweeps_pages_and_api_show_reports_redacted_and_unknown_sweeps_are_404() {
    let f = Fixture::new().await;
    let (status, _, html) = f.get("/sweeps").await;
    assert!(status == 200 && html.contains("No sweep has run yet.") && html.contains("Not measured yet."), "{html}");
    let id = f.store.begin_sweep("schedule").unwrap().unwrap();
    let report = serde_json::json!({
        "id": id, "trigger": "schedule", "started_at": 0, "finished_at": 1, "waited_for_runs": 0, "waited_ms": 0,
        "infra": {"status": "not_configured"},
        "recipes": [
            {"recipe": "app", "repo": "o/app", "mirror": null, "newest_release": "1.1.0+1", "canonical": "1.0.0+1",
             "action": "tested", "tag": "1.1.0+1", "run": 1, "outcome": "pass", "promoted": true,
             "why": "new release 1.1.0+1", "notice": "promoted: …"},
            {"recipe": "other", "repo": "o/other", "mirror": null, "newest_release": null, "canonical": null,
             "action": "failed", "error": format!("pushing to the mirror: token {SECRET} refused")}
        ],
        "cleanup": null, "error": null
    });
    f.store.update_sweep(id, server::store::SweepState::Finished, Some(&report.to_string())).unwrap();

    let (_, _, html) = f.get("/sweeps").await;
    assert!(
        html.contains("href=\"/sweeps/1\"") && html.contains("1 promoted, 0 not promoted, 0 skipped, 1 failed"),
        "{html}"
    );
    let (status, _, html) = f.get("/sweeps/1").await;
    assert_eq!(status, 200);
    assert!(html.contains("1.1.0+1 tested, promoted") && html.contains("href=\"/runs/1\""), "{html}");
    assert!(html.contains("infra</dt><dd>not configured") && html.contains("pushing to the mirror"), "{html}");
    assert!(!html.contains(SECRET), "the page is redacted");
    let (status, list) = f.json("/api/sweeps").await;
    assert_eq!(status, 200);
    assert_eq!(list[0]["state"], "finished");
    assert_eq!(list[0]["report"]["recipes"][0]["promoted"], true, "{list}");
    assert!(!list.to_string().contains(SECRET), "the API is redacted: {list}");
    assert_eq!(f.json("/api/sweeps/1").await.1["id"], 1);
    assert_eq!(f.json("/api/disk").await, (200, serde_json::Value::Null));
    for path in ["/sweeps/2", "/sweeps/abc"] {
        assert_eq!(f.get(path).await.0, 404, "{path}");
    }
    let (status, v) = f.json("/api/sweeps/2").await;
    assert!(status == 404 && v["error"].is_string(), "{v}");
}
