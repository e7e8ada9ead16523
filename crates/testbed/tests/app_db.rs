//! The `app-db` fixture deploys on the swarm as a recipe would (shared secret, templated configs,
//! volume, overlay with a suffixed router) and its data path works end to end: a marker written
//! through the app lands in the db, and the backupbot hooks dump and restore it.

mod common;

use common::{docker, TestStack};

#[test]
fn app_db_stores_markers_and_its_backup_hooks_restore_them() {
    testbed::ensure_ready().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let repo = testbed::fixture("app-db", &tmp.path().join("app-db")).unwrap();
    let mut stack = TestStack::new("appdb");
    stack.create_secret("db_password", "v1", "S3cret&with=odd%chars+0123456789ab");
    stack.create_secret("app_key", "v1", "correct horse battery staple");
    stack.deploy(&repo.path, &["compose.yml", "compose.debug.yml"], &["app", "db"]).unwrap();

    let page = stack.wait_http(&stack.domain, "/", 200, |_| true);
    assert!(page.body.contains("app-db 1.1.0"), "{}", page.body);
    assert!(page.body.contains(&format!("Serving {} from database appdb", stack.domain)));
    let debug = stack.wait_http(&format!("debug-{}", stack.domain), "/", 200, |_| true);
    assert!(debug.body.contains("app-db 1.1.0"));

    let set = stack.wait_http(&stack.domain, "/cgi-bin/marker?k=ccci&v=before%20backup", 200, |_| true);
    assert_eq!(set.body.trim(), "before backup");
    let missing = testbed::proxy_get(&stack.domain, "/cgi-bin/marker?k=nothing").unwrap();
    assert_eq!(missing.status, 404, "{}", missing.body);

    let db = stack.container("db");
    let dumped = docker(&["exec", &db, "sh", "-c", "/db-backup.sh backup"]).unwrap();
    assert!(dumped.contains("dumped 1 keys"), "{dumped}");
    stack.wait_http(&stack.domain, "/cgi-bin/marker?k=ccci&v=changed", 200, |_| true);
    let restored = docker(&["exec", &db, "sh", "-c", "/db-backup.sh restore"]).unwrap();
    assert!(restored.contains("restored 1 keys"), "{restored}");
    let read = stack.wait_http(&stack.domain, "/cgi-bin/marker?k=ccci", 200, |_| true);
    assert_eq!(read.body.trim(), "before backup");

    stack.teardown().unwrap();
}
