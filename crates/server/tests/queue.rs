//! Queue semantics on a real SQLite file on disk: concurrency limit, supersede, crash recovery,
//! dedupe across restarts, first-start seeding, and a large listing.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use harness::result::{Outcome, Tier};
use server::store::Clock;
use server::{Enqueued, Mode, NewRun, RunFilter, RunId, RunState, Store, StoreError};

/// A clock the test advances by hand (milliseconds).
fn test_clock() -> (Arc<AtomicI64>, Clock) {
    let now = Arc::new(AtomicI64::new(1_000_000));
    let read = now.clone();
    (now, Arc::new(move || read.load(Ordering::SeqCst)))
}

fn run(repo: &str, pr: u64, comment: u64) -> NewRun {
    NewRun {
        repo: repo.into(),
        recipe: repo.rsplit('/').next().unwrap().into(),
        pr: Some(pr),
        commit: Some(format!("{comment:040x}")),
        git_ref: Some(format!("refs/pull/{pr}/head")),
        mode: Mode::Cold,
        tiers: None,
        trigger_comment_id: Some(comment),
    }
}

#[test]
fn at_most_max_tests_run_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (now, clock) = test_clock();
    let store = Store::open_with_clock(&dir.path().join("ci.db"), clock).unwrap();
    let max_tests = 2;
    let mut ids = Vec::new();
    for i in 0..7 {
        ids.push(store.enqueue(&run("coop-cloud/app", i, 100 + i)).unwrap().id());
        now.fetch_add(10, Ordering::SeqCst);
    }

    // Simulate workers: each tick, claim what may start, then finish the oldest running run.
    let mut running: Vec<RunId> = Vec::new();
    while store.count_runs(&RunFilter { state: Some(RunState::Queued), ..Default::default() }).unwrap() > 0
        || !running.is_empty()
    {
        while let Some(r) = store.claim_next(max_tests).unwrap() {
            running.push(r.id);
        }
        assert!(running.len() <= max_tests as usize);
        assert!(store.next_runnable(max_tests).unwrap().is_none(), "nothing runnable while the limit is reached");
        now.fetch_add(1000, Ordering::SeqCst);
        let done = running.remove(0);
        store.finish(done, Outcome::Pass, 5, "{}").unwrap();
        now.fetch_add(1, Ordering::SeqCst);
    }

    // From the stored timestamps alone: at no instant were more than max_tests runs live, and they
    // started in queue order.
    let runs: Vec<_> = ids.iter().map(|id| store.get_run(*id).unwrap().unwrap()).collect();
    let mut events: Vec<(i64, i32)> = Vec::new();
    for r in &runs {
        assert_eq!(r.state, RunState::Finished);
        assert_eq!(r.outcome, Some(Outcome::Pass));
        events.push((r.started_at.unwrap(), 1));
        events.push((r.finished_at.unwrap(), -1));
    }
    events.sort_by_key(|&(t, delta)| (t, delta)); // ends before starts at the same instant
    let mut live = 0;
    let mut peak = 0;
    for (_, delta) in events {
        live += delta;
        peak = peak.max(live);
    }
    assert_eq!(peak, max_tests as i32, "the limit was reached but never exceeded");
    let starts: Vec<i64> = runs.iter().map(|r| r.started_at.unwrap()).collect();
    assert!(starts.windows(2).all(|w| w[0] <= w[1]), "runs start in queue order: {starts:?}");
}

#[test]
fn newer_testme_supersedes_a_queued_run_on_the_same_pr_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("ci.db")).unwrap();
    let running = store.enqueue(&run("o/app", 7, 1)).unwrap().id();
    store.start(running).unwrap();
    let queued = store.enqueue(&run("o/app", 7, 2)).unwrap().id();
    let other_pr = store.enqueue(&run("o/app", 8, 3)).unwrap().id();
    let other_repo = store.enqueue(&run("o/other", 7, 4)).unwrap().id();
    let (enqueued, superseded) = store.enqueue_for_pr(&run("o/app", 7, 5)).unwrap();
    let newer = enqueued.id();
    assert!(enqueued.is_new());
    assert_eq!(superseded.iter().map(|r| r.id).collect::<Vec<_>>(), vec![queued]);
    assert_eq!(superseded[0].state, RunState::Superseded);
    assert!(superseded[0].error.as_deref().unwrap().contains(&newer.to_string()));

    let state = |id| store.get_run(id).unwrap().unwrap().state;
    assert_eq!(state(running), RunState::Running, "a running run is not superseded");
    assert_eq!(state(other_pr), RunState::Queued);
    assert_eq!(state(other_repo), RunState::Queued);
    assert_eq!(state(newer), RunState::Queued);
    assert_eq!(store.queue_position(newer).unwrap(), Some(3));
    assert!(matches!(store.start(queued), Err(StoreError::WrongState { .. })), "a superseded run never starts");
}

#[test]
fn racing_triggers_on_one_pr_leave_exactly_one_queued_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ci.db");
    let store = Arc::new(Store::open(&path).unwrap());
    let threads: Vec<_> = (0..8u64)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                for i in 0..25 {
                    let (enqueued, _) = store.enqueue_for_pr(&run("o/app", 3, 1000 + t * 100 + i)).unwrap();
                    assert!(enqueued.is_new());
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let count = |state| store.count_runs(&RunFilter { state: Some(state), ..Default::default() }).unwrap();
    assert_eq!(count(RunState::Queued), 1, "one run of the PR is left queued");
    assert_eq!(count(RunState::Superseded), 199);
    // A duplicate trigger supersedes nothing.
    let last = store.list_runs(&RunFilter { state: Some(RunState::Queued), ..Default::default() }, 1, 0).unwrap();
    let comment = last[0].trigger_comment_id.unwrap();
    let (again, superseded) = store.enqueue_for_pr(&run("o/app", 3, comment)).unwrap();
    assert_eq!((again, superseded.len()), (Enqueued::Duplicate(last[0].id), 0));
    assert_eq!(count(RunState::Queued), 1);
}

#[test]
fn a_claim_is_settled_by_its_answer_or_in_the_transaction_that_queues_its_run() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("ci.db")).unwrap();
    assert!(store.claim_comment("o/app", 7, "claim-7").unwrap());
    assert!(!store.claim_comment("o/app", 7, "again").unwrap(), "claimed once");
    assert!(!store.mark_comment_seen("o/app", 7).unwrap(), "a claimed comment is seen");
    assert!(store.claim_comment("o/app", 8, "claim-8").unwrap());
    assert!(store.claim_comment("o/app", 9, "claim-9").unwrap());
    let unsettled =
        |s: &Store| s.unsettled_comments().unwrap().into_iter().map(|(_, id, c)| (id, c)).collect::<Vec<_>>();
    assert_eq!(unsettled(&store), vec![(7, "claim-7".into()), (8, "claim-8".into()), (9, "claim-9".into())]);
    store.settle_comment("o/app", 8).unwrap();
    let (enqueued, _) = store.enqueue_for_pr(&run("o/app", 1, 9)).unwrap();
    assert!(enqueued.is_new());
    assert_eq!(unsettled(&store), vec![(7, "claim-7".into())], "the run's comment settled with it");
    // Across a restart, the unsettled claim is still there to be taken up.
    drop(store);
    let store = Store::open(&dir.path().join("ci.db")).unwrap();
    assert_eq!(unsettled(&store), vec![(7, "claim-7".into())]);
}

#[test]
fn crash_recovery_errors_live_runs_and_keeps_the_queue() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ci.db");
    let (live, waiting, done) = {
        let store = Store::open(&path).unwrap();
        let live = store.enqueue(&run("o/app", 1, 10)).unwrap().id();
        let waiting = store.enqueue(&run("o/app", 2, 11)).unwrap().id();
        let done = store.enqueue(&run("o/app", 3, 12)).unwrap().id();
        store.start(done).unwrap();
        store.finish(done, Outcome::Fail, 1, r#"{"outcome":"fail"}"#).unwrap();
        store.start(live).unwrap();
        (live, waiting, done)
        // dropped without finishing `live`: the server "crashed"
    };

    let store = Store::open(&path).unwrap();
    let recovered = store.recover_after_crash().unwrap();
    assert_eq!(recovered.len(), 1);
    assert_eq!(recovered[0].id, live);
    assert_eq!(recovered[0].state, RunState::Error);
    assert_eq!(recovered[0].outcome, Some(Outcome::Error));
    assert!(recovered[0].finished_at.is_some() && recovered[0].error.is_some());

    let d = store.get_run(done).unwrap().unwrap();
    assert_eq!((d.state, d.outcome, d.level), (RunState::Finished, Some(Outcome::Fail), Some(1)));
    assert_eq!(d.result_json.as_deref(), Some(r#"{"outcome":"fail"}"#));
    assert_eq!(store.get_run(waiting).unwrap().unwrap().state, RunState::Queued);
    assert_eq!(store.claim_next(1).unwrap().map(|r| r.id), Some(waiting), "the queue continues");
    assert!(matches!(store.finish(live, Outcome::Pass, 5, "{}"), Err(StoreError::WrongState { .. })));
    assert!(store.recover_after_crash().unwrap().iter().all(|r| r.id == waiting));
}

#[test]
fn a_comment_fires_once_even_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ci.db");
    let first = {
        let store = Store::open(&path).unwrap();
        assert!(store.mark_comment_seen("o/app", 42).unwrap());
        assert!(!store.mark_comment_seen("o/app", 42).unwrap(), "the webhook then the poller: seen once");
        assert!(store.mark_comment_seen("o/other", 42).unwrap(), "comment ids are per repo");
        assert!(store.record_delivery("delivery-1").unwrap());
        assert!(!store.record_delivery("delivery-1").unwrap());
        store.set_poll_mark("o/app", "2026-01-01T00:00:00Z").unwrap();
        let e = store.enqueue(&run("o/app", 1, 42)).unwrap();
        assert!(e.is_new());
        assert_eq!(store.enqueue(&run("o/app", 1, 42)).unwrap(), Enqueued::Duplicate(e.id()));
        e.id()
    };
    let store = Store::open(&path).unwrap();
    assert!(!store.mark_comment_seen("o/app", 42).unwrap());
    assert!(!store.record_delivery("delivery-1").unwrap());
    assert_eq!(store.poll_mark("o/app").unwrap().as_deref(), Some("2026-01-01T00:00:00Z"));
    assert_eq!(store.poll_mark("o/other").unwrap(), None);
    store.set_poll_mark("o/app", "2026-01-02T00:00:00Z").unwrap();
    assert_eq!(store.poll_mark("o/app").unwrap().as_deref(), Some("2026-01-02T00:00:00Z"));
    assert_eq!(store.enqueue(&run("o/app", 1, 42)).unwrap(), Enqueued::Duplicate(first));
    assert_eq!(store.count_runs(&RunFilter::default()).unwrap(), 1);
    // Runs without a trigger comment (e.g. scheduled ones) are never deduplicated.
    let scheduled = NewRun { trigger_comment_id: None, pr: None, ..run("o/app", 0, 0) };
    assert!(store.enqueue(&scheduled).unwrap().is_new());
    assert!(store.enqueue(&scheduled).unwrap().is_new());
}

#[test]
fn first_start_marks_existing_comments_seen_without_firing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("ci.db")).unwrap();
    assert!(!store.has_seen_any("o/app").unwrap());
    assert_eq!(store.seed_seen("o/app", [1, 2, 3]).unwrap(), 3);
    assert!(store.has_seen_any("o/app").unwrap());
    assert_eq!(store.seed_seen("o/app", [3, 4]).unwrap(), 1);
    for id in 1..=4 {
        assert!(!store.mark_comment_seen("o/app", id).unwrap(), "comment {id} existed before: not fired");
    }
    assert!(store.mark_comment_seen("o/app", 5).unwrap(), "a new comment fires");
    assert_eq!(store.count_runs(&RunFilter::default()).unwrap(), 0);
}

#[test]
fn runs_keep_what_was_asked() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("ci.db")).unwrap();
    let asked = NewRun { mode: Mode::Quick, tiers: Some(vec![Tier::Install, Tier::Upgrade]), ..run("o/app", 3, 9) };
    let id = store.enqueue(&asked).unwrap().id();
    store.set_comment_id(id, 777).unwrap();
    let r = store.get_run(id).unwrap().unwrap();
    assert_eq!((r.mode, r.tiers.clone(), r.pr, r.comment_id), (Mode::Quick, asked.tiers, Some(3), Some(777)));
    assert_eq!((r.commit, r.git_ref, r.recipe), (asked.commit, asked.git_ref, "app".to_string()));
    assert_eq!(store.get_run(RunId(9999)).unwrap(), None);
    assert!(matches!(store.set_comment_id(RunId(9999), 1), Err(StoreError::NoSuchRun(9999))));
    store.fail(id, "could not check out the PR").unwrap();
    let r = store.get_run(id).unwrap().unwrap();
    assert_eq!((r.state, r.error.as_deref()), (RunState::Error, Some("could not check out the PR")));
}

#[test]
fn ten_thousand_runs_insert_and_list() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("ci.db")).unwrap();
    let start = Instant::now();
    for i in 0..10_000u64 {
        let repo = if i % 2 == 0 { "o/app-a" } else { "o/app-b" };
        let id = store.enqueue(&run(repo, i % 50, i)).unwrap().id();
        if i % 3 == 0 {
            store.start(id).unwrap();
            store.finish(id, Outcome::Pass, 5, "{}").unwrap();
        }
    }
    let inserted = start.elapsed();
    let start = Instant::now();
    let page = store.list_runs(&RunFilter::default(), 50, 0).unwrap();
    assert_eq!(page.len(), 50);
    assert_eq!(page[0].id, RunId(10_000), "newest first");
    let a = RunFilter { recipe: Some("app-a".into()), ..Default::default() };
    assert_eq!(store.count_runs(&a).unwrap(), 5_000);
    let last = store.list_runs(&a, 100, 4_950).unwrap();
    assert_eq!(last.len(), 50);
    assert!(last.iter().all(|r| r.recipe == "app-a"));
    let finished_pr_0 = RunFilter { state: Some(RunState::Finished), pr: Some(0), ..Default::default() };
    let f = store.list_runs(&finished_pr_0, 1000, 0).unwrap();
    assert!(!f.is_empty() && f.iter().all(|r| r.state == RunState::Finished && r.pr == Some(0)));
    assert_eq!(f.len() as u64, store.count_runs(&finished_pr_0).unwrap());
    let all = store.list_runs(&RunFilter::default(), 10_000, 0).unwrap();
    assert_eq!(all.len(), 10_000);
    println!("10,000 runs: inserted (a third started and finished) in {inserted:?}; listed in {:?}", start.elapsed());
}
