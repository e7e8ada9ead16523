//! The fake forge as a git server and a webhook sender: fixture recipes cloned over smart HTTP with
//! the real `git`, pull request commits checked out by the recipe loader (also when only
//! `refs/pull/N/head` reaches them), pushes only with the token (as HTTP basic authentication), unknown repositories 404; comment deliveries
//! the fake sends by itself, verified and parsed by the server's own webhook code, and redelivered
//! byte for byte.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::HeaderMap;
use forge::webhook::{self, CommentAction, WebhookEvent};
use hmac::{Hmac, Mac};
use serde_json::Value;
use testbed::fake_forge::{DeliveryOutcome, FakeForge};
use tokio::sync::mpsc;

const REPO: &str = "coop-cloud/app-db";
const T0: i64 = 1_700_000_000;

/// Runs git in `dir`; (success, stdout, stderr).
fn git(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env_remove("GIT_DIR")
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).trim().to_string();
    (output.status.success(), text(&output.stdout), text(&output.stderr))
}

fn head(dir: &Path) -> String {
    let (ok, out, err) = git(dir, &["rev-parse", "HEAD"]);
    assert!(ok, "{err}");
    out
}

/// A fake serving fixture `name` as `repo`; the temp dir holds the fixture's source repository.
fn fake_with(name: &str, repo: &str) -> (FakeForge, tempfile::TempDir, testbed::FixtureRepo) {
    let tmp = tempfile::tempdir().unwrap();
    let fixture = testbed::fixture(name, &tmp.path().join("src")).unwrap();
    let fake = FakeForge::start();
    fake.create_repo_from_git(repo, &fixture.path);
    (fake, tmp, fixture)
}

async fn api_get(fake: &FakeForge, path: &str) -> Value {
    let response = reqwest::Client::new()
        .get(format!("{}{path}", fake.api_url()))
        .header("authorization", format!("token {}", fake.token()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[test]
fn a_fixture_repo_clones_over_http_with_its_branches_and_tags() {
    let (fake, tmp, fixture) = fake_with("simple", "coop-cloud/simple");
    let url = fake.clone_url("coop-cloud/simple");
    assert_eq!(url, format!("http://{}/coop-cloud/simple.git", fake.addr()));
    let dest = tmp.path().join("clone");
    let (ok, _, err) = git(tmp.path(), &["clone", "--quiet", &url, &dest.to_string_lossy()]);
    assert!(ok, "git clone {url}: {err}");
    assert_eq!(head(&dest), fixture.commit("main").unwrap());
    let (_, tags, _) = git(&dest, &["tag", "--list"]);
    assert_eq!(tags.lines().collect::<Vec<_>>(), fixture.tags.iter().map(String::as_str).collect::<Vec<_>>());
    let (_, kind, _) = git(&dest, &["cat-file", "-t", fixture.latest_tag().unwrap()]);
    assert_eq!(kind, "tag", "annotated tags survive the mirror");
    assert!(fake.request_count("git_info_refs") >= 1);
    assert!(fake.request_count("git_upload_pack") >= 1);
    assert_eq!(fake.request_count("unmatched"), 0);
    // Protocol v0 too (no Git-Protocol header).
    let v0 = tmp.path().join("clone-v0");
    let (ok, _, err) = git(tmp.path(), &["-c", "protocol.version=0", "clone", "--quiet", &url, &v0.to_string_lossy()]);
    assert!(ok, "{err}");
    assert_eq!(head(&v0), fixture.commit("main").unwrap());
}

#[tokio::test]
async fn a_pull_request_commit_is_checked_out_by_the_recipe_loader() {
    let (fake, tmp, fixture) = fake_with("app-db", REPO);
    let sha = fake.open_pr_from_branch(REPO, 1, "next");
    assert_eq!(sha, fixture.commit("next").unwrap());
    let (ok, pull_ref, _) = git(&fake.git_dir(REPO), &["rev-parse", "refs/pull/1/head"]);
    assert!(ok);
    assert_eq!(pull_ref, sha);

    let pull = api_get(&fake, &format!("/repos/{REPO}/pulls/1")).await;
    assert_eq!(pull["head"]["sha"], sha.as_str());
    assert_eq!(pull["head"]["ref"], "next");
    assert_eq!(pull["head"]["repo"]["clone_url"], fake.clone_url(REPO).as_str());
    assert_eq!(pull["base"]["sha"], fixture.commit("main").unwrap().as_str());

    let url = fake.clone_url(REPO);
    let dest = tmp.path().join("by-sha");
    recipe::git::clone_at(&url, &dest, Some(&sha)).unwrap();
    assert_eq!(head(&dest), sha);

    // Branch deleted (or a fork's PR): only refs/pull/1/head reaches the commit.
    fake.delete_pr_head_branch(REPO, 1);
    let (has_branch, _, _) = git(&fake.git_dir(REPO), &["rev-parse", "--verify", "--quiet", "refs/heads/next"]);
    assert!(!has_branch);
    let dest = tmp.path().join("by-sha-pull-only");
    recipe::git::clone_at(&url, &dest, Some(&sha)).unwrap();
    assert_eq!(head(&dest), sha);
    let dest = tmp.path().join("by-ref");
    recipe::git::clone_at(&url, &dest, Some("refs/pull/1/head")).unwrap();
    assert_eq!(head(&dest), sha);

    let dest = tmp.path().join("nothing");
    let error = recipe::git::clone_at(&url, &dest, Some("no-such-rev")).unwrap_err().to_string();
    assert!(error.contains("no branch, tag or commit named `no-such-rev`"), "{error}");
}

#[test]
fn a_push_to_the_pull_request_branch_moves_its_head() {
    let (fake, tmp, fixture) = fake_with("app-db", REPO);
    let first = fake.open_pr_from_branch(REPO, 2, "next");
    let src = &fixture.path;
    assert!(git(src, &["checkout", "-q", "next"]).0);
    std::fs::write(src.join("NOTES.md"), "more\n").unwrap();
    assert!(git(src, &["add", "NOTES.md"]).0);
    let (ok, _, err) = git(src, &["-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "more"]);
    assert!(ok, "{err}");
    let second = fake.push_to_pr(REPO, 2, "next");
    assert_ne!(second, first);
    assert_eq!(second, head(src));
    let dest = tmp.path().join("pushed");
    recipe::git::clone_at(&fake.clone_url(REPO), &dest, Some("refs/pull/2/head")).unwrap();
    assert_eq!(head(&dest), second);
}

#[tokio::test]
async fn pushing_needs_the_token_and_unknown_repositories_are_404() {
    let (fake, tmp, _fixture) = fake_with("simple", "coop-cloud/simple");
    fake.create_repo("coop-cloud/no-git");
    let http = reqwest::Client::new();
    let status = |path: String, post: bool| {
        let request =
            if post { http.post(format!("{}{path}", fake.url())) } else { http.get(format!("{}{path}", fake.url())) };
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(status("/coop-cloud/simple.git/info/refs?service=git-receive-pack".into(), false).await, 401);
    assert_eq!(status("/coop-cloud/simple.git/git-receive-pack".into(), true).await, 401);
    assert_eq!(status("/coop-cloud/simple.git/info/refs?service=git-upload-pack".into(), false).await, 200);
    for repo in ["nobody/nothing", "coop-cloud/no-git"] {
        assert_eq!(status(format!("/{repo}.git/info/refs?service=git-upload-pack"), false).await, 404, "{repo}");
    }
    assert_eq!(fake.request_count("git_receive_pack"), 2);

    let dest = tmp.path().join("clone");
    let (ok, _, err) =
        git(tmp.path(), &["clone", "--quiet", &fake.clone_url("coop-cloud/simple"), &dest.to_string_lossy()]);
    assert!(ok, "{err}");
    let (ok, _, err) = git(&dest, &["push", "origin", "HEAD:refs/heads/sneaky"]);
    assert!(!ok, "a push without credentials must fail");
    assert!(err.contains("could not read Username") || err.contains("401"), "{err}");
    // With the token as the password of HTTP basic authentication, as Gitea takes it: received.
    let with = |password: &str| {
        let host = fake.url().strip_prefix("http://").unwrap().to_string();
        format!("http://bot:{password}@{host}/coop-cloud/simple.git")
    };
    let (ok, _, err) = git(&dest, &["push", &with("not-the-token"), "HEAD:refs/heads/sneaky"]);
    assert!(!ok && err.contains("Authentication failed"), "a wrong token is refused: {err}");
    let (ok, _, err) = git(&dest, &["push", &with(&fake.token()), "HEAD:refs/heads/pushed"]);
    assert!(ok, "{err}");
    let (ok, pushed, _) = git(&fake.git_dir("coop-cloud/simple"), &["rev-parse", "refs/heads/pushed"]);
    assert!(ok && pushed == head(&dest), "the branch is on the forge");
    let (ok, _, _) = git(tmp.path(), &["clone", "--quiet", &fake.clone_url("nobody/nothing"), "unknown"]);
    assert!(!ok);
}

/// A webhook receiver on the test's runtime: every delivery's headers and raw body, answered 202.
async fn receiver() -> (String, mpsc::UnboundedReceiver<(HeaderMap, Bytes)>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let tx = tx.clone();
            async move {
                tx.send((headers, body)).unwrap();
                axum::http::StatusCode::ACCEPTED
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, rx)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<(HeaderMap, Bytes)>) -> (HeaderMap, Bytes) {
    tokio::time::timeout(Duration::from_secs(10), rx.recv()).await.expect("a delivery arrives").unwrap()
}

fn comment_event(headers: &HeaderMap, body: &[u8]) -> forge::webhook::CommentEvent {
    webhook::verify_signature(b"s3cr3t", body, headers).unwrap();
    match webhook::parse_event(headers, body).unwrap() {
        WebhookEvent::Comment(event) => event,
        other => panic!("not a comment event: {other:?}"),
    }
}

#[tokio::test]
async fn a_comment_sends_a_signed_delivery_the_server_accepts_and_it_can_be_redelivered() {
    let (url, mut rx) = receiver().await;
    let fake = FakeForge::start();
    fake.create_repo(REPO);
    fake.add_pr(REPO, 4, &"4".repeat(40), "feature");
    let quiet = fake.add_comment(REPO, 4, "alice", "before the hook", T0);
    assert!(fake.deliveries().is_empty(), "no webhook set yet");
    fake.set_webhook(&url, "s3cr3t");
    let id = fake.add_comment(REPO, 4, "alice", "!testme", T0 + 1);
    assert_ne!(id, quiet);

    let (headers, body) = next(&mut rx).await;
    let event = comment_event(&headers, &body);
    assert_eq!(event.action, CommentAction::Created);
    assert_eq!(event.repo.to_string(), REPO);
    assert_eq!((event.number, event.comment_id, event.is_pull), (4, id, true));
    assert_eq!((event.author.as_str(), event.sender.as_str(), event.body.as_str()), ("alice", "alice", "!testme"));
    assert!(webhook::verify_signature(b"wrong", &body, &headers).is_err());
    for name in ["x-gitea-event", "x-forgejo-event"] {
        assert_eq!(headers[name], "issue_comment", "{name}");
    }
    assert_eq!(headers["x-gitea-event-type"], "pull_request_comment");
    let mut sha1 = Hmac::<sha1::Sha1>::new_from_slice(b"s3cr3t").unwrap();
    sha1.update(&body);
    assert_eq!(headers["x-hub-signature"], format!("sha1={}", hex::encode(sha1.finalize().into_bytes())).as_str());
    let delivery_id = event.delivery.clone().unwrap();
    assert_eq!(delivery_id.len(), 36);
    assert_eq!(headers["x-forgejo-delivery"], delivery_id.as_str());

    let deliveries = fake.wait_for_deliveries(1, Duration::from_secs(10)).await;
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].id, delivery_id);
    assert_eq!((deliveries[0].url.as_str(), deliveries[0].action.as_str()), (url.as_str(), "created"));
    assert_eq!(deliveries[0].comment_id, id);
    assert_eq!(deliveries[0].outcome, DeliveryOutcome::Answered(202));
    assert_eq!(deliveries[0].request.body, body.to_vec());

    fake.redeliver(&delivery_id);
    let (headers2, body2) = next(&mut rx).await;
    assert_eq!(body2, body, "the same bytes");
    assert_eq!(comment_event(&headers2, &body2).delivery.unwrap(), delivery_id);
    let deliveries = fake.wait_for_deliveries(2, Duration::from_secs(10)).await;
    assert_eq!(deliveries.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(), [delivery_id.as_str(); 2]);

    fake.edit_comment(id, "!testme please", T0 + 5);
    let (headers, body) = next(&mut rx).await;
    let event = comment_event(&headers, &body);
    assert_eq!(event.action, CommentAction::Edited);
    assert_eq!((event.comment_id, event.body.as_str()), (id, "!testme please"));
    assert_ne!(event.delivery.unwrap(), delivery_id, "a new delivery has a new id");
    let payload: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(payload["changes"]["body"]["from"], "!testme");
}

#[tokio::test]
async fn comments_the_bot_posts_through_the_api_are_delivered_too() {
    let (url, mut rx) = receiver().await;
    let fake = FakeForge::start();
    fake.create_repo(REPO);
    fake.add_pr(REPO, 7, &"7".repeat(40), "feature");
    fake.set_webhook(&url, "s3cr3t");
    let response = reqwest::Client::new()
        .post(format!("{}/repos/{REPO}/issues/7/comments", fake.api_url()))
        .header("authorization", format!("token {}", fake.token()))
        .json(&serde_json::json!({ "body": "cc-ci: queued" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let (headers, body) = next(&mut rx).await;
    let event = comment_event(&headers, &body);
    assert_eq!(event.action, CommentAction::Created);
    assert_eq!((event.author.as_str(), event.sender.as_str()), (fake.bot_login().as_str(), fake.bot_login().as_str()));
    assert_eq!((event.number, event.body.as_str()), (7, "cc-ci: queued"));
}

#[tokio::test]
async fn an_unreachable_receiver_does_not_block_and_is_recorded() {
    let fake = FakeForge::start();
    fake.create_repo(REPO);
    fake.add_issue(REPO, 3);
    // Nothing listens there once the listener is dropped.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    fake.set_webhook(&format!("http://127.0.0.1:{port}/hook"), "s3cr3t");
    fake.add_comment(REPO, 3, "bob", "hello", T0);
    let deliveries = fake.wait_for_deliveries(1, Duration::from_secs(10)).await;
    assert_eq!(deliveries.len(), 1);
    assert!(matches!(deliveries[0].outcome, DeliveryOutcome::Failed(_)), "{:?}", deliveries[0].outcome);
}
