//! Upgrade safety of the store (SPEC O2): a database written by each earlier schema version
//! (frozen from git history: `tests/data/store-v1.sql`, then each later migration as it shipped in
//! `store-v<N>.sql`, with the rows in `store-rows.sql`)
//! opens with this build, is migrated to the same schema a fresh store has, and keeps its runs,
//! its queue and its intake marks; a database from a newer build is refused, naming both versions.

use std::path::{Path, PathBuf};

use harness::result::{Outcome, Tier};
use rusqlite::Connection;
use server::{Enqueued, Mode, NewRun, RunFilter, RunId, RunState, Store};

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn fixture(version: i64) -> PathBuf {
    data_dir().join(format!("store-v{version}.sql"))
}

fn user_version(db: &Path) -> i64 {
    Connection::open(db).unwrap().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap()
}

/// The schema version this build writes, read off a fresh store.
fn current_version() -> i64 {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("fresh.sqlite");
    drop(Store::open(&db).unwrap());
    user_version(&db)
}

/// A database as the release with schema `version` left it: the frozen schema of version 1 and
/// each frozen migration after it up to `version`, then the rows.
fn old_store(dir: &Path, version: i64) -> PathBuf {
    let db = dir.join(format!("v{version}.sqlite"));
    let conn = Connection::open(&db).unwrap();
    for step in 1..=version {
        conn.execute_batch(&std::fs::read_to_string(fixture(step)).unwrap()).unwrap();
    }
    assert_eq!(user_version(&db), version, "the fixtures up to {version} leave another user_version");
    conn.execute_batch(&std::fs::read_to_string(data_dir().join("store-rows.sql")).unwrap()).unwrap();
    db
}

/// Every table and index, whitespace normalised (the fixtures are indented differently).
fn schema(db: &Path) -> Vec<(String, String)> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn.prepare("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name").unwrap();
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).unwrap();
    rows.map(|r| {
        let (name, sql) = r.unwrap();
        (name, sql.split_whitespace().collect::<Vec<_>>().join(" "))
    })
    .collect()
}

fn earlier_versions() -> Vec<i64> {
    (1..current_version()).collect()
}

/// The earlier versions and this build's own: its fixture must equal what a fresh store has, which
/// checks the freezing itself (a fixture that drifted from the code would fail here first).
fn fixture_versions() -> Vec<i64> {
    (1..=current_version()).filter(|v| fixture(*v).is_file()).collect()
}

#[test]
fn every_earlier_schema_version_has_a_frozen_fixture() {
    for version in earlier_versions() {
        assert!(
            fixture(version).is_file(),
            "no fixture for schema version {version}: freeze it from git history (`git log -p \
             crates/server/src/store`) into {}",
            fixture(version).display()
        );
    }
}

#[test]
fn a_store_from_each_earlier_schema_opens_migrated_and_keeps_its_runs() {
    let fresh_dir = tempfile::tempdir().unwrap();
    let fresh = fresh_dir.path().join("fresh.sqlite");
    drop(Store::open(&fresh).unwrap());
    assert!(!earlier_versions().is_empty(), "this build has had no earlier schema: nothing tested");
    for version in fixture_versions() {
        let dir = tempfile::tempdir().unwrap();
        let db = old_store(dir.path(), version);
        let store = Store::open(&db).unwrap_or_else(|e| panic!("schema {version}: {e}"));
        assert_eq!(user_version(&db), current_version(), "schema {version} not migrated");
        assert_eq!(schema(&db), schema(&fresh), "schema {version} migrated differs from a fresh store's");
        check_runs_kept(&store, version);
        check_queue_and_intake_continue(&store, version);
    }
}

fn check_runs_kept(store: &Store, version: i64) {
    let runs = store.list_runs(&RunFilter::default(), 100, 0).unwrap();
    let states: Vec<(i64, RunState)> = runs.iter().map(|r| (r.id.0, r.state)).collect();
    assert_eq!(
        states,
        vec![
            (6, RunState::Queued),
            (5, RunState::Running),
            (4, RunState::Superseded),
            (3, RunState::Error),
            (2, RunState::Finished),
            (1, RunState::Finished),
        ],
        "schema {version}"
    );
    let passed = store.get_run(RunId(1)).unwrap().unwrap();
    assert_eq!((passed.outcome, passed.level), (Some(Outcome::Pass), Some(5)), "schema {version}");
    assert_eq!(passed.commit.as_deref(), Some("1111111111111111111111111111111111111111"));
    assert_eq!((passed.pr, passed.comment_id, passed.trigger_comment_id), (Some(3), Some(501), Some(401)));
    assert_eq!(passed.mode, Mode::Cold);
    assert!(passed.result_json.as_deref().unwrap().contains("\"level\":5"), "schema {version}");
    let failed = store.get_run(RunId(2)).unwrap().unwrap();
    assert_eq!(failed.tiers, Some(vec![Tier::Install, Tier::Upgrade]), "schema {version}");
    assert_eq!((failed.outcome, failed.level), (Some(Outcome::Fail), Some(1)));
    assert_eq!(failed.finished_at, Some(1_700_000_131_000));
    let errored = store.get_run(RunId(3)).unwrap().unwrap();
    assert_eq!(errored.error.as_deref(), Some("the server stopped during the run"), "schema {version}");
}

fn check_queue_and_intake_continue(store: &Store, version: i64) {
    // The run that was live when the old server stopped is recovered; then the queued one starts.
    let crashed = store.recover_after_crash().unwrap();
    assert_eq!(crashed.iter().map(|r| r.id).collect::<Vec<_>>(), vec![RunId(5)], "schema {version}");
    let next = store.claim_next(1).unwrap().expect("the queued run is claimed");
    assert_eq!(next.id, RunId(6), "schema {version}");

    // A comment that already fired does not fire again; a new one gets a new, never reused, id.
    let again = NewRun {
        repo: "coop-cloud/app-db".into(),
        recipe: "app-db".into(),
        pr: Some(3),
        trigger_comment_id: Some(401),
        ..NewRun::default()
    };
    assert_eq!(store.enqueue(&again).unwrap(), Enqueued::Duplicate(RunId(1)), "schema {version}");
    let fresh = NewRun { trigger_comment_id: Some(999), ..again };
    match store.enqueue(&fresh).unwrap() {
        Enqueued::New(id) => assert!(id > RunId(6), "schema {version}: run id {id} reused"),
        other => panic!("schema {version}: a new comment was taken for a duplicate: {other:?}"),
    }
    assert!(!store.mark_comment_seen("coop-cloud/app-db", 402).unwrap(), "schema {version}: seen comment forgotten");
    assert!(!store.record_delivery("5f1c1e2a-0000-4000-8000-000000000001").unwrap(), "schema {version}");
    assert_eq!(store.poll_mark("coop-cloud/app-db").unwrap().as_deref(), Some("2023-11-14T22:13:20+02:00"));
}

#[test]
fn a_store_from_a_newer_build_is_refused_naming_both_versions() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("newer.sqlite");
    let current = current_version();
    let newer = current + 1;
    Connection::open(&db).unwrap().pragma_update(None, "user_version", newer).unwrap();
    let err = Store::open(&db).expect_err("a newer schema must be refused").to_string();
    assert!(err.contains(&db.display().to_string()), "the file is not named: {err}");
    assert!(err.contains(&format!("schema version {newer}")), "the database's version is not named: {err}");
    assert!(err.contains(&format!("this build's {current}")), "this build's version is not named: {err}");
    assert!(err.contains("newer cc-ci"), "no advice: {err}");
    assert_eq!(user_version(&db), newer, "the refused database was changed");
    let tables: i64 = Connection::open(&db)
        .unwrap()
        .query_row("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tables, 0, "the refused database was migrated anyway");
}
