//! The real proxy (Traefik, set up by `ccci server init`) in front of real deployments, over HTTPS
//! with the certificate verified against the testbed's CA: the `simple` fixture answers through it
//! by its domain (also after an upgrade moves it to new tasks), unknown hosts get Traefik's 404,
//! and a torn-down app is unknown again.

mod common;

use common::{docker, TestStack};
use testbed::proxy_get;

#[test]
fn simple_fixture_is_served_through_the_proxy_across_an_upgrade() {
    testbed::ensure_ready().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let repo = testbed::fixture("simple", &tmp.path().join("simple")).unwrap();
    let mut stack = TestStack::new("simple");

    repo.checkout("1.0.0+1.35").unwrap();
    stack.deploy(&repo.path, &["compose.yml"], &["app"]).unwrap();
    let page = stack.wait_http(&stack.domain, "/", 200, |b| b.contains("simple 1.0.0"));
    assert!(page.body.contains("<h1>simple 1.0.0</h1>"), "{}", page.body);
    let unknown = proxy_get(&format!("nobody.{}", testbed::BASE_DOMAIN), "/").unwrap();
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.body, "404 page not found\n");

    let info = stack.wait_http(&stack.domain, "/cgi-bin/info?x=1", 200, |_| true);
    assert!(info.body.contains("release=1.0.0"), "{}", info.body);

    // The data volume is served under /data/: a marker written there survives the upgrade.
    let app = stack.container("app");
    docker(&["exec", &app, "sh", "-c", "echo kept > /var/www/data/marker"]).unwrap();

    repo.checkout("main").unwrap();
    stack.deploy(&repo.path, &["compose.yml"], &["app"]).unwrap();
    stack.wait_http(&stack.domain, "/", 200, |b| b.contains("simple 1.1.0"));
    let marker = stack.wait_http(&stack.domain, "/data/marker", 200, |_| true);
    assert_eq!(marker.body, "kept\n");

    stack.teardown().unwrap();
    let gone = proxy_get(&stack.domain, "/").unwrap();
    assert_eq!(gone.status, 404, "a removed app must be unknown to the proxy");
}
