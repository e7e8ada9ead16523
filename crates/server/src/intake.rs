//! One intake for comments, whether the poller found them or a webhook brought them (SPEC V1–V3):
//! each comment is handled at most once, ever (the store remembers every id it saw); the first
//! line is parsed as a command ([`crate::command`]); the author is authorised (allowlist, or org
//! membership checked fail-closed) before anything is answered; a run is queued for the pull
//! request's head commit — cold, or quick with `--quick` — superseding an older queued run of the
//! same PR and mode in the same store transaction, and the PR hears about it at once.
//!
//! Someone who may not trigger runs hears only a short, fixed refusal, and only when they asked
//! for a run: help and syntax replies go to authorised users alone, so a stranger cannot make the
//! bot post anything of their choosing.
//!
//! A comment with a command is *claimed* in the store (with itself as the claim) before anything
//! is done, and *settled* before it is answered (a reply is at most once) or in the transaction
//! that queues its run. A claim left unsettled — the server was killed mid-way, the store refused
//! the run (a full disk) — is taken up again by the poller's next cycle ([`Intake::resume`]), so a
//! `!testme` is never lost between being seen and being queued, nor queued twice (the run's
//! unique trigger comment).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use forge::{Client, Membership};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::command::{self, Command, RunRequest};
use crate::config::{AuthConfig, RepoConfig};
use crate::events::Events;
use crate::feedback::{repo_ref, Feedback};
use crate::health::Health;
use crate::persist::{self, Tries};
use crate::store::{Enqueued, Mode, NewRun, RunId, Store, StoreError};

/// The reply to someone who asked for a run but may not start one.
pub const REFUSAL: &str = "cc-ci: sorry, only the maintainers of this repository may start test runs here.";

/// How often queueing a run is tried before the claim is left for the next poll cycle.
const QUEUE_TRIES: u32 = 4;

/// How much of a comment's body a claim keeps (only its first line is a command).
const CLAIMED_BODY: usize = 4096;

/// A comment on an issue or pull request of an enrolled repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncomingComment {
    /// `owner/name`.
    pub repo: String,
    pub comment_id: u64,
    /// The issue or pull request number.
    pub number: u64,
    pub is_pull: bool,
    pub author: String,
    pub body: String,
}

/// What intake did with a comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// The repository is not enrolled.
    NotEnrolled,
    /// This comment was handled before (by the poller, a webhook, or an earlier life of the server).
    AlreadySeen,
    /// Not addressed to the CI (no command, a quote, the bot's own comment).
    NoCommand,
    /// Answered with the syntax or another explanation; no run.
    Replied,
    /// The author may not trigger runs: refused (with [`REFUSAL`] when they asked for a run,
    /// silently otherwise).
    Refused,
    /// A run was queued.
    Queued(RunId),
}

/// Who may trigger, what is enrolled, and where runs go.
pub struct Intake {
    pub store: Arc<Store>,
    pub client: Arc<Client>,
    pub feedback: Feedback,
    pub events: Events,
    pub health: Health,
    pub bot_login: String,
    pub auth: AuthConfig,
    pub repos: Vec<RepoConfig>,
    /// Woken when a run is queued.
    pub wake: Arc<Notify>,
    /// Claims being acted on in this process right now (`(repo, comment id)`), which
    /// [`Intake::resume`] leaves alone.
    pub in_flight: Mutex<HashSet<(String, u64)>>,
}

/// Marks a claim in flight for as long as it lives.
struct InFlight<'a> {
    intake: &'a Intake,
    key: (String, u64),
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.intake.in_flight.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.key);
    }
}

impl Intake {
    /// The enrolled repository `repo` (`owner/name`, compared case-insensitively).
    pub fn enrolled(&self, repo: &str) -> Option<&RepoConfig> {
        self.repos.iter().find(|r| r.repo.eq_ignore_ascii_case(repo))
    }

    /// An edited comment (by webhook, or polled with `updated_at` after `created_at`): marked seen
    /// without being acted on, so an edit never triggers, whichever path brings it first.
    pub fn edited(&self, repo: &str, comment_id: u64) -> Result<Handled, StoreError> {
        let Some(enrolled) = self.enrolled(repo) else {
            return Ok(Handled::NotEnrolled);
        };
        if self.store.mark_comment_seen(&enrolled.repo, comment_id)? {
            self.events.log(format!(
                "{}: comment {comment_id} was edited before it was seen; edits never trigger",
                enrolled.repo
            ));
        }
        Ok(Handled::NoCommand)
    }

    /// Handles one comment, at most once ever.
    pub async fn handle(&self, comment: IncomingComment) -> Result<Handled, StoreError> {
        let Some(enrolled) = self.enrolled(&comment.repo) else {
            return Ok(Handled::NotEnrolled);
        };
        let comment = IncomingComment { repo: enrolled.repo.clone(), ..comment };
        let Some(command) = command::parse_comment(&comment.body, &comment.author, &self.bot_login) else {
            return Ok(if self.store.mark_comment_seen(&comment.repo, comment.comment_id)? {
                Handled::NoCommand
            } else {
                Handled::AlreadySeen
            });
        };
        let claim = claim_of(&comment);
        if !self.store.claim_comment(&comment.repo, comment.comment_id, &claim)? {
            return Ok(Handled::AlreadySeen);
        }
        let Some(_in_flight) = self.take(&comment) else { return Ok(Handled::AlreadySeen) };
        self.act(&comment, command).await
    }

    /// Takes up again every claim left unsettled that nobody in this process is acting on (after a
    /// crash, or when queueing its run failed); errors stop at the first, for the next cycle.
    pub async fn resume(&self) -> Result<usize, StoreError> {
        let mut resumed = 0;
        for (repo, id, claim) in self.store.unsettled_comments()? {
            let comment = match serde_json::from_str::<IncomingComment>(&claim) {
                Ok(comment) if comment.repo == repo && comment.comment_id == id => comment,
                _ => {
                    self.events.log(format!("{repo}: comment {id}'s claim is unreadable; dropped"));
                    self.store.settle_comment(&repo, id)?;
                    continue;
                }
            };
            let Some(_in_flight) = self.take(&comment) else { continue };
            let Some(command) = command::parse_comment(&comment.body, &comment.author, &self.bot_login) else {
                self.store.settle_comment(&repo, id)?;
                continue;
            };
            self.events.log(format!("{repo}: taking up comment {id} again (it was seen, not yet acted on)"));
            self.act(&comment, command).await?;
            resumed += 1;
        }
        Ok(resumed)
    }

    /// Marks `comment` in flight; `None` if it already is.
    fn take(&self, comment: &IncomingComment) -> Option<InFlight<'_>> {
        let key = (comment.repo.clone(), comment.comment_id);
        let taken = self.in_flight.lock().unwrap_or_else(|e| e.into_inner()).insert(key.clone());
        // Made only when taken (and after the lock is let go): its drop takes the lock again.
        taken.then(|| InFlight { intake: self, key })
    }

    /// Acts on a claimed comment's command: authorise, answer or queue; settles the claim.
    async fn act(&self, comment: &IncomingComment, command: Command) -> Result<Handled, StoreError> {
        let repo = comment.repo.as_str();
        let Some(recipe) = self.enrolled(repo).map(|r| r.recipe.clone()) else {
            self.store.settle_comment(repo, comment.comment_id)?;
            return Ok(Handled::NotEnrolled);
        };
        let where_ = format!("{repo}#{} comment {} by {}", comment.number, comment.comment_id, comment.author);
        if !self.authorised(&comment.author, &where_).await {
            self.store.settle_comment(repo, comment.comment_id)?;
            if matches!(command, Command::Run(_)) {
                self.feedback.reply(repo, comment.number, REFUSAL).await;
            } else {
                self.events.log(format!("{where_}: not answered (only authorised users get replies)"));
            }
            return Ok(Handled::Refused);
        }
        let request = match command {
            Command::Run(request) => request,
            other => {
                self.events.log(format!("{where_}: answered with the syntax"));
                if let Some(reply) = other.reply() {
                    self.answer(comment, &reply).await?;
                }
                return Ok(Handled::Replied);
            }
        };
        if !comment.is_pull {
            self.events.log(format!("{where_}: !testme on an issue, not a pull request"));
            let reply = "cc-ci tests pull requests: comment `!testme` on a pull request, not on an issue.";
            self.answer(comment, reply).await?;
            return Ok(Handled::Replied);
        }
        self.queue(repo, &recipe, comment, request, &where_).await
    }

    /// Settles the comment's claim, then replies (a reply is posted at most once).
    async fn answer(&self, comment: &IncomingComment, reply: &str) -> Result<(), StoreError> {
        self.store.settle_comment(&comment.repo, comment.comment_id)?;
        self.feedback.reply(&comment.repo, comment.number, reply).await;
        Ok(())
    }

    async fn queue(
        &self,
        repo: &str,
        recipe: &str,
        comment: &IncomingComment,
        request: RunRequest,
        where_: &str,
    ) -> Result<Handled, StoreError> {
        let Some(repo_ref) = repo_ref(repo) else { return Ok(Handled::NotEnrolled) };
        let pull = match self.client.get_pull(&repo_ref, comment.number).await {
            Ok(pull) => pull,
            Err(e) => {
                self.events.log(format!("{where_}: cannot read the pull request: {e}"));
                let reply = "cc-ci: I could not read this pull request from the forge; please try `!testme` again \
                             in a few minutes.";
                self.answer(comment, reply).await?;
                return Ok(Handled::Replied);
            }
        };
        if pull.state != "open" {
            self.events.log(format!("{where_}: the pull request is {}", pull.state));
            self.answer(comment, "cc-ci: this pull request is closed; nothing to test.").await?;
            return Ok(Handled::Replied);
        }
        let new = NewRun {
            repo: repo.to_string(),
            recipe: recipe.to_string(),
            pr: Some(comment.number),
            commit: Some(pull.head.sha.clone()),
            git_ref: Some(pull.pull_ref()),
            mode: if request.quick { Mode::Quick } else { Mode::Cold },
            tiers: request.tiers,
            trigger_comment_id: Some(comment.comment_id),
        };
        let what = format!("queueing a run for {where_}");
        let written = persist::write(&self.health, &self.events, &what, Tries::AtMost(QUEUE_TRIES), || {
            self.store.enqueue_for_pr(&new)
        })
        .await;
        let (id, superseded) = match written {
            Ok((Enqueued::New(id), superseded)) => (id, superseded),
            Ok((Enqueued::Duplicate(_), _)) => return Ok(Handled::AlreadySeen),
            Err(e) => {
                // Not lost: the claim stays, and the poller's next cycle takes it up again.
                self.events.log(format!("{where_}: could not be queued; the next poll cycle tries again"));
                return Err(e);
            }
        };
        self.events.log(format!("{where_}: queued {} run {id} for {}", new.mode.as_str(), pull.head.sha));
        for old in superseded {
            self.events.log(format!("run {} superseded by run {id}", old.id));
            self.feedback.superseded(&old, id).await;
        }
        if let Some(run) = self.store.get_run(id)? {
            let position = self.store.queue_position(id)?.unwrap_or(1);
            self.feedback.queued(&run, position).await;
        }
        self.wake.notify_one();
        Ok(Handled::Queued(id))
    }

    /// Allowlist first, then org membership; every error refuses (fail closed) and is logged.
    async fn authorised(&self, author: &str, where_: &str) -> bool {
        if self.auth.allow.iter().any(|a| a.eq_ignore_ascii_case(author)) {
            return true;
        }
        let Some(org) = self.auth.org.as_deref().filter(|o| !o.trim().is_empty()) else {
            self.events.log(format!("{where_}: refused: not in auth.allow"));
            return false;
        };
        match self.client.org_membership(org, author).await {
            Ok(Membership::Member) => true,
            Ok(Membership::NotMember) => {
                self.events.log(format!("{where_}: refused: not a member of {org}"));
                false
            }
            Err(e) => {
                self.events.log(format!("{where_}: refused: the membership check in {org} failed: {e}"));
                false
            }
        }
    }
}

/// What a claim keeps of `comment`: all of it but a very long body's tail.
fn claim_of(comment: &IncomingComment) -> String {
    let mut kept = comment.clone();
    if let Some((cut, _)) = kept.body.char_indices().nth(CLAIMED_BODY) {
        kept.body.truncate(cut);
    }
    serde_json::to_string(&kept).unwrap_or_default()
}
