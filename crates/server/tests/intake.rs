//! The intake, feedback and poller rules in process (SPEC V1–V3, V5), against the fake forge and a
//! store on disk, without a swarm and without starting `ccci test` (the server's workers are not
//! started, so queued runs stay queued; the full path is in crates/ccci/tests/serve_e2e.rs). The
//! webhook endpoint is served on loopback by the server's own HTTP side.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use server::command::HELP_TEXT;
use server::intake::{Handled, IncomingComment, REFUSAL};
use server::{poller, Mode, RunFilter, RunState};
use support::{Served, HEAD, MEMBER, ORG, PUBLIC_URL, REPO, SECRET};
use testbed::fake_forge::{comment_webhook_request, send_comment_webhook, FakeForge, HookAction};

const STRANGER: &str = "drive-by";

/// The served server with its first poll cycle done (every test starts after it).
struct World {
    served: Served,
    hook_url: String,
}

impl std::ops::Deref for World {
    type Target = Served;
    fn deref(&self) -> &Served {
        &self.served
    }
}

impl World {
    async fn new() -> World {
        let served = Served::start("").await;
        let hook_url = served.url("/hooks/forge");
        let world = World { served, hook_url };
        world.poll().await;
        world
    }

    async fn poll(&self) {
        poller::poll_repo(&self.parts.intake, REPO).await.unwrap();
    }

    /// A comment by `user` on `number`, now.
    fn comment(&self, number: u64, user: &str, body: &str) -> u64 {
        let at = self.forge.now();
        self.forge.add_comment(REPO, number, user, body, at)
    }

    /// Sends comment `id`'s `created` delivery, signed, and returns the answer's status.
    async fn deliver(&self, id: u64) -> u16 {
        send_comment_webhook(&self.hook_url, SECRET, &self.forge.comment_hook(id, HookAction::Created)).await.unwrap()
    }

    fn runs(&self) -> Vec<server::Run> {
        let mut runs = self.parts.store.list_runs(&RunFilter::default(), 100, 0).unwrap();
        runs.reverse();
        runs
    }

    fn queued(&self) -> Vec<server::Run> {
        self.runs().into_iter().filter(|r| r.state == RunState::Queued).collect()
    }

    /// The bot's comments on `number`, as they read now.
    fn bot_comments(&self, number: u64) -> Vec<String> {
        let bot = self.forge.bot_login();
        self.forge
            .comments(REPO)
            .into_iter()
            .filter(|c| c.number == number && c.author == bot)
            .map(|c| c.body)
            .collect()
    }

    fn incoming(&self, id: u64, author: &str, body: &str) -> IncomingComment {
        IncomingComment {
            repo: REPO.into(),
            comment_id: id,
            number: 1,
            is_pull: true,
            author: author.into(),
            body: body.into(),
        }
    }
}

#[tokio::test]
async fn a_members_testme_queues_one_run_with_a_queued_comment_and_a_pending_status() {
    let w = World::new().await;
    let id = w.comment(1, MEMBER, "!testme tiers=install,upgrade");
    w.poll().await;
    w.poll().await;

    let runs = w.runs();
    assert_eq!(runs.len(), 1, "{runs:?}");
    let run = &runs[0];
    assert_eq!((run.state, run.pr, run.trigger_comment_id), (RunState::Queued, Some(1), Some(id)));
    assert_eq!(run.commit.as_deref(), Some(HEAD));
    assert_eq!(run.git_ref.as_deref(), Some("refs/pull/1/head"));
    assert_eq!(run.tiers.as_ref().map(|t| t.len()), Some(2));

    let comments = w.bot_comments(1);
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert!(comments[0].contains("is **queued**, position 1"), "{}", comments[0]);
    assert!(comments[0].contains(&format!("{PUBLIC_URL}/runs/{}", run.id)), "{}", comments[0]);
    assert_eq!(run.comment_id, w.forge.posted_comments().first().map(|c| c.id), "the comment is kept for edits");

    let statuses = w.forge.statuses();
    assert_eq!(statuses.len(), 1, "{statuses:?}");
    let status = &statuses[0];
    assert_eq!((status.sha.as_str(), status.state.as_str()), (HEAD, "pending"));
    assert_eq!((status.context.as_str(), status.description.as_str()), ("cc-ci/cold", "queued, position 1"));
    assert_eq!(status.target_url, format!("{PUBLIC_URL}/runs/{}", run.id));
}

#[tokio::test]
async fn the_same_comment_by_poller_and_webhook_fires_once() {
    let w = World::new().await;
    let id = w.comment(1, MEMBER, "!testme");
    // Both paths at once, then each again, then the very same delivery again.
    let (status, ()) = tokio::join!(w.deliver(id), w.poll());
    assert!(status == 202 || status == 200, "{status}");
    assert_eq!(w.deliver(id).await, 200);
    w.poll().await;
    let request = comment_webhook_request(SECRET, &w.forge.comment_hook(id, HookAction::Created));
    for _ in 0..2 {
        let mut post = reqwest::Client::new().post(&w.hook_url).body(request.body.clone());
        for (name, value) in &request.headers {
            post = post.header(name, value);
        }
        assert_eq!(post.send().await.unwrap().status(), 200);
    }
    assert_eq!(w.runs().len(), 1, "{:?}", w.runs());
    assert_eq!(w.bot_comments(1).len(), 1, "{:?}", w.bot_comments(1));
    assert_eq!(w.forge.statuses().len(), 1);
}

#[tokio::test]
async fn the_first_cycle_marks_existing_comments_seen_without_firing() {
    let dir = tempfile::tempdir().unwrap();
    let forge = FakeForge::start();
    forge.create_repo(REPO);
    forge.add_pr(REPO, 1, HEAD, "feature");
    forge.set_org_members(ORG, &[MEMBER]);
    let earlier = forge.now() - 3600;
    for k in 0..3 {
        forge.add_comment(REPO, 1, MEMBER, "!testme", earlier + k);
    }
    let text = format!(
        "base_domain = \"ci.test\"\npublic_url = \"{PUBLIC_URL}\"\ndata_dir = \"{}\"\n[forge]\nkind = \"gitea\"\n\
         base_url = \"{}\"\nbot_login = \"{}\"\ntoken_env = \"TOKEN\"\n[auth]\norg = \"{ORG}\"\n[[repos]]\nrepo = \"{REPO}\"\n",
        dir.path().display(),
        forge.url(),
        forge.bot_login()
    );
    let token = forge.token();
    let config = server::config::parse(Path::new("t.toml"), &text, &move |_| Some(token.clone())).unwrap();
    let parts = server::serve::assemble(&config, PathBuf::from("/bin/false")).unwrap();
    for _ in 0..3 {
        poller::poll_repo(&parts.intake, REPO).await.unwrap();
    }
    assert!(parts.store.list_runs(&RunFilter::default(), 10, 0).unwrap().is_empty());
    assert!(forge.posted_comments().is_empty(), "history is not answered: {:?}", forge.posted_comments());
    let log = std::fs::read_to_string(dir.path().join("server.log")).unwrap();
    assert!(log.contains("first cycle, 3 existing comment(s) marked seen"), "{log}");

    forge.add_comment(REPO, 1, MEMBER, "!testme", forge.now());
    poller::poll_repo(&parts.intake, REPO).await.unwrap();
    assert_eq!(parts.store.list_runs(&RunFilter::default(), 10, 0).unwrap().len(), 1, "a new comment fires");
}

#[tokio::test]
async fn a_non_member_gets_a_short_refusal_and_nothing_else() {
    let w = World::new().await;
    w.comment(1, STRANGER, "!testme");
    w.poll().await;
    assert!(w.runs().is_empty());
    assert_eq!(w.bot_comments(1), vec![REFUSAL.to_string()]);
    assert!(!REFUSAL.contains('@') && REFUSAL.len() < 100);
    assert!(w.server_log().contains(&format!("refused: not a member of {ORG}")), "{}", w.server_log());

    // Help, syntax and junk from a non-member: nothing posted at all.
    let link = "https://phish.example/login";
    for body in ["!testme help".to_string(), "!testme please".into(), format!("!testme {link} {}", "x".repeat(10_000))]
    {
        w.comment(1, STRANGER, &body);
    }
    w.poll().await;
    assert_eq!(w.bot_comments(1).len(), 1, "{:?}", w.bot_comments(1));
    assert!(w.runs().is_empty());
    assert!(w.server_log().contains("not answered (only authorised users get replies)"));
}

#[tokio::test]
async fn membership_errors_refuse() {
    let w = World::new().await;
    let handle = |id, body: &str| w.parts.intake.handle(w.incoming(id, MEMBER, body));

    // The bot is not in the org: the forge answers 303, which must not be followed.
    w.forge.set_bot_membership(ORG, false);
    let id = w.comment(1, MEMBER, "!testme");
    assert_eq!(handle(id, "!testme").await.unwrap(), Handled::Refused);
    w.forge.set_bot_membership(ORG, true);

    // A final error (401) and an outage (503, retried, then given up on).
    w.forge.fail_next(1, 401, None);
    let id = w.comment(1, MEMBER, "!testme");
    assert_eq!(handle(id, "!testme").await.unwrap(), Handled::Refused);
    w.forge.start_outage();
    assert_eq!(handle(id + 100, "!testme").await.unwrap(), Handled::Refused);
    w.forge.clear_outage();

    assert!(w.runs().is_empty(), "{:?}", w.runs());
    let log = w.server_log();
    assert_eq!(log.matches("refused: the membership check in coop-cloud failed").count(), 3, "{log}");
    // Refused comments stay handled: they never fire later, even once the forge answers again.
    w.poll().await;
    assert!(w.runs().is_empty());
}

#[tokio::test]
async fn the_bots_own_comments_and_quoted_first_lines_never_trigger() {
    let w = World::new().await;
    let bot = w.forge.bot_login();
    w.comment(1, &bot, "!testme");
    w.comment(1, &bot.to_uppercase(), "!testme help");
    w.comment(1, MEMBER, "> !testme\n\nwhy did this fail?");
    w.comment(1, MEMBER, "Looks good.\n!testme");
    w.comment(1, MEMBER, "please !testme");
    w.poll().await;
    assert!(w.runs().is_empty());
    assert!(w.forge.posted_comments().is_empty(), "{:?}", w.forge.posted_comments());
}

#[tokio::test]
async fn help_and_invalid_words_get_the_syntax_reply() {
    let w = World::new().await;
    w.comment(1, MEMBER, "!testme help");
    w.poll().await;
    assert_eq!(w.bot_comments(1), vec![HELP_TEXT.to_string()]);

    w.comment(1, MEMBER, "!testme please");
    w.poll().await;
    let reply = w.bot_comments(1).pop().unwrap();
    assert!(reply.contains("unknown word `please`") && reply.contains(HELP_TEXT), "{reply}");
    assert!(w.runs().is_empty());
}

#[tokio::test]
async fn a_members_long_command_with_a_link_gets_a_short_reply_without_it() {
    let w = World::new().await;
    let link = "https://phish.example/login";
    w.comment(1, MEMBER, &format!("!testme {link} @{STRANGER} {}", "x".repeat(10_000)));
    w.comment(1, MEMBER, &format!("!testme {link}"));
    w.comment(1, MEMBER, &format!("!testme @{STRANGER}"));
    w.poll().await;
    let replies = w.bot_comments(1);
    assert_eq!(replies.len(), 3, "{replies:?}");
    for reply in &replies {
        assert!(reply.len() < HELP_TEXT.len() + 120, "{} characters: {reply}", reply.len());
        assert!(!reply.contains("phish") && !reply.contains("://") && !reply.contains('@'), "{reply}");
        assert!(reply.ends_with(HELP_TEXT), "{reply}");
    }
}

#[tokio::test]
async fn testme_on_an_issue_is_explained_and_queues_nothing() {
    let w = World::new().await;
    w.comment(2, MEMBER, "!testme");
    w.poll().await;
    assert!(w.runs().is_empty());
    assert!(w.bot_comments(2)[0].contains("tests pull requests"), "{:?}", w.bot_comments(2));
}

#[tokio::test]
async fn a_second_testme_on_the_same_pr_supersedes_the_queued_one() {
    let w = World::new().await;
    w.comment(1, MEMBER, "!testme");
    w.poll().await;
    w.comment(1, MEMBER, "!testme tiers=install");
    w.poll().await;
    let runs = w.runs();
    assert_eq!(runs.iter().map(|r| r.state).collect::<Vec<_>>(), vec![RunState::Superseded, RunState::Queued]);
    assert_eq!(w.queued().len(), 1);
    let comments = w.bot_comments(1);
    assert_eq!(comments.len(), 2, "{comments:?}");
    assert!(comments[0].contains(&format!("was superseded by run [#{}]", runs[1].id)), "{}", comments[0]);
    assert!(comments[1].contains("is **queued**, position 1"), "{}", comments[1]);

    // Both at once, through both paths: still exactly one queued run of the PR.
    let a = w.comment(1, MEMBER, "!testme");
    let b = w.comment(1, MEMBER, "!testme");
    let (sa, sb, ()) = tokio::join!(w.deliver(a), w.deliver(b), w.poll());
    assert!([sa, sb].iter().all(|s| *s == 200 || *s == 202), "{sa} {sb}");
    assert_eq!(w.queued().len(), 1, "{:?}", w.runs());
    assert_eq!(w.runs().len(), 4);
}

#[tokio::test]
async fn a_quick_testme_queues_a_quick_run_and_supersedes_only_a_queued_quick_one() {
    let w = World::new().await;
    w.comment(1, MEMBER, "!testme");
    w.poll().await;
    w.comment(1, MEMBER, "!testme --quick");
    w.poll().await;
    let runs = w.runs();
    assert_eq!(
        runs.iter().map(|r| (r.mode, r.state)).collect::<Vec<_>>(),
        vec![(Mode::Cold, RunState::Queued), (Mode::Quick, RunState::Queued)]
    );
    let comments = w.bot_comments(1);
    assert!(comments[1].contains("is **queued**, position 2 (quick, all tiers"), "{}", comments[1]);
    let status = w.forge.statuses().pop().unwrap();
    assert_eq!((status.context.as_str(), status.state.as_str()), ("cc-ci/quick", "pending"));

    // A newer quick replaces the queued quick; the cold one, whose status gates the merge, stays.
    w.comment(1, MEMBER, "!testme --quick tiers=install,upgrade");
    w.poll().await;
    let runs = w.runs();
    assert_eq!(
        runs.iter().map(|r| (r.mode, r.state)).collect::<Vec<_>>(),
        vec![(Mode::Cold, RunState::Queued), (Mode::Quick, RunState::Superseded), (Mode::Quick, RunState::Queued)]
    );
    assert!(w.bot_comments(1)[1].contains(&format!("was superseded by run [#{}]", runs[2].id)));
    // And a newer cold one replaces the queued cold one only.
    w.comment(1, MEMBER, "!testme");
    w.poll().await;
    let states: Vec<_> = w.runs().iter().map(|r| (r.mode, r.state)).collect();
    assert_eq!(states[0], (Mode::Cold, RunState::Superseded));
    assert_eq!(states[2..], [(Mode::Quick, RunState::Queued), (Mode::Cold, RunState::Queued)]);
}

#[tokio::test]
async fn edited_comments_never_trigger() {
    let w = World::new().await;
    let now = w.forge.now();

    // Seen before the edit: handled then, so the edit comes back from the poll and is ignored.
    let seen = w.forge.add_comment(REPO, 1, MEMBER, "LGTM", now);
    w.poll().await;
    w.forge.edit_comment(seen, "!testme", now + 5);
    w.poll().await;

    // Created and edited between two polls: its first sighting is already an edit.
    let unseen = w.forge.add_comment(REPO, 1, MEMBER, "will test later", now + 6);
    w.forge.edit_comment(unseen, "!testme", now + 8);
    w.poll().await;

    // An edit's webhook marks it seen: the poller never acts on it either.
    let hooked = w.forge.add_comment(REPO, 1, MEMBER, "hmm", now + 9);
    w.forge.edit_comment(hooked, "!testme", now + 10);
    let edit = w.forge.comment_hook(hooked, HookAction::Edited { from: "hmm".into() });
    assert_eq!(send_comment_webhook(&w.hook_url, SECRET, &edit).await.unwrap(), 200);
    w.poll().await;

    assert!(w.runs().is_empty(), "{:?}", w.runs());
    assert!(w.forge.posted_comments().is_empty());
    assert!(w.server_log().contains(&format!("comment {unseen} was edited before it was seen")));
    assert!(w.server_log().contains(&format!("comment {hooked} was edited before it was seen")));
}

#[tokio::test]
async fn text_bound_for_the_forge_is_redacted_before_it_is_cut() {
    let w = World::new().await;
    w.comment(1, MEMBER, "!testme");
    w.poll().await;
    let run = w.runs().pop().unwrap();
    let token = w.forge.token();
    // The token straddles the status description's 120-character cut and the comment's 500.
    let message = format!("{}clone of https://ci:{token}@forge.test/x.git failed; {SECRET}", "x".repeat(90));
    assert_eq!(message.find(&token), Some(110));
    let message = format!("{message} {}{message}", "y".repeat(188));
    assert_eq!(message.rfind(&token), Some(490));
    w.parts.feedback.errored(&run, &message).await;
    let mut result: harness::result::RunResult = serde_json::from_str(
        r#"{"schema_version":1,"run_id":"r","recipe":"app-db","ref":null,"commit":null,"mode":"cold",
        "instance":{"domain":"d","stack":"s"},"started_at":"","finished_at":"","duration_ms":1,"tiers":[],
        "level":0,"level_of":1,"outcome":"fail"}"#,
    )
    .unwrap();
    result.tiers.push(harness::result::TierResult::new(
        harness::result::Tier::Install,
        harness::result::Outcome::Fail,
        format!("{}login with {} refused", "z".repeat(290), SECRET.replace('-', "\\u002d")),
        Duration::from_secs(1),
    ));
    w.parts.feedback.finished(&run, &result).await;

    let texts: Vec<String> = w
        .forge
        .edits()
        .into_iter()
        .map(|e| e.body)
        .chain(w.forge.statuses().into_iter().map(|s| s.description))
        .chain(w.bot_comments(1))
        .collect();
    assert!(texts.len() >= 5, "{texts:?}");
    for text in &texts {
        for secret in [token.as_str(), SECRET, &token[..8], &SECRET[..8]] {
            assert!(!text.contains(secret), "{secret:?} in {text:?}");
        }
    }
    assert!(texts.iter().any(|t| t.contains("[redacted]")), "{texts:?}");
}

#[tokio::test]
async fn a_testme_seen_but_not_yet_queued_when_the_server_died_is_taken_up_again() {
    let w = World::new().await;
    // As a server killed right after claiming it would leave it: seen, claimed, no run. Its
    // delivery and the poller both find it seen.
    let id = w.comment(1, MEMBER, "!testme");
    let claim = IncomingComment { comment_id: id, ..w.incoming(id, MEMBER, "!testme") };
    assert!(w.parts.store.claim_comment(REPO, id, &serde_json::to_string(&claim).unwrap()).unwrap());
    assert_eq!(w.deliver(id).await, 200);
    assert!(w.runs().is_empty());

    poller::poll_all(&w.parts.intake).await;
    let runs = w.runs();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].trigger_comment_id, Some(id));
    assert!(w.parts.store.unsettled_comments().unwrap().is_empty(), "settled with the run");
    assert!(w.server_log().contains(&format!("taking up comment {id} again")));
    poller::poll_all(&w.parts.intake).await;
    assert_eq!(w.runs().len(), 1);
    assert_eq!(w.bot_comments(1).len(), 1, "one queued comment: {:?}", w.bot_comments(1));

    // A claimed help request is answered once, and settled before the answer.
    let help = w.comment(1, MEMBER, "!testme help");
    let claim = IncomingComment { comment_id: help, ..w.incoming(help, MEMBER, "!testme help") };
    assert!(w.parts.store.claim_comment(REPO, help, &serde_json::to_string(&claim).unwrap()).unwrap());
    poller::poll_all(&w.parts.intake).await;
    poller::poll_all(&w.parts.intake).await;
    assert_eq!(w.bot_comments(1).iter().filter(|c| c.as_str() == HELP_TEXT).count(), 1);
}

#[test]
fn a_claim_in_flight_is_left_alone_by_the_poller() {
    // In a thread of its own, so that a deadlock fails the test instead of hanging it.
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let w = World::new().await;
            let id = w.comment(1, MEMBER, "!testme");
            let claim = IncomingComment { comment_id: id, ..w.incoming(id, MEMBER, "!testme") };
            assert!(w.parts.store.claim_comment(REPO, id, &serde_json::to_string(&claim).unwrap()).unwrap());
            // As if a webhook's handling of it were still waiting on the forge.
            w.parts.intake.in_flight.lock().unwrap().insert((REPO.to_string(), id));
            assert_eq!(w.parts.intake.resume().await.unwrap(), 0);
            assert!(w.runs().is_empty(), "taken up while in flight");
            w.parts.intake.in_flight.lock().unwrap().clear();
            assert_eq!(w.parts.intake.resume().await.unwrap(), 1);
            assert_eq!(w.runs().len(), 1);
        });
        done.send(()).unwrap();
    });
    finished.recv_timeout(Duration::from_secs(60)).expect("resume finished (no deadlock)");
}
