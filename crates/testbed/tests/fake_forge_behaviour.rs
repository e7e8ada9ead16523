//! The fake forge's Gitea quirks, observed over raw HTTP (not through the forge client, so a quirk
//! cannot be hidden by the client handling it): paging headers, `limit` clamping, `since`
//! semantics, the absent PR `state`, token auth, the membership redirect, the server's time zone,
//! undeclared query parameters, faults, latency and request counts.

use reqwest::header::HeaderMap;
use serde_json::Value;
use testbed::fake_forge::{FakeForge, PullSpec};

const T0: i64 = 1_700_000_000;

struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Value,
}

async fn get(fake: &FakeForge, path_and_query: &str) -> Answer {
    get_as(fake, path_and_query, Some(&fake.token())).await
}

async fn get_as(fake: &FakeForge, path_and_query: &str, token: Option<&str>) -> Answer {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut request = http.get(format!("{}{path_and_query}", fake.api_url()));
    if let Some(token) = token {
        request = request.header("authorization", format!("token {token}"));
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    Answer { status, headers, body: if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() } }
}

fn populated() -> FakeForge {
    let fake = FakeForge::start();
    fake.create_repo("o/r");
    fake.add_pr("o/r", 1, &"a".repeat(40), "feature");
    fake.add_pull("o/r", PullSpec { open: false, ..PullSpec::new(2, &"b".repeat(40), "old") });
    for i in 0..120 {
        fake.add_comment("o/r", 1, "alice", &format!("c{i}"), T0 + i);
    }
    fake
}

fn len(answer: &Answer) -> usize {
    answer.body.as_array().unwrap().len()
}

#[tokio::test]
async fn repo_comments_have_a_total_but_no_link_and_clamp_the_limit() {
    let fake = populated();
    let page = get(&fake, "/repos/o/r/issues/comments?limit=100&page=1").await;
    assert_eq!(page.status, 200);
    assert_eq!(len(&page), 50, "limit clamped to 50");
    assert_eq!(page.headers["x-total-count"], "120");
    assert!(page.headers.get("link").is_none());
    assert_eq!(len(&get(&fake, "/repos/o/r/issues/comments").await), 30, "default page size");
    assert_eq!(len(&get(&fake, "/repos/o/r/issues/comments?limit=50&page=3").await), 20);
    assert_eq!(len(&get(&fake, "/repos/o/r/issues/comments?limit=50&page=4").await), 0);
}

#[tokio::test]
async fn since_compares_updated_at_inclusively_in_whole_seconds_oldest_first() {
    let fake = populated();
    let since = |t: i64, frac: &str| {
        let iso = chrono::DateTime::from_timestamp(t, 0).unwrap().format("%Y-%m-%dT%H:%M:%S").to_string();
        format!("/repos/o/r/issues/comments?limit=50&since={iso}{frac}Z")
    };
    let answer = get(&fake, &since(T0 + 100, "")).await;
    let bodies: Vec<&str> = answer.body.as_array().unwrap().iter().map(|c| c["body"].as_str().unwrap()).collect();
    assert_eq!(bodies.first(), Some(&"c100"), "inclusive");
    assert_eq!(bodies.len(), 20);
    assert_eq!(len(&get(&fake, &since(T0 + 100, ".900")).await), 20, "one-second resolution");
    // An old comment edited later comes back, in creation order (first), with the new updated_at.
    let first = fake.comments("o/r")[0].id;
    fake.edit_comment(first, "edited", T0 + 500);
    let answer = get(&fake, &since(T0 + 110, "")).await;
    let list = answer.body.as_array().unwrap();
    assert_eq!(list.len(), 11);
    assert_eq!(list[0]["body"], "edited");
    let updated = chrono::DateTime::parse_from_rfc3339(list[0]["updated_at"].as_str().unwrap()).unwrap();
    assert_eq!(updated.timestamp(), T0 + 500);
    assert_eq!(get(&fake, "/repos/o/r/issues/comments?since=yesterday").await.status, 422);
}

#[tokio::test]
async fn times_are_in_the_servers_zone_and_urls_are_web_urls() {
    let fake = populated();
    let answer = get(&fake, "/repos/o/r/issues/comments?limit=1").await;
    let comment = &answer.body[0];
    assert!(comment["created_at"].as_str().unwrap().ends_with("+02:00"), "{comment}");
    assert_eq!(comment["pull_request_url"], format!("{}/o/r/pulls/1", fake.url()));
    assert_eq!(comment["issue_url"], "");
    assert!(!comment["pull_request_url"].as_str().unwrap().contains("/api/"));
}

#[tokio::test]
async fn pull_list_state_defaults_to_all_and_sends_link() {
    let fake = populated();
    assert_eq!(len(&get(&fake, "/repos/o/r/pulls").await), 2, "absent state means all");
    assert_eq!(len(&get(&fake, "/repos/o/r/pulls?state=open").await), 1);
    assert_eq!(len(&get(&fake, "/repos/o/r/pulls?state=closed").await), 1);
    let page = get(&fake, "/repos/o/r/pulls?state=all&limit=1&page=1").await;
    let link = page.headers["link"].to_str().unwrap();
    assert!(link.contains("rel=\"next\"") && link.contains("page=2") && link.contains("state=all"), "{link}");
    assert_eq!(page.headers["x-total-count"], "2");
    assert_eq!(get(&fake, "/repos/o/r/pulls?state=merged").await.status, 422);
}

#[tokio::test]
async fn per_issue_comments_are_not_paginated() {
    let fake = populated();
    let answer = get(&fake, "/repos/o/r/issues/1/comments").await;
    assert_eq!(len(&answer), 120);
    assert_eq!(
        get(&fake, "/repos/o/r/issues/1/comments?limit=10").await.status,
        400,
        "not a parameter the client sends"
    );
}

#[tokio::test]
async fn token_auth_is_required_and_query_tokens_are_refused() {
    let fake = populated();
    assert_eq!(get_as(&fake, "/repos/o/r/pulls", None).await.status, 401);
    assert_eq!(get_as(&fake, "/repos/o/r/pulls", Some("wrong")).await.status, 401);
    let token = fake.token();
    let in_query = get_as(&fake, &format!("/repos/o/r/pulls?access_token={token}"), None).await;
    assert_eq!(in_query.status, 401);
    assert_eq!(get(&fake, &format!("/repos/o/r/pulls?token={token}")).await.status, 400);
    assert_eq!(get(&fake, "/repos/o/r/nope").await.status, 404);
    assert_eq!(fake.request_count("unmatched"), 1);
}

#[tokio::test]
async fn membership_redirects_when_the_bot_is_outside_the_org() {
    let fake = FakeForge::start();
    fake.set_org_members("org", &["alice"]);
    assert_eq!(get(&fake, "/orgs/org/members/alice").await.status, 204);
    assert_eq!(get(&fake, "/orgs/org/members/mallory").await.status, 404);
    fake.set_bot_membership("org", false);
    let redirect = get(&fake, "/orgs/org/members/alice").await;
    assert_eq!(redirect.status, 303);
    assert_eq!(redirect.headers["location"], format!("{}/orgs/org/public_members/alice", fake.api_url()));
    // Following it would say "not a member" for a private member: the trap the client must avoid.
    assert_eq!(get(&fake, "/orgs/org/public_members/alice").await.status, 404);
}

#[tokio::test]
async fn faults_and_request_counts() {
    let fake = populated();
    fake.fail_next(2, 503, Some(3));
    let failed = get(&fake, "/repos/o/r/pulls").await;
    assert_eq!(failed.status, 503);
    assert_eq!(failed.headers["retry-after"], "3");
    assert_eq!(get(&fake, "/repos/o/r/tags").await.status, 503);
    assert_eq!(get(&fake, "/repos/o/r/tags").await.status, 200);
    fake.start_outage();
    for _ in 0..3 {
        assert_eq!(get(&fake, "/repos/o/r/tags").await.status, 503);
    }
    fake.clear_outage();
    assert_eq!(get(&fake, "/repos/o/r/tags").await.status, 200);
    let counts = fake.request_counts();
    assert_eq!(counts["list_tags"], 6);
    assert_eq!(counts["list_pulls"], 1);
    fake.reset_requests();
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn a_slow_forge_answers_after_its_latency() {
    let fake = populated();
    let latency = std::time::Duration::from_millis(300);
    fake.set_latency(latency);
    let t0 = std::time::Instant::now();
    let (a, b) = tokio::join!(get(&fake, "/repos/o/r/tags"), get(&fake, "/repos/o/r/pulls"));
    assert_eq!((a.status, b.status), (200, 200));
    assert!(t0.elapsed() >= latency, "answered before the latency");
    fake.set_latency(std::time::Duration::ZERO);
    assert_eq!(get(&fake, "/repos/o/r/tags").await.status, 200);
}

#[test]
fn works_without_an_async_runtime_and_stops_on_drop() {
    let fake = FakeForge::start();
    let addr = fake.addr();
    assert!(std::net::TcpStream::connect(addr).is_ok());
    drop(fake);
    assert!(std::net::TcpStream::connect(addr).is_err(), "the port is released");
}
