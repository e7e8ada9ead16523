//! What the CI tells the pull request (SPEC V5): one comment per run, posted when it is queued and
//! edited as it starts and ends (into a results table), and a commit status under the context
//! `cc-ci/<mode>` pointing at the run's page: `cc-ci/cold` gates a merge, `cc-ci/quick` never
//! does, and a `!testme --quick` never touches `cc-ci/cold`. A quick run that found no canonical
//! copy ran cold: its `cc-ci/quick` status is settled saying so and the comment carries the
//! engine's notice. Forge failures are logged, never fatal: the run and the dashboard go on
//! without them.
//!
//! Every comment body and status description passes the same redactor as the dashboard and the
//! logs ([`crate::redact`], escapes considered) on its way out. It knows the server's own secrets
//! (forge token, webhook secret); a run's secret values are masked by its engine in everything the
//! engine writes (`result.json`, its output), which is where a run's text comes from.

use std::sync::Arc;

use forge::text::truncate;
use forge::{Client, NewStatus, RepoRef, StatusState};
use harness::redact::Redactor;
use harness::result::{Outcome, RunResult};

use crate::events::Events;
use crate::redact;
use crate::store::{Mode, Run, RunId, Store};

/// Posts and edits the CI's comment and commit status of runs.
#[derive(Clone)]
pub struct Feedback {
    client: Arc<Client>,
    store: Arc<Store>,
    public_url: String,
    events: Events,
    redactor: Redactor,
}

impl Feedback {
    pub fn new(
        client: Arc<Client>,
        store: Arc<Store>,
        public_url: &str,
        events: Events,
        redactor: Redactor,
    ) -> Feedback {
        Feedback { client, store, public_url: public_url.trim_end_matches('/').to_string(), events, redactor }
    }

    /// The run's page on the dashboard.
    pub fn run_url(&self, id: RunId) -> String {
        run_url(&self.public_url, id)
    }

    /// A new run: the "queued" comment (its id is stored for later edits) and a pending status.
    pub async fn queued(&self, run: &Run, position: u64) {
        let body = queued_body(run, position, &self.run_url(run.id));
        if let (Some(pr), Some(repo)) = (run.pr, repo_ref(&run.repo)) {
            match self.client.post_comment(&repo, pr, &self.redact(&body)).await {
                Ok(comment) => {
                    if let Err(e) = self.store.set_comment_id(run.id, comment.id) {
                        self.events.log(format!("run {}: cannot record its comment: {e}", run.id));
                    }
                }
                Err(e) => self.events.log(format!("run {}: cannot post the queued comment: {e}", run.id)),
            }
        }
        self.status(run, StatusState::Pending, &format!("queued, position {position}")).await;
    }

    /// The run started.
    pub async fn started(&self, run: &Run) {
        self.edit(run, &started_body(run, &self.run_url(run.id))).await;
        self.status(run, StatusState::Pending, "running").await;
    }

    /// The run ended with a result.
    pub async fn finished(&self, run: &Run, result: &RunResult) {
        // Redacted before the body cuts long reasons: a secret cut in two would not be recognised.
        let mut result = result.clone();
        for tier in &mut result.tiers {
            tier.reason = self.redact(&tier.reason);
        }
        result.teardown_error = result.teardown_error.map(|e| self.redact(&e));
        result.notice = result.notice.map(|n| self.redact(&n));
        self.edit(run, &results_body(run, &result, &self.run_url(run.id))).await;
        let state = match result.outcome {
            Outcome::Pass => StatusState::Success,
            Outcome::Fail => StatusState::Failure,
            Outcome::Error | Outcome::Skipped => StatusState::Error,
        };
        let description = format!("level {} of {}: {}", result.level, result.level_of, result.outcome.name());
        let ran = mode_ran(run, &result);
        let description =
            if ran == run.mode { description } else { format!("ran {} instead: {description}", ran.as_str()) };
        self.status(run, state, &description).await;
    }

    /// The run could not run or finish (crash, timeout, the engine gave no result).
    pub async fn errored(&self, run: &Run, message: &str) {
        let message = self.redact(message);
        self.edit(run, &error_body(run, &message, &self.run_url(run.id))).await;
        self.status(run, StatusState::Error, &truncate(&message, 120)).await;
    }

    /// A queued run replaced by a newer `!testme` on the same pull request.
    pub async fn superseded(&self, run: &Run, by: RunId) {
        let body = format!(
            "cc-ci run [#{}]({}) was superseded by run [#{by}]({}) (a newer `!testme` on this pull request).",
            run.id,
            self.run_url(run.id),
            self.run_url(by)
        );
        self.edit(run, &body).await;
    }

    /// A reply that is not about a run (help, syntax, refusal).
    pub async fn reply(&self, repo: &str, number: u64, body: &str) {
        let Some(repo_ref) = repo_ref(repo) else { return };
        if let Err(e) = self.client.post_comment(&repo_ref, number, &self.redact(body)).await {
            self.events.log(format!("{repo}#{number}: cannot post a reply: {e}"));
        }
    }

    async fn edit(&self, run: &Run, body: &str) {
        // The stored run may be older than the comment id recorded since.
        let comment = match run.comment_id {
            Some(id) => Some(id),
            None => self.store.get_run(run.id).ok().flatten().and_then(|r| r.comment_id),
        };
        let (Some(comment), Some(repo)) = (comment, repo_ref(&run.repo)) else { return };
        if let Err(e) = self.client.edit_comment(&repo, comment, &self.redact(body)).await {
            self.events.log(format!("run {}: cannot edit its comment: {e}", run.id));
        }
    }

    /// The run's commit status, under the context of the mode it was asked for.
    async fn status(&self, run: &Run, state: StatusState, description: &str) {
        let (Some(sha), Some(repo)) = (run.commit.as_deref(), repo_ref(&run.repo)) else { return };
        let status = NewStatus {
            state,
            context: format!("cc-ci/{}", run.mode.as_str()),
            description: self.redact(description),
            target_url: self.run_url(run.id),
        };
        if let Err(e) = self.client.create_status(&repo, sha, &status).await {
            self.events.log(format!("run {}: cannot set the commit status: {e}", run.id));
        }
    }

    /// Text on its way to the forge.
    fn redact(&self, text: &str) -> String {
        redact::string(&self.redactor, text)
    }
}

/// `owner/name` as a [`RepoRef`].
pub fn repo_ref(full_name: &str) -> Option<RepoRef> {
    full_name.parse().ok()
}

/// The run's page under `public_url`.
pub fn run_url(public_url: &str, id: RunId) -> String {
    format!("{}/runs/{id}", public_url.trim_end_matches('/'))
}

fn short_commit(run: &Run) -> String {
    run.commit.as_deref().map(|c| c.chars().take(10).collect()).unwrap_or_else(|| "?".into())
}

fn tiers_asked(run: &Run) -> String {
    match &run.tiers {
        Some(tiers) => tiers.iter().map(|t| t.name()).collect::<Vec<_>>().join(", "),
        None => "all tiers".into(),
    }
}

/// The comment of a queued run.
pub fn queued_body(run: &Run, position: u64, url: &str) -> String {
    progress_body(run, url, "queued", &format!(", position {position}"), "")
}

/// The comment of a running run.
pub fn started_body(run: &Run, url: &str) -> String {
    progress_body(run, url, "running", "", " Live log on the run page.")
}

fn progress_body(run: &Run, url: &str, state: &str, detail: &str, tail: &str) -> String {
    format!(
        "cc-ci: run [#{id}]({url}) is **{state}**{detail} ({mode}, {tiers}, commit `{commit}`).{tail}",
        id = run.id,
        mode = run.mode.as_str(),
        tiers = tiers_asked(run),
        commit = short_commit(run),
    )
}

/// The mode a run ran in: a quick run's as its result says (it runs cold when there is no
/// canonical copy; the mode it asked for when the result names none this server knows); any other
/// run's is the one it asked for (a sweep's seed is a cold run of `ccci warm seed`, and stays a seed).
pub fn mode_ran(run: &Run, result: &RunResult) -> Mode {
    match run.mode {
        Mode::Quick => Mode::parse(&result.mode).unwrap_or(run.mode),
        asked => asked,
    }
}

/// The comment of a finished run: a results table, after the engine's notice if it has one.
pub fn results_body(run: &Run, result: &RunResult, url: &str) -> String {
    let ran = mode_ran(run, result);
    let mode = match ran == run.mode {
        true => ran.as_str().to_string(),
        false => format!("{}, asked: {}", ran.as_str(), run.mode.as_str()),
    };
    let mut body = format!(
        "cc-ci: run [#{id}]({url}) **{outcome}**, level {level} of {of} ({mode}, commit `{commit}`, {secs:.0} s)\n\n",
        id = run.id,
        outcome = result.outcome.name(),
        level = result.level,
        of = result.level_of,
        commit = short_commit(run),
        secs = result.duration_ms as f64 / 1000.0,
    );
    if let Some(notice) = &result.notice {
        body.push_str(&format!("Note: {}\n\n", one_line(notice, 300)));
    }
    body.push_str("| tier | result | duration |\n|---|---|---|\n");
    for tier in &result.tiers {
        let reason =
            if tier.outcome == Outcome::Pass { String::new() } else { format!(": {}", table_cell(&tier.reason)) };
        body.push_str(&format!(
            "| {} | {}{} | {:.1} s |\n",
            tier.tier.name(),
            tier.outcome.name(),
            reason,
            tier.duration_ms as f64 / 1000.0
        ));
    }
    if let Some(teardown) = &result.teardown_error {
        body.push_str(&format!("\nTeardown: {}\n", table_cell(teardown)));
    }
    body
}

/// The comment of a run that ended in error without a result.
pub fn error_body(run: &Run, message: &str, url: &str) -> String {
    format!(
        "cc-ci: run [#{id}]({url}) **error** ({mode}, commit `{commit}`): {message}",
        id = run.id,
        mode = run.mode.as_str(),
        commit = short_commit(run),
        message = truncate(message, 500),
    )
}

/// Text safe inside one Markdown table cell.
fn table_cell(text: &str) -> String {
    one_line(&text.replace('|', "\\|"), 300)
}

/// `text` on one line, cut to `max` characters.
fn one_line(text: &str, max: usize) -> String {
    truncate(&text.replace(['\n', '\r'], " "), max)
}
