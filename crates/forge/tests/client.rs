//! The forge client against the fake forge over real HTTP on loopback: paging, `since`, edits,
//! membership (204/404/303, never followed), closing pull requests, retries and outages, statuses, tags, and the token
//! staying out of URLs.

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use forge::{Client, Config, Error, Membership, NewStatus, RepoRef, RetryPolicy, SecretString, StatusState};
use testbed::fake_forge::{FakeForge, PullSpec};

const REPO: &str = "coop-cloud/example";
const T0: i64 = 1_700_000_000;

fn repo() -> RepoRef {
    REPO.parse().unwrap()
}

fn fast_retry() -> RetryPolicy {
    RetryPolicy { max_retries: 3, base_delay: Duration::from_millis(10), max_delay: Duration::from_millis(50) }
}

fn client(fake: &FakeForge) -> Client {
    let config = Config::new(&fake.url(), SecretString::from(fake.token())).unwrap().with_retry(fast_retry());
    Client::new(config).unwrap()
}

fn at(unix: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(unix, 0).unwrap()
}

/// A fake with one repository, PR #1 and 120 comments on it, three per second from T0.
fn fake_with_comments() -> FakeForge {
    let fake = FakeForge::start();
    fake.create_repo(REPO);
    fake.add_pr(REPO, 1, &"a".repeat(40), "feature");
    for i in 0..120 {
        fake.add_comment(REPO, 1, "alice", &format!("comment {i}"), T0 + i / 3);
    }
    fake
}

#[tokio::test]
async fn reads_120_comments_over_three_pages_without_link_headers() {
    let fake = fake_with_comments();
    let comments = client(&fake).repo_comments_since(&repo(), None).await.unwrap();
    assert_eq!(comments.len(), 120);
    let bodies: Vec<String> = comments.iter().map(|c| c.body.clone()).collect();
    assert_eq!(bodies[0], "comment 0");
    assert_eq!(bodies[119], "comment 119");
    assert_eq!(fake.request_count("repo_comments"), 3, "pages of 50, 50 and 20");
    assert!(comments.iter().all(|c| c.pull_number() == Some(1) && c.author() == "alice"));
    assert_eq!(forge::high_water_mark(&comments), Some(at(T0 + 39)));
}

#[tokio::test]
async fn since_is_inclusive_at_one_second_resolution() {
    let fake = fake_with_comments();
    let client = client(&fake);
    // Comments at T0+20 are numbers 60, 61, 62; a mark 700 ms into that second still includes them.
    let mark = at(T0 + 20) + chrono::Duration::milliseconds(700);
    let comments = client.repo_comments_since(&repo(), Some(mark)).await.unwrap();
    assert_eq!(comments.len(), 60);
    assert_eq!(comments[0].body, "comment 60");
    let since = fake.requests().into_iter().find(|r| r.route == "repo_comments").unwrap().uri;
    assert!(since.contains("since=2023-11-14T22%3A13%3A40Z"), "{since}");
}

#[tokio::test]
async fn a_forge_with_a_smaller_page_size_is_still_read_to_the_end() {
    let fake = fake_with_comments();
    let mut config = Config::new(&fake.url(), SecretString::from(fake.token())).unwrap();
    config.page_limit = 100; // the fake clamps it to 50: short pages must not end the listing
    let comments = Client::new(config).unwrap().repo_comments_since(&repo(), None).await.unwrap();
    assert_eq!(comments.len(), 120);
}

#[tokio::test]
async fn an_edited_comment_comes_back_with_a_new_updated_at() {
    let fake = fake_with_comments();
    let client = client(&fake);
    let first = client.repo_comments_since(&repo(), None).await.unwrap();
    let mark = forge::high_water_mark(&first).unwrap();
    let edited = first[5].id;
    fake.edit_comment(edited, "!testme", T0 + 100);
    let again = client.repo_comments_since(&repo(), Some(mark)).await.unwrap();
    // The three comments at the mark (inclusive) plus the edited one.
    let ids: Vec<u64> = again.iter().map(|c| c.id).collect();
    assert!(ids.contains(&edited), "{ids:?}");
    assert_eq!(again.len(), 4);
    let comment = again.iter().find(|c| c.id == edited).unwrap();
    assert_eq!(comment.body, "!testme");
    assert_eq!(comment.updated_at, at(T0 + 100));
    assert!(comment.is_edited());
    assert_eq!(forge::high_water_mark(&again), Some(at(T0 + 100)));
}

#[tokio::test]
async fn open_pulls_are_asked_for_explicitly_and_heads_are_read() {
    let fake = FakeForge::start();
    fake.create_repo(REPO);
    fake.add_pr(REPO, 1, &"1".repeat(40), "feature-one");
    fake.add_pull(REPO, PullSpec { open: false, ..PullSpec::new(2, &"2".repeat(40), "old") });
    fake.add_pr(REPO, 3, &"3".repeat(40), "gone");
    fake.delete_pr_head_branch(REPO, 3);
    let client = client(&fake);
    let open = client.list_open_pulls(&repo()).await.unwrap();
    let mut numbers: Vec<u64> = open.iter().map(|p| p.number).collect();
    numbers.sort();
    assert_eq!(numbers, [1, 3], "an absent state would have listed the closed one too");
    assert!(fake.requests().iter().any(|r| r.route == "list_pulls" && r.uri.contains("state=open")));

    let one = client.get_pull(&repo(), 1).await.unwrap();
    assert_eq!((one.head.sha.as_str(), one.head.git_ref.as_str()), ("1".repeat(40).as_str(), "feature-one"));
    assert_eq!(one.base.git_ref, "main");
    assert!(one.head.repo.is_some());
    let gone = client.get_pull(&repo(), 3).await.unwrap();
    assert_eq!(gone.head.git_ref, "refs/pull/3/head");
    assert!(gone.head.repo.is_none());
    assert_eq!(gone.pull_ref(), "refs/pull/3/head");

    let missing = client.get_pull(&repo(), 99).await.unwrap_err();
    assert_eq!(missing.status(), Some(404));
    assert_eq!(fake.requests().iter().filter(|r| r.uri.ends_with("/pulls/99")).count(), 1, "404 is not retried");
}

#[tokio::test]
async fn a_pull_request_is_closed_and_closing_it_again_changes_nothing() {
    let fake = FakeForge::start();
    fake.create_repo(REPO);
    fake.add_pr(REPO, 1, &"1".repeat(40), "merged-upstream");
    fake.add_pr(REPO, 2, &"2".repeat(40), "other");
    let client = client(&fake);
    let closed = client.close_pull(&repo(), 1).await.unwrap();
    assert_eq!(closed.number, 1);
    assert!(!fake.pull_is_open(REPO, 1) && fake.pull_is_open(REPO, 2));
    client.close_pull(&repo(), 1).await.unwrap();
    let open: Vec<u64> = client.list_open_pulls(&repo()).await.unwrap().iter().map(|p| p.number).collect();
    assert_eq!(open, [2]);
    assert_eq!(client.close_pull(&repo(), 99).await.unwrap_err().status(), Some(404));
    let edits = fake.requests().into_iter().filter(|r| r.route == "edit_pull").count();
    assert_eq!(edits, 3, "PATCH …/pulls/{{n}}, each once");
}

#[tokio::test]
async fn comments_are_posted_and_edited() {
    let fake = FakeForge::start();
    fake.create_repo(REPO);
    fake.add_pr(REPO, 7, &"7".repeat(40), "feature");
    fake.set_now(T0);
    let client = client(&fake);
    let posted = client.post_comment(&repo(), 7, "queued (position 1)").await.unwrap();
    assert_eq!(posted.pull_number(), Some(7));
    assert_eq!(posted.author(), fake.bot_login());
    assert!(posted.issue_url.is_empty() && posted.pull_request_url.ends_with("/coop-cloud/example/pulls/7"));
    fake.set_now(T0 + 90);
    let edited = client.edit_comment(&repo(), posted.id, "| tier | result |").await.unwrap().unwrap();
    assert_eq!(edited.body, "| tier | result |");
    assert_eq!(edited.updated_at, at(T0 + 90));
    assert_eq!(edited.created_at, at(T0));
    let on_forge = fake.posted_comments();
    assert_eq!(on_forge.len(), 1);
    assert_eq!(on_forge[0].body, "| tier | result |");
    assert_eq!(fake.edits().len(), 1);
    assert_eq!(fake.edits()[0].comment_id, posted.id);
}

#[tokio::test]
async fn membership_is_204_or_404_and_a_303_is_a_configuration_error() {
    let fake = FakeForge::start();
    fake.set_org_members("coop-cloud", &["alice"]);
    fake.set_public_members("coop-cloud", &["alice"]);
    let client = client(&fake);
    assert_eq!(client.org_membership("coop-cloud", "alice").await.unwrap(), Membership::Member);
    assert_eq!(client.org_membership("coop-cloud", "mallory").await.unwrap(), Membership::NotMember);
    assert!(client.is_org_member("coop-cloud", "alice").await);
    assert!(!client.is_org_member("coop-cloud", "mallory").await);

    fake.set_bot_membership("coop-cloud", false);
    fake.reset_requests();
    let err = client.org_membership("coop-cloud", "alice").await.unwrap_err();
    assert!(matches!(err, Error::MembershipRedirect { .. }), "{err}");
    assert!(err.to_string().contains("must itself be a member"), "{err}");
    // Fail closed, and never follow the redirect to the public-members check (which says yes).
    assert!(!client.is_org_member("coop-cloud", "alice").await);
    assert_eq!(fake.request_count("org_public_member"), 0);
    assert_eq!(fake.request_count("org_member"), 2);
}

#[tokio::test]
async fn any_error_refuses_authorisation() {
    let fake = FakeForge::start();
    fake.set_org_members("coop-cloud", &["alice"]);
    fake.start_outage();
    assert!(!client(&fake).is_org_member("coop-cloud", "alice").await);
    fake.clear_outage();
    let wrong = Client::new(Config::new(&fake.url(), SecretString::from("wrong".to_string())).unwrap()).unwrap();
    assert!(!wrong.is_org_member("coop-cloud", "alice").await);
    assert!(!client(&fake).is_org_member("no-such-org", "alice").await);
}

#[tokio::test]
async fn transient_failures_are_retried_a_bounded_number_of_times() {
    let fake = FakeForge::start();
    fake.create_repo(REPO);
    let client = client(&fake);

    fake.fail_next(2, 503, None);
    assert!(client.list_tags(&repo()).await.unwrap().is_empty());
    assert_eq!(fake.request_count("list_tags"), 3);

    fake.reset_requests();
    fake.start_outage();
    let err = client.list_tags(&repo()).await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert!(matches!(err, Error::Status { attempts: 4, .. }), "{err}");
    assert_eq!(fake.request_count("list_tags"), 4, "one attempt and three retries");
    fake.clear_outage();

    fake.reset_requests();
    fake.fail_next(1, 401, None);
    assert_eq!(client.list_tags(&repo()).await.unwrap_err().status(), Some(401));
    assert_eq!(fake.request_count("list_tags"), 1, "4xx is final");
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let fake = FakeForge::start();
    fake.create_repo(REPO);
    let retry = RetryPolicy { max_retries: 2, base_delay: Duration::from_millis(1), max_delay: Duration::from_secs(5) };
    let config = Config::new(&fake.url(), SecretString::from(fake.token())).unwrap().with_retry(retry);
    let client = Client::new(config).unwrap();
    fake.fail_next(1, 429, Some(1));
    let started = Instant::now();
    client.list_tags(&repo()).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(950), "waited {:?}", started.elapsed());
}

#[tokio::test]
async fn a_comment_is_not_posted_twice_after_a_server_error() {
    let fake = FakeForge::start();
    fake.create_repo(REPO);
    fake.add_pr(REPO, 1, &"a".repeat(40), "feature");
    let client = client(&fake);
    fake.fail_next(1, 500, None);
    assert_eq!(client.post_comment(&repo(), 1, "hello").await.unwrap_err().status(), Some(500));
    assert_eq!(fake.request_count("post_comment"), 1);
    fake.fail_next(1, 503, None);
    client.post_comment(&repo(), 1, "hello").await.unwrap();
    assert_eq!(fake.posted_comments().len(), 1);
}

#[tokio::test]
async fn unreachable_forge_is_a_transport_error_after_retries() {
    let fake = FakeForge::start();
    let url = fake.url();
    drop(fake);
    let config = Config::new(&url, SecretString::from("t".to_string())).unwrap().with_retry(fast_retry());
    let err = Client::new(config).unwrap().list_tags(&repo()).await.unwrap_err();
    assert!(matches!(err, Error::Transport { attempts: 4, .. }), "{err}");
}

#[tokio::test]
async fn statuses_are_posted_with_the_right_body() {
    let fake = FakeForge::start();
    fake.create_repo(REPO);
    let client = client(&fake);
    let sha = "c".repeat(40);
    for state in [StatusState::Pending, StatusState::Success, StatusState::Failure, StatusState::Error] {
        let status = NewStatus {
            state,
            context: "cc-ci/install".into(),
            description: format!("tests {}", state.as_str()),
            target_url: "https://ci.example.org/runs/42".into(),
        };
        let created = client.create_status(&repo(), &sha, &status).await.unwrap();
        assert_eq!(created.state, state, "read from the answer's `status` field");
        assert_eq!(created.context, "cc-ci/install");
    }
    let posted = fake.statuses();
    assert_eq!(posted.len(), 4);
    assert_eq!(posted[0].sha, sha);
    assert_eq!(posted[0].state, "pending");
    assert_eq!(posted[3].state, "error");
    assert_eq!(posted[1].description, "tests success");
    assert_eq!(posted[1].target_url, "https://ci.example.org/runs/42");
    assert_eq!(posted[1].creator, fake.bot_login());
}

#[tokio::test]
async fn tags_are_read_over_all_pages() {
    let fake = FakeForge::start();
    fake.create_repo(REPO);
    for i in 0..75 {
        fake.add_tag(REPO, &format!("1.{i}.0+2.0.{i}"), &format!("{i:040x}"), T0 + i);
    }
    let tags = client(&fake).list_tags(&repo()).await.unwrap();
    assert_eq!(tags.len(), 75);
    assert_eq!(tags[0].name, "1.74.0+2.0.74", "newest tag first");
    assert_eq!(tags[0].commit.as_ref().unwrap().sha, format!("{:040x}", 74));
    assert_eq!(fake.request_count("list_tags"), 2);
}

#[tokio::test]
async fn the_token_travels_only_in_the_authorization_header() {
    let fake = fake_with_comments();
    fake.set_org_members("coop-cloud", &["alice"]);
    let client = client(&fake);
    client.repo_comments_since(&repo(), None).await.unwrap();
    client.list_open_pulls(&repo()).await.unwrap();
    client.post_comment(&repo(), 1, "hi").await.unwrap();
    client.is_org_member("coop-cloud", "alice").await;
    let token = fake.token();
    let requests = fake.requests();
    assert!(requests.len() >= 6);
    for request in requests {
        assert!(!request.uri.contains(&token), "token in {}", request.uri);
        assert!(!request.uri.contains("token="), "token parameter in {}", request.uri);
        assert_eq!(request.authorization.as_deref(), Some(format!("token {token}").as_str()));
        assert_ne!(request.route, "unmatched", "{}", request.uri);
    }
    assert!(!format!("{client:?}").contains(&token));
    let config = Config::new(&fake.url(), SecretString::from(token.clone())).unwrap();
    assert!(!format!("{config:?}").contains(&token));
}

#[tokio::test]
async fn base_urls_with_or_without_api_path_work() {
    let fake = FakeForge::start();
    fake.create_repo(REPO);
    for base in [fake.url(), format!("{}/", fake.url()), fake.api_url(), format!("{}/", fake.api_url())] {
        let client = Client::new(Config::new(&base, SecretString::from(fake.token())).unwrap()).unwrap();
        assert_eq!(client.api_url().as_str(), format!("{}/", fake.api_url()));
        client.list_tags(&repo()).await.unwrap();
    }
    assert!(Config::new("ftp://example.org", SecretString::from("t".to_string())).is_err());
    let empty = Config::new(&fake.url(), SecretString::from(" ".to_string())).unwrap();
    assert!(matches!(Client::new(empty), Err(Error::Config(_))));
}
