//! Webhook signature vectors (good, bad, empty, missing, each header kind) and `issue_comment`
//! payload parsing, including deliveries produced exactly as the fake forge (Gitea) sends them.

use forge::webhook::{self, CommentAction, SignatureError, WebhookEvent};
use http::{HeaderMap, HeaderName, HeaderValue};
use testbed::fake_forge::{comment_webhook_request, FakeForge, HookAction};

const KEY: &[u8] = b"s3cr3t";
const BODY: &[u8] = br#"{"action":"created"}"#;
const VECTOR: &str = "5b052f4381f5bf768dc87c3fbced7e96a781d58f2284a440a24c692225f13111";

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_str(value).unwrap());
    }
    map
}

#[test]
fn the_documented_test_vector_matches() {
    assert_eq!(webhook::sign(KEY, BODY), VECTOR);
}

#[test]
fn each_header_kind_verifies() {
    let hub = format!("sha256={VECTOR}");
    for pairs in [
        vec![("X-Gitea-Signature", VECTOR)],
        vec![("X-Forgejo-Signature", VECTOR)],
        vec![("X-Hub-Signature-256", hub.as_str())],
        vec![("x-gitea-signature", VECTOR), ("X-Hub-Signature-256", hub.as_str())],
    ] {
        assert_eq!(webhook::verify_signature(KEY, BODY, &headers(&pairs)), Ok(()), "{pairs:?}");
    }
}

#[test]
fn bad_signatures_are_rejected() {
    let flipped = format!("{}0", &VECTOR[..63]);
    let cases: Vec<(Vec<(&str, &str)>, SignatureError)> = vec![
        (vec![("X-Gitea-Signature", flipped.as_str())], SignatureError::Mismatch("X-Gitea-Signature")),
        (vec![("X-Forgejo-Signature", &VECTOR[..32])], SignatureError::Mismatch("X-Forgejo-Signature")),
        (vec![("X-Hub-Signature-256", VECTOR)], SignatureError::Malformed("X-Hub-Signature-256")),
        (vec![("X-Gitea-Signature", "not hex at all")], SignatureError::Malformed("X-Gitea-Signature")),
        (vec![("X-Gitea-Signature", "")], SignatureError::Missing),
        (vec![("X-Gitea-Signature", ""), ("X-Hub-Signature-256", "")], SignatureError::Missing),
        (vec![], SignatureError::Missing),
        (vec![("X-Hub-Signature", "sha1=0000")], SignatureError::Missing),
        // One good header does not excuse a bad one.
        (
            vec![("X-Gitea-Signature", VECTOR), ("X-Forgejo-Signature", flipped.as_str())],
            SignatureError::Mismatch("X-Forgejo-Signature"),
        ),
    ];
    for (pairs, expected) in cases {
        assert_eq!(webhook::verify_signature(KEY, BODY, &headers(&pairs)), Err(expected), "{pairs:?}");
    }
}

#[test]
fn the_signature_covers_the_raw_bytes() {
    let pairs = [("X-Gitea-Signature", VECTOR)];
    let reformatted = br#"{"action": "created"}"#;
    assert!(webhook::verify_signature(KEY, reformatted, &headers(&pairs)).is_err());
    assert!(webhook::verify_signature(b"other", BODY, &headers(&pairs)).is_err());
    assert_eq!(webhook::verify_signature(b"", BODY, &headers(&pairs)), Err(SignatureError::NoSecret));
}

fn delivery(fake: &FakeForge, secret: &str, id: u64, action: HookAction) -> (HeaderMap, Vec<u8>) {
    let request = comment_webhook_request(secret, &fake.comment_hook(id, action));
    let pairs: Vec<(&str, &str)> = request.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    (headers(&pairs), request.body)
}

#[test]
fn a_gitea_pull_request_comment_delivery_verifies_and_parses() {
    let fake = FakeForge::start();
    fake.create_repo("coop-cloud/example");
    fake.add_pr("coop-cloud/example", 4, &"4".repeat(40), "feature");
    fake.add_issue("coop-cloud/example", 5);
    let on_pull = fake.add_comment("coop-cloud/example", 4, "alice", "!testme --quick", 1_700_000_000);
    let on_issue = fake.add_comment("coop-cloud/example", 5, "bob", "hello", 1_700_000_001);

    let (headers, body) = delivery(&fake, "s3cr3t", on_pull, HookAction::Created);
    webhook::verify_signature(b"s3cr3t", &body, &headers).unwrap();
    let WebhookEvent::Comment(event) = webhook::parse_event(&headers, &body).unwrap() else { panic!("not a comment") };
    assert_eq!(event.action, CommentAction::Created);
    assert_eq!(event.comment_id, on_pull);
    assert_eq!(event.body, "!testme --quick");
    assert_eq!((event.author.as_str(), event.sender.as_str()), ("alice", "alice"));
    assert_eq!(event.repo.to_string(), "coop-cloud/example");
    assert_eq!(event.number, 4);
    assert!(event.is_pull);
    let delivery_id = event.delivery.clone().unwrap();
    assert_eq!(delivery_id.len(), 36, "{delivery_id}");

    let (headers2, body2) = delivery(&fake, "s3cr3t", on_pull, HookAction::Created);
    let WebhookEvent::Comment(again) = webhook::parse_event(&headers2, &body2).unwrap() else { panic!() };
    assert_ne!(again.delivery, event.delivery, "each delivery has its own id");

    let (headers, body) = delivery(&fake, "s3cr3t", on_issue, HookAction::Edited { from: "hi".into() });
    webhook::verify_signature(b"s3cr3t", &body, &headers).unwrap();
    let WebhookEvent::Comment(event) = webhook::parse_event(&headers, &body).unwrap() else { panic!() };
    assert_eq!(event.action, CommentAction::Edited);
    assert!(!event.is_pull);
    assert_eq!(event.number, 5);
}

#[test]
fn a_hook_without_a_secret_is_rejected() {
    let fake = FakeForge::start();
    fake.create_repo("o/r");
    fake.add_pr("o/r", 1, &"1".repeat(40), "f");
    let id = fake.add_comment("o/r", 1, "alice", "!testme", 1_700_000_000);
    let (headers, body) = delivery(&fake, "", id, HookAction::Created);
    assert!(headers.contains_key("X-Gitea-Signature"));
    assert_eq!(webhook::verify_signature(b"s3cr3t", &body, &headers), Err(SignatureError::Missing));
}

#[test]
fn other_events_are_ignored() {
    let review = headers(&[("X-Gitea-Event", "pull_request_comment")]);
    assert_eq!(
        webhook::parse_event(&review, b"{}").unwrap(),
        WebhookEvent::Ignored { event: "pull_request_comment".into() }
    );
    let push = headers(&[("X-Forgejo-Event", "push")]);
    assert_eq!(webhook::parse_event(&push, b"{}").unwrap(), WebhookEvent::Ignored { event: "push".into() });
    assert!(webhook::parse_event(&HeaderMap::new(), b"{}").is_err());
    let comment = headers(&[("X-Gitea-Event", "issue_comment")]);
    assert!(webhook::parse_event(&comment, b"{\"action\":\"created\"}").is_err(), "incomplete payload");
}

#[tokio::test]
async fn deliveries_can_be_sent_over_http() {
    // A one-shot receiver on loopback that records the headers of what it gets.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let receiver = tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut seen = Vec::new();
        let mut buf = [0u8; 8192];
        while !String::from_utf8_lossy(&seen).contains("\"is_pull\"") {
            let n = socket.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
        }
        socket.write_all(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n").await.unwrap();
        String::from_utf8(seen).unwrap()
    });
    let fake = FakeForge::start();
    fake.create_repo("o/r");
    fake.add_pr("o/r", 1, &"1".repeat(40), "f");
    let id = fake.add_comment("o/r", 1, "alice", "!testme", 1_700_000_000);
    let status = testbed::fake_forge::send_comment_webhook(&url, "s3cr3t", &fake.comment_hook(id, HookAction::Created))
        .await
        .unwrap();
    assert_eq!(status, 202);
    let raw = receiver.await.unwrap().to_ascii_lowercase();
    for header in ["x-gitea-event: issue_comment", "x-gitea-event-type: pull_request_comment", "x-gitea-delivery:"] {
        assert!(raw.contains(header), "{header} missing in {raw}");
    }
    assert!(raw.contains("x-hub-signature-256: sha256="));
}
