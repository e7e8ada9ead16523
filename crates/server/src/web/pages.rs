//! The HTML pages: the runs list (`/`), a run (`/runs/{id}`), the recipes (`/recipes`, with their
//! warm canonical copies) and the 404 page. Rendered by askama (which escapes), readable without JavaScript.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::Uri;
use axum::response::{Html, IntoResponse, Response};

use super::artifacts::{self, FileEntry};
use super::error::{ApiError, WebError};
use super::logs::{self, PageLog};
use super::model::{self, now_ms, ResultView, RunRow};
use super::query::{self, ListParams, ListQuery};
use super::warm::{self, CanonicalCell};
use super::{db, format, redact, WebState};
use crate::paths;
use crate::store::dashboard::RecipeSummary;
use crate::store::{Run, RunState};
use harness::warm::canonical::Canonical;

fn html(t: &impl Template) -> Result<Response, WebError> {
    Ok(Html(t.render().map_err(WebError::internal)?).into_response())
}

/// A `<select>` option.
pub struct Opt {
    pub value: &'static str,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "runs.html")]
struct RunsPage {
    rows: Vec<RunRow>,
    total: u64,
    page: u32,
    pages: u32,
    prev: Option<String>,
    next: Option<String>,
    recipe: String,
    states: Vec<Opt>,
    pr: String,
    filtered: bool,
}

/// The runs of a list query, redacted, each with its queue position when queued, and the total.
pub async fn list(state: &WebState, q: &ListQuery) -> Result<(Vec<(Run, Option<u64>)>, u64), WebError> {
    let (filter, offset) = (q.filter.clone(), q.offset());
    let (runs, total) = db(state, move |s| {
        let runs = s.list_runs(&filter, query::PER_PAGE, offset)?;
        let mut out = Vec::with_capacity(runs.len());
        for run in runs {
            let pos = if run.state == RunState::Queued { s.queue_position(run.id)? } else { None };
            out.push((run, pos));
        }
        Ok((out, s.count_runs(&filter)?))
    })
    .await?;
    Ok((runs.into_iter().map(|(r, pos)| (redact::run(&state.redactor, r), pos)).collect(), total))
}

/// `GET /`.
pub async fn runs(
    State(state): State<WebState>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Response, WebError> {
    let q = ListQuery::from_request(params)?;
    let (runs, total) = list(&state, &q).await?;
    let now = now_ms();
    let pages = query::pages(total);
    let href = |page: u32| {
        let qs = q.with_page(page);
        if qs.is_empty() {
            "/".to_owned()
        } else {
            format!("/?{qs}")
        }
    };
    let f = &q.filter;
    html(&RunsPage {
        rows: runs
            .iter()
            .map(|(r, pos)| {
                let mut row = RunRow::new(r, now);
                if let Some(p) = pos {
                    row.duration = format!("waiting, position {p}");
                }
                row
            })
            .collect(),
        total,
        page: q.page,
        pages,
        prev: (q.page > 1).then(|| href(q.page - 1)),
        next: (q.page < pages).then(|| href(q.page + 1)),
        recipe: redact::string(&state.redactor, f.recipe.as_deref().unwrap_or_default()),
        states: RunState::ALL.iter().map(|s| Opt { value: s.as_str(), selected: f.state == Some(*s) }).collect(),
        pr: f.pr.map(|p| p.to_string()).unwrap_or_default(),
        filtered: f.recipe.is_some() || f.repo.is_some() || f.state.is_some() || f.pr.is_some(),
    })
}

#[derive(Template)]
#[template(path = "run.html")]
struct RunPage {
    row: RunRow,
    git_ref: Option<String>,
    tiers_asked: String,
    queue_position: Option<u64>,
    started: Option<String>,
    finished: Option<String>,
    error: Option<String>,
    result: Option<ResultView>,
    result_error: Option<String>,
    images: Vec<FileEntry>,
    files: Vec<FileEntry>,
    log: PageLog,
    log_href: String,
    live: bool,
}

/// `GET /runs/{id}`.
pub async fn run(State(state): State<WebState>, Path(id): Path<String>) -> Result<Response, WebError> {
    let loaded = model::load(&state, &id).await?;
    let run = &loaded.run;
    let live = loaded.is_live();
    let log = logs::page_log(&paths::run_log(&state.data_dir, run.id), live, &state.redactor).await;
    let files = artifacts::list(&state, run.id, loaded.result.as_ref()).await;
    let mut row = RunRow::new(run, now_ms());
    let level = run.level.map(u64::from).or(loaded.result.as_ref().and_then(|r| r.level));
    row.level = format::level(level, loaded.level_of());
    html(&RunPage {
        git_ref: run.git_ref.clone(),
        tiers_asked: match &run.tiers {
            Some(t) => t.iter().map(|t| t.name()).collect::<Vec<_>>().join(", "),
            None => "all the recipe supports".into(),
        },
        queue_position: loaded.queue_position,
        started: run.started_at.map(format::time),
        finished: run.finished_at.map(format::time),
        error: run.error.clone(),
        images: files.iter().filter(|f| f.image).cloned().collect(),
        files,
        log_href: format!("/runs/{}/artifacts/log.txt", run.id),
        log,
        live,
        result_error: loaded.result_error.clone(),
        result: loaded.result.clone(),
        row,
    })
}

/// The last ended run of one mode, as the recipes page shows it.
pub struct Last {
    pub id: i64,
    pub outcome: &'static str,
    pub level: String,
    pub when: String,
}

impl Last {
    fn of(run: &Run) -> Last {
        let row = RunRow::new(run, now_ms());
        Last {
            id: run.id.0,
            outcome: run.outcome.map(|o| o.name()).unwrap_or(run.state.as_str()),
            level: row.level,
            when: run.finished_at.map(format::time).unwrap_or_default(),
        }
    }
}

pub struct RecipeRow {
    pub recipe: String,
    pub runs: u64,
    pub runs_href: String,
    pub badge_src: String,
    pub badge_markdown: String,
    /// The last cold, then quick, run.
    pub modes: Vec<Option<Last>>,
    /// Its warm canonical copy, when it has one.
    pub canonical: Option<CanonicalCell>,
}

#[derive(Template)]
#[template(path = "recipes.html")]
struct RecipesPage {
    rows: Vec<RecipeRow>,
    /// Whether any recipe has a canonical copy.
    any_canonical: bool,
}

/// The recipes with their latest results, redacted.
pub async fn summaries(state: &WebState) -> Result<Vec<RecipeSummary>, WebError> {
    let list = db(state, |s| s.recipe_summaries()).await?;
    let r = &state.redactor;
    Ok(list
        .into_iter()
        .map(|s| RecipeSummary {
            recipe: redact::string(r, &s.recipe),
            runs: s.runs,
            cold: s.cold.map(|run| redact::run(r, run)),
            quick: s.quick.map(|run| redact::run(r, run)),
        })
        .collect())
}

/// Every recipe that has runs or a canonical copy, by name: its latest results and its copy.
pub async fn listing(state: &WebState) -> Result<Vec<(RecipeSummary, Option<Canonical>)>, WebError> {
    let mut copies = warm::load(state).await;
    let mut listed: Vec<(RecipeSummary, Option<Canonical>)> = summaries(state)
        .await?
        .into_iter()
        .map(|s| {
            let copy = copies.iter().position(|c| c.recipe == s.recipe).map(|i| copies.remove(i));
            (s, copy)
        })
        .collect();
    listed.extend(
        copies
            .into_iter()
            .map(|c| (RecipeSummary { recipe: c.recipe.clone(), runs: 0, cold: None, quick: None }, Some(c))),
    );
    listed.sort_by(|a, b| a.0.recipe.cmp(&b.0.recipe));
    Ok(listed)
}

/// `GET /recipes`.
pub async fn recipes(State(state): State<WebState>) -> Result<Response, WebError> {
    let rows: Vec<RecipeRow> = listing(&state)
        .await?
        .into_iter()
        .map(|(s, copy)| {
            let badge = format!("/badge/{}.svg", format::encode(&s.recipe));
            let runs_href = format!("/?recipe={}", format::encode(&s.recipe));
            RecipeRow {
                badge_markdown: format!("[![cc-ci]({})]({})", state.url(&badge), state.url(&runs_href)),
                badge_src: badge,
                runs_href,
                runs: s.runs,
                modes: vec![s.cold.as_ref().map(Last::of), s.quick.as_ref().map(Last::of)],
                canonical: copy.as_ref().map(CanonicalCell::of),
                recipe: s.recipe,
            }
        })
        .collect();
    let any_canonical = rows.iter().any(|r| r.canonical.is_some());
    html(&RecipesPage { rows, any_canonical })
}

/// Anything else: the 404 page (JSON under `/api/`).
pub async fn not_found(uri: Uri) -> Response {
    let e = WebError::NotFound(format!("nothing at {}", uri.path()));
    if uri.path().starts_with("/api/") {
        ApiError(e).into_response()
    } else {
        e.into_response()
    }
}
