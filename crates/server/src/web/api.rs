//! The JSON API: `GET /api/runs` (the runs list's filters and `page`), `GET /api/runs/{id}` (one
//! run with its parsed `result.json`, files and log URLs), `GET /api/recipes` (with each recipe's
//! warm canonical copy). Times are Unix milliseconds; URLs are absolute, from the configured
//! public URL.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::Json;
use serde::Serialize;
use serde_json::Value;

use super::error::ApiError;
use super::model::{self, LoadedRun};
use super::pages;
use super::query::{self, ListParams, ListQuery};
use super::warm::ApiCanonical;
use super::{artifacts, format, WebState};
use crate::store::Run;

/// A run as the API lists it.
#[derive(Debug, Serialize)]
pub struct ApiRun {
    pub id: i64,
    pub url: String,
    pub repo: String,
    pub recipe: String,
    pub pr: Option<u64>,
    pub commit: Option<String>,
    #[serde(rename = "ref")]
    pub git_ref: Option<String>,
    pub mode: &'static str,
    /// The tiers asked for; `null` for every tier the recipe supports.
    pub tiers: Option<Vec<&'static str>>,
    pub state: &'static str,
    pub outcome: Option<&'static str>,
    pub level: Option<u32>,
    pub level_of: Option<u64>,
    pub queue_position: Option<u64>,
    pub queued_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub duration_ms: Option<i64>,
    pub error: Option<String>,
}

impl ApiRun {
    fn new(state: &WebState, run: &Run, level_of: Option<u64>, queue_position: Option<u64>) -> ApiRun {
        ApiRun {
            id: run.id.0,
            url: state.url(&format!("/runs/{}", run.id)),
            repo: run.repo.clone(),
            recipe: run.recipe.clone(),
            pr: run.pr,
            commit: run.commit.clone(),
            git_ref: run.git_ref.clone(),
            mode: run.mode.as_str(),
            tiers: run.tiers.as_ref().map(|t| t.iter().map(|t| t.name()).collect()),
            state: run.state.as_str(),
            outcome: run.outcome.map(|o| o.name()),
            level: run.level,
            level_of,
            queue_position,
            queued_at: run.queued_at,
            started_at: run.started_at,
            finished_at: run.finished_at,
            duration_ms: run.started_at.zip(run.finished_at).map(|(s, f)| f - s),
            error: run.error.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct RunsAnswer {
    pub runs: Vec<ApiRun>,
    pub total: u64,
    pub page: u32,
    pub pages: u32,
    pub per_page: u32,
}

/// `GET /api/runs`.
pub async fn runs(
    State(state): State<WebState>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<RunsAnswer>, ApiError> {
    let q = ListQuery::from_request(params)?;
    let (runs, total) = pages::list(&state, &q).await?;
    let runs = runs
        .iter()
        .map(|(r, pos)| {
            let row = model::RunRow::new(r, 0);
            ApiRun::new(&state, r, row.level_of, *pos)
        })
        .collect();
    Ok(Json(RunsAnswer { runs, total, page: q.page, pages: query::pages(total), per_page: query::PER_PAGE }))
}

#[derive(Debug, Serialize)]
pub struct ApiFile {
    pub path: String,
    pub kind: String,
    pub bytes: u64,
    /// `null` when the name holds a secret.
    pub url: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct RunAnswer {
    #[serde(flatten)]
    pub run: ApiRun,
    /// The parsed `result.json`; `null` until the run has one.
    pub result: Option<Value>,
    pub files: Vec<ApiFile>,
    pub log_url: String,
    /// Server-sent events: the log, then followed while the run is live.
    pub log_stream_url: String,
}

/// `GET /api/runs/{id}`.
pub async fn run(State(state): State<WebState>, Path(id): Path<String>) -> Result<Json<RunAnswer>, ApiError> {
    let loaded: LoadedRun = model::load(&state, &id).await?;
    let files = artifacts::list(&state, loaded.run.id, loaded.result.as_ref()).await;
    let id = loaded.run.id;
    Ok(Json(RunAnswer {
        run: ApiRun::new(&state, &loaded.run, loaded.level_of(), loaded.queue_position),
        result: loaded.result.map(|r| r.json),
        files: files
            .into_iter()
            .map(|f| ApiFile {
                url: (!f.href.is_empty()).then(|| state.url(&f.href)),
                path: f.path,
                kind: f.kind,
                bytes: f.bytes,
            })
            .collect(),
        log_url: state.url(&format!("/runs/{id}/artifacts/log.txt")),
        log_stream_url: state.url(&format!("/runs/{id}/log/stream")),
    }))
}

#[derive(Debug, Serialize)]
pub struct ApiLast {
    pub run: i64,
    pub url: String,
    pub state: &'static str,
    pub outcome: Option<&'static str>,
    pub level: Option<u32>,
    pub level_of: Option<u64>,
    pub finished_at: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct ApiRecipe {
    pub recipe: String,
    pub runs: u64,
    pub runs_url: String,
    pub badge_url: String,
    /// The latest cold and quick runs that ended.
    pub cold: Option<ApiLast>,
    pub quick: Option<ApiLast>,
    /// Its warm canonical copy; `null` when it has none.
    pub canonical: Option<ApiCanonical>,
}

#[derive(Debug, Serialize)]
pub struct RecipesAnswer {
    pub recipes: Vec<ApiRecipe>,
}

/// `GET /api/recipes`.
pub async fn recipes(State(state): State<WebState>) -> Result<Json<RecipesAnswer>, ApiError> {
    let last = |run: &Run| ApiLast {
        run: run.id.0,
        url: state.url(&format!("/runs/{}", run.id)),
        state: run.state.as_str(),
        outcome: run.outcome.map(|o| o.name()),
        level: run.level,
        level_of: model::RunRow::new(run, 0).level_of,
        finished_at: run.finished_at,
    };
    let recipes = pages::listing(&state)
        .await?
        .iter()
        .map(|(s, copy)| ApiRecipe {
            recipe: s.recipe.clone(),
            runs: s.runs,
            runs_url: state.url(&format!("/api/runs?recipe={}", format::encode(&s.recipe))),
            badge_url: state.url(&format!("/badge/{}.svg", format::encode(&s.recipe))),
            cold: s.cold.as_ref().map(last),
            quick: s.quick.as_ref().map(last),
            canonical: copy.as_ref().map(ApiCanonical::of),
        })
        .collect();
    Ok(Json(RecipesAnswer { recipes }))
}
