//! A run as the dashboard and API show it: the stored run (redacted), its `result.json` read
//! leniently (fields the page needs, the rest kept as JSON), its queue position, and one row of
//! the runs list.

use serde::Deserialize;
use serde_json::Value;

use super::error::WebError;
use super::{db, format, redact, WebState};
use crate::paths;
use crate::store::{Run, RunId, RunState};

/// A run id from a URL path; anything but a positive number is no run at all.
pub fn parse_id(s: &str) -> Result<RunId, WebError> {
    s.parse::<i64>().ok().filter(|&n| n > 0).map(RunId).ok_or_else(|| WebError::no_such_run(s))
}

/// One tier's row in the run page.
#[derive(Debug, Clone)]
pub struct TierRow {
    pub tier: String,
    pub outcome: String,
    pub reason: String,
    pub duration: String,
    pub cases: Vec<CaseRow>,
}

/// One check or recipe test of a tier.
#[derive(Debug, Clone)]
pub struct CaseRow {
    pub name: String,
    pub outcome: String,
    pub message: String,
}

/// What the pages use of a `result.json` (already redacted).
#[derive(Debug, Clone, Default)]
pub struct ResultView {
    pub json: Value,
    pub tiers: Vec<TierRow>,
    pub level: Option<u64>,
    pub level_of: Option<u64>,
    pub teardown_error: Option<String>,
    /// The engine's word on the run as a whole (e.g. why a quick run ran cold).
    pub notice: Option<String>,
}

impl ResultView {
    /// Reads the fields it knows; missing or mistyped ones are left empty rather than refused.
    pub fn from_json(json: Value) -> ResultView {
        let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
        let tiers = json
            .get("tiers")
            .and_then(Value::as_array)
            .map(|tiers| {
                tiers
                    .iter()
                    .map(|t| TierRow {
                        tier: s(t, "tier"),
                        outcome: s(t, "outcome"),
                        reason: s(t, "reason"),
                        duration: t
                            .get("duration_ms")
                            .and_then(Value::as_i64)
                            .map(format::duration)
                            .unwrap_or_else(|| "—".into()),
                        cases: t
                            .get("cases")
                            .and_then(Value::as_array)
                            .map(|cases| {
                                cases
                                    .iter()
                                    .map(|c| CaseRow {
                                        name: s(c, "name"),
                                        outcome: s(c, "outcome"),
                                        message: s(c, "message"),
                                    })
                                    .collect()
                            })
                            .unwrap_or_default(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        ResultView {
            tiers,
            level: json.get("level").and_then(Value::as_u64),
            level_of: json.get("level_of").and_then(Value::as_u64),
            teardown_error: json.get("teardown_error").and_then(Value::as_str).map(str::to_owned),
            notice: json.get("notice").and_then(Value::as_str).map(str::to_owned),
            json,
        }
    }
}

/// A run with what the run page and API need besides the stored row.
#[derive(Debug, Clone)]
pub struct LoadedRun {
    pub run: Run,
    pub result: Option<ResultView>,
    /// Why `result.json` could not be read, when it exists but is not JSON.
    pub result_error: Option<String>,
    pub queue_position: Option<u64>,
}

impl LoadedRun {
    pub fn is_live(&self) -> bool {
        is_live(self.run.state)
    }

    pub fn level_of(&self) -> Option<u64> {
        self.result.as_ref().and_then(|r| r.level_of).or_else(|| tiers_asked(&self.run))
    }
}

/// Whether a run in this state may still write to its log.
pub fn is_live(state: RunState) -> bool {
    matches!(state, RunState::Queued | RunState::Running)
}

/// How many tiers the run asked for, when it named them.
pub fn tiers_asked(run: &Run) -> Option<u64> {
    run.tiers.as_ref().map(|t| t.len() as u64)
}

/// Loads run `id` (404 when unknown), redacted, with its result from the store or, while the
/// store has none, from the run directory.
pub async fn load(state: &WebState, id: &str) -> Result<LoadedRun, WebError> {
    let id = parse_id(id)?;
    let (run, queue_position) = db(state, move |s| {
        let run = s.get_run(id)?;
        let pos = match &run {
            Some(r) if r.state == RunState::Queued => s.queue_position(id)?,
            _ => None,
        };
        Ok((run, pos))
    })
    .await?;
    let run = run.ok_or_else(|| WebError::no_such_run(&id.to_string()))?;
    let run = redact::run(&state.redactor, run);
    let text = match &run.result_json {
        Some(j) => Some(j.clone()),
        None => tokio::fs::read_to_string(paths::run_result(&state.data_dir, id)).await.ok(),
    };
    let (result, result_error) = match text.map(|t| serde_json::from_str::<Value>(&t)) {
        None => (None, None),
        Some(Ok(mut json)) => {
            redact::value(&state.redactor, &mut json);
            (Some(ResultView::from_json(json)), None)
        }
        Some(Err(e)) => (None, Some(format!("result.json is not valid JSON: {e}"))),
    };
    Ok(LoadedRun { run, result, result_error, queue_position })
}

/// One row of the runs list (strings ready to show).
#[derive(Debug, Clone)]
pub struct RunRow {
    pub id: i64,
    pub repo: String,
    pub recipe: String,
    pub pr: Option<u64>,
    pub commit: String,
    pub commit_short: String,
    pub mode: &'static str,
    pub state: &'static str,
    pub outcome: &'static str,
    pub level: String,
    pub level_of: Option<u64>,
    pub queued: String,
    pub duration: String,
}

impl RunRow {
    /// The row of an already redacted run; `now` (Unix ms) times a running run.
    pub fn new(run: &Run, now: i64) -> RunRow {
        #[derive(Deserialize)]
        struct LevelOf {
            level_of: Option<u64>,
        }
        let level_of = run
            .result_json
            .as_deref()
            .and_then(|j| serde_json::from_str::<LevelOf>(j).ok())
            .and_then(|l| l.level_of)
            .or_else(|| tiers_asked(run));
        let commit = run.commit.clone().unwrap_or_default();
        RunRow {
            id: run.id.0,
            repo: run.repo.clone(),
            recipe: run.recipe.clone(),
            pr: run.pr,
            commit_short: format::short_commit(&commit),
            commit,
            mode: run.mode.as_str(),
            state: run.state.as_str(),
            outcome: run.outcome.map(|o| o.name()).unwrap_or(""),
            level: format::level(run.level.map(u64::from), level_of),
            level_of,
            queued: format::time(run.queued_at),
            duration: run_duration(run, now),
        }
    }
}

/// How long the run took, or has been running; empty while queued.
pub fn run_duration(run: &Run, now: i64) -> String {
    match (run.started_at, run.finished_at) {
        (Some(s), Some(f)) => format::duration(f - s),
        (Some(s), None) => format!("{} so far", format::duration(now - s)),
        (None, _) => String::new(),
    }
}

/// The wall clock, Unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
