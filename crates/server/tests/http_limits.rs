//! The HTTP side under slow and hostile clients, over real sockets on loopback: idle sockets and
//! half-sent headers are closed by the header timeout, a kept-alive connection too once idle, the
//! connection cap makes newcomers wait, oversized bodies are refused unread, large JSON artifacts
//! are downloads (still redacted), live-log streams are capped, and `/healthz` says what is wrong.
//! (How fast, and what it costs in memory, is measured by `scripts/soak`, not asserted here.)

mod support;

use std::io::Write as _;
use std::time::Duration;

use server::health::STORE_WRITES;
use server::{Mode, NewRun, RunId};
use support::{Served, REPO};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Generous bound on how long an awaited event may take before the test fails instead of hanging.
const PATIENCE: Duration = Duration::from_secs(60);

/// Reads until the server closes the connection; what it sent meanwhile.
async fn until_closed(mut socket: TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let read = async {
        loop {
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(PATIENCE, read).await.expect("the server closes the connection");
    got
}

/// One request on a fresh connection; the status line's code and the whole answer.
async fn raw(served: &Served, request: &[u8]) -> (u16, String) {
    let mut socket = TcpStream::connect(served.addr).await.unwrap();
    socket.write_all(request).await.unwrap();
    let text = String::from_utf8_lossy(&until_closed(socket).await).into_owned();
    let code = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (code, text)
}

fn queue_run(served: &Served, comment: u64) -> RunId {
    let run = NewRun {
        repo: REPO.into(),
        recipe: "app-db".into(),
        pr: Some(comment),
        mode: Mode::Cold,
        trigger_comment_id: Some(comment),
        ..Default::default()
    };
    served.parts.store.enqueue(&run).unwrap().id()
}

fn write_run_file(served: &Served, id: RunId, rel: &str, bytes: &[u8]) {
    let path = served.data_dir.join("runs").join(id.to_string()).join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

#[tokio::test]
async fn three_hundred_idle_sockets_and_half_sent_headers_are_closed() {
    let served = Served::start("[http]\nheader_timeout_seconds = 1\n").await;
    let mut sockets = Vec::new();
    for i in 0..300 {
        let mut socket = TcpStream::connect(served.addr).await.unwrap();
        if i % 2 == 1 {
            socket.write_all(b"GET /healthz HTTP/1.1\r\nHost: ci\r\nX-Slow: ").await.unwrap();
        }
        sockets.push(socket);
    }
    let closed = futures_util::future::join_all(sockets.into_iter().map(until_closed)).await;
    assert_eq!(closed.len(), 300);
    assert!(closed.iter().all(|got| !got.starts_with(b"HTTP/1.1 200")), "none was served");
    let (code, _) = raw(&served, b"GET /healthz HTTP/1.1\r\nHost: ci\r\nConnection: close\r\n\r\n").await;
    assert_eq!(code, 200, "the server still serves");
}

#[tokio::test]
async fn a_kept_alive_connection_is_closed_once_idle() {
    let served = Served::start("[http]\nheader_timeout_seconds = 1\n").await;
    let mut socket = TcpStream::connect(served.addr).await.unwrap();
    socket.write_all(b"GET /healthz HTTP/1.1\r\nHost: ci\r\n\r\n").await.unwrap();
    let answer = until_closed(socket).await;
    assert!(answer.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&answer));
}

#[tokio::test]
async fn connections_over_the_cap_wait_for_a_free_slot() {
    let served = Served::start("[http]\nheader_timeout_seconds = 600\nmax_connections = 3\n").await;
    let mut idle = Vec::new();
    for _ in 0..3 {
        idle.push(TcpStream::connect(served.addr).await.unwrap());
    }
    let mut late = TcpStream::connect(served.addr).await.unwrap(); // in the kernel's queue
    late.write_all(b"GET /healthz HTTP/1.1\r\nHost: ci\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut first = [0u8; 1];
    let early = tokio::time::timeout(Duration::from_millis(300), late.read(&mut first)).await;
    assert!(early.is_err(), "answered while every slot was taken");
    drop(idle.pop());
    let answer = until_closed(late).await;
    assert!(answer.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&answer));
}

#[tokio::test]
async fn oversized_bodies_are_refused_unread() {
    let served = Served::start("").await;
    let declared = format!(
        "POST /hooks/forge HTTP/1.1\r\nHost: ci\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        8 << 20
    );
    let (code, _) = raw(&served, declared.as_bytes()).await;
    assert_eq!(code, 413, "refused on the declared length, without waiting for the body");
    let (code, _) = raw(&served, declared.replace("POST /hooks/forge", "GET /").as_bytes()).await;
    assert_eq!(code, 413, "the dashboard takes no bodies either");

    // Chunked, no length declared: read up to the cap, then refused.
    let socket = TcpStream::connect(served.addr).await.unwrap();
    let (mut read, mut write) = socket.into_split();
    let sender = tokio::spawn(async move {
        let head = "POST /hooks/forge HTTP/1.1\r\nHost: ci\r\nX-Gitea-Event: issue_comment\r\n\
                    Transfer-Encoding: chunked\r\n\r\n";
        write.write_all(head.as_bytes()).await?;
        let chunk = format!("{:x}\r\n{}\r\n", 64 << 10, "x".repeat(64 << 10));
        for _ in 0..64 {
            write.write_all(chunk.as_bytes()).await?; // 4 MiB in all, unless refused first
        }
        std::io::Result::Ok(())
    });
    let mut answer = vec![0u8; 64];
    let n = tokio::time::timeout(PATIENCE, read.read(&mut answer)).await.unwrap().unwrap();
    assert!(answer[..n].starts_with(b"HTTP/1.1 413"), "{}", String::from_utf8_lossy(&answer[..n]));
    let _ = sender.await;
}

#[tokio::test]
async fn large_json_artifacts_are_downloads_and_still_redacted() {
    let served = Served::start("").await;
    let token = served.forge.token();
    let id = queue_run(&served, 1);
    let item = format!("{{\"line\":\"logged in with {token}\",\"pad\":\"{}\"}}", "p".repeat(200));
    let big = format!("[{}]", vec![item.as_str(); 8_000].join(",\n"));
    assert!(big.len() as u64 > server::web::MAX_JSON);
    write_run_file(&served, id, "artifacts/big.json", big.as_bytes());
    write_run_file(&served, id, "artifacts/small.json", format!("{{\"token\":\"{token}\"}}").as_bytes());

    let response = reqwest::get(served.url(&format!("/runs/{id}/artifacts/artifacts/big.json"))).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-disposition"], "attachment");
    let body = response.text().await.unwrap();
    assert!(!body.contains(&token), "redacted as it streams");
    assert_eq!(body.matches("[redacted]").count(), 8_000);

    let response = reqwest::get(served.url(&format!("/runs/{id}/artifacts/artifacts/small.json"))).await.unwrap();
    assert!(response.headers().get("content-disposition").is_none(), "a small one is shown");
    let body = response.text().await.unwrap();
    assert!(body.contains("\"[redacted]\"") && !body.contains(&token), "{body}");
}

#[tokio::test]
async fn live_log_streams_are_capped_per_run_and_overall() {
    let served = Served::start("[http]\nmax_log_streams = 3\nmax_log_streams_per_run = 2\n").await;
    let (one, two) = (queue_run(&served, 1), queue_run(&served, 2));
    write_run_file(&served, one, "log.txt", b"install: deploying\n");
    let stream = |id: RunId| reqwest::get(served.url(&format!("/runs/{id}/log/stream")));

    let a = stream(one).await.unwrap();
    let b = stream(one).await.unwrap();
    assert_eq!((a.status().as_u16(), b.status().as_u16()), (200, 200));
    let refused = stream(one).await.unwrap();
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers()["retry-after"], "30");
    assert!(refused.text().await.unwrap().contains("2 live log streams are open on this run"));
    let c = stream(two).await.unwrap();
    assert_eq!(c.status(), 200);
    let refused = stream(two).await.unwrap();
    assert_eq!(refused.status(), 503, "three open over all runs");
    assert!(refused.text().await.unwrap().contains("3 live log streams are open on this server"));

    // A client that goes away gives its slot back (noticed at the stream's next write).
    drop(a);
    let log = served.data_dir.join("runs").join(one.to_string()).join("log.txt");
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        std::fs::OpenOptions::new().append(true).open(&log).unwrap().write_all(b"install: more\n").unwrap();
        let again = stream(one).await.unwrap();
        if again.status() == 200 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the slot was never given back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop((b, c));
}

#[tokio::test]
async fn healthz_says_what_is_wrong() {
    let served = Served::start("").await;
    let health = |s: &Served| {
        let url = s.url("/healthz");
        async move {
            let r = reqwest::get(url).await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    assert_eq!(health(&served).await, (200, "ok\n".into()));
    served.parts.health.report(STORE_WRITES, "recording run 3's result failed: database or disk is full");
    let (code, text) = health(&served).await;
    assert_eq!(code, 503);
    assert!(text.contains("store writes: recording run 3's result failed: database or disk is full"), "{text}");
    served.parts.health.clear(STORE_WRITES);
    assert_eq!(health(&served).await.0, 200);
}
