//! The sweeps (SPEC S2) and disk use on the dashboard: `/sweeps` lists the sweeps with the
//! latest disk figures, `/sweeps/{id}` shows one sweep's report — per recipe what was done and
//! why, with links to its runs — and `/api/sweeps`, `/api/sweeps/{id}`, `/api/disk` are the same
//! as JSON. Reports are redacted like everything else the dashboard answers.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use super::error::{ApiError, WebError};
use super::{db, format, redact, WebState};
use crate::disk::gib;
use crate::disk::usage::DiskUsage;
use crate::store::SweepRecord;
use crate::sweep::report::{Action, SweepReport};

/// How many sweeps the list shows.
const LISTED: u32 = 50;

/// A sweep as the API answers it.
#[derive(Debug, Serialize)]
pub struct ApiSweep {
    pub id: i64,
    pub url: String,
    pub trigger: String,
    pub state: &'static str,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    /// The report so far (`null` before the sweep wrote one).
    pub report: Option<SweepReport>,
}

fn api_sweep(state: &WebState, record: SweepRecord) -> ApiSweep {
    let report = record.report.as_deref().map(|r| redact::json_text(&state.redactor, r));
    ApiSweep {
        url: state.url(&format!("/sweeps/{}", record.id)),
        id: record.id,
        trigger: record.trigger,
        state: record.state.as_str(),
        started_at: record.started_at,
        finished_at: record.finished_at,
        report: report.and_then(|r| serde_json::from_str(&r).ok()),
    }
}

async fn load_list(state: &WebState) -> Result<Vec<ApiSweep>, WebError> {
    let records = db(state, |s| s.list_sweeps(LISTED)).await?;
    Ok(records.into_iter().map(|r| api_sweep(state, r)).collect())
}

async fn load_one(state: &WebState, id: &str) -> Result<ApiSweep, WebError> {
    let missing = || WebError::NotFound(format!("there is no sweep {id}"));
    let number: i64 = id.parse().map_err(|_| missing())?;
    let record = db(state, move |s| s.get_sweep(number)).await?.ok_or_else(missing)?;
    Ok(api_sweep(state, record))
}

/// `GET /api/sweeps`.
pub async fn api_list(State(state): State<WebState>) -> Result<Json<Vec<ApiSweep>>, ApiError> {
    Ok(Json(load_list(&state).await?))
}

/// `GET /api/sweeps/{id}`.
pub async fn api_one(State(state): State<WebState>, Path(id): Path<String>) -> Result<Json<ApiSweep>, ApiError> {
    Ok(Json(load_one(&state, &id).await?))
}

/// `GET /api/disk`: the latest figures (`null` before the first measurement).
pub async fn api_disk(State(state): State<WebState>) -> Json<Option<DiskUsage>> {
    Json(state.disk.latest())
}

/// One row of the sweeps list.
pub struct SweepRow {
    pub id: i64,
    pub trigger: String,
    pub state: &'static str,
    pub started: String,
    pub duration: String,
    pub summary: String,
}

/// One row of the disk table.
pub struct DiskRow {
    pub what: String,
    pub size: String,
}

#[derive(Template)]
#[template(path = "sweeps.html")]
struct SweepsPage {
    rows: Vec<SweepRow>,
    disk: Vec<DiskRow>,
    disk_measured: Option<String>,
    disk_note: Option<String>,
}

fn counts(report: &SweepReport) -> String {
    let (mut promoted, mut red, mut skipped, mut failed) = (0, 0, 0, 0);
    for r in &report.recipes {
        match &r.action {
            Action::Tested { promoted: true, .. } => promoted += 1,
            Action::Tested { .. } => red += 1,
            Action::Skipped { .. } => skipped += 1,
            Action::Failed { .. } => failed += 1,
            Action::Pending => {}
        }
    }
    format!("{promoted} promoted, {red} not promoted, {skipped} skipped, {failed} failed")
}

fn disk_rows(usage: &DiskUsage) -> Vec<DiskRow> {
    let mut rows: Vec<DiskRow> =
        usage.kinds.iter().map(|k| DiskRow { what: k.kind.to_string(), size: gib(k.bytes) }).collect();
    for f in &usage.free {
        let size = f.free_bytes.map_or("unknown".to_string(), gib);
        rows.push(DiskRow { what: format!("free under {} ({})", f.path, f.place), size });
    }
    rows.push(DiskRow { what: "floor (runs wait below it)".into(), size: gib(usage.floor_bytes) });
    rows
}

/// `GET /sweeps`.
pub async fn list(State(state): State<WebState>) -> Result<Response, WebError> {
    let rows = load_list(&state)
        .await?
        .into_iter()
        .map(|s| SweepRow {
            id: s.id,
            trigger: s.trigger,
            state: s.state,
            started: format::time(s.started_at),
            duration: s.finished_at.map(|f| format::duration(f - s.started_at)).unwrap_or_default(),
            summary: s.report.as_ref().map(counts).unwrap_or_default(),
        })
        .collect();
    let usage = state.disk.latest();
    let page = SweepsPage {
        rows,
        disk: usage.as_ref().map(disk_rows).unwrap_or_default(),
        disk_measured: usage.as_ref().map(|u| format::time(u.measured_at)),
        disk_note: usage.and_then(|u| u.engine_error),
    };
    Ok(Html(page.render().map_err(WebError::internal)?).into_response())
}

/// One recipe's row of a sweep's page.
pub struct RecipeRow {
    pub recipe: String,
    pub repo: String,
    pub mirror: String,
    pub newest: String,
    pub canonical: String,
    pub what: String,
    pub chip: &'static str,
    pub why: String,
    pub run: Option<i64>,
}

#[derive(Template)]
#[template(path = "sweep.html")]
struct SweepPage {
    id: i64,
    trigger: String,
    state: &'static str,
    started: String,
    finished: Option<String>,
    waited: Option<String>,
    infra: String,
    recipes: Vec<RecipeRow>,
    cleanup: Option<String>,
    error: Option<String>,
}

fn recipe_row(r: &crate::sweep::report::RecipeReport) -> RecipeRow {
    let (what, chip, why, run) = match &r.action {
        Action::Pending => ("pending".to_string(), "queued", String::new(), None),
        Action::Skipped { why } => ("skipped".to_string(), "skipped", why.clone(), None),
        Action::Tested { tag, run, outcome, promoted, why, notice } => {
            let what =
                if *promoted { format!("{tag} tested, promoted") } else { format!("{tag} tested, not promoted") };
            let chip = if *promoted { "pass" } else { "fail" };
            let why = if *promoted { format!("{why} ({outcome})") } else { format!("{why} ({outcome}: {notice})") };
            (what, chip, why, Some(*run))
        }
        Action::Failed { error } => ("failed".to_string(), "error", error.clone(), None),
    };
    RecipeRow {
        recipe: r.recipe.clone(),
        repo: r.repo.clone(),
        mirror: r.mirror.as_ref().map(|m| m.summary()).unwrap_or_else(|| "—".into()),
        newest: r.newest_release.clone().unwrap_or_else(|| "none".into()),
        canonical: r.canonical.clone().unwrap_or_else(|| "none".into()),
        what,
        chip,
        why,
        run,
    }
}

/// `GET /sweeps/{id}`.
pub async fn one(State(state): State<WebState>, Path(id): Path<String>) -> Result<Response, WebError> {
    let sweep = load_one(&state, &id).await?;
    let report = sweep.report.as_ref();
    let page = SweepPage {
        id: sweep.id,
        trigger: sweep.trigger.clone(),
        state: sweep.state,
        started: format::time(sweep.started_at),
        finished: sweep.finished_at.map(format::time),
        waited: report
            .filter(|r| r.waited_for_runs > 0)
            .map(|r| format!("{} for {} run(s) in flight", format::duration(r.waited_ms as i64), r.waited_for_runs)),
        infra: report.and_then(|r| r.infra.as_ref()).map_or("not reached yet".into(), |i| i.summary()),
        recipes: report.map(|r| r.recipes.iter().map(recipe_row).collect()).unwrap_or_default(),
        cleanup: report.and_then(|r| r.cleanup.as_ref()).map(|c| c.summary()),
        error: report.and_then(|r| r.error.clone()),
    };
    Ok(Html(page.render().map_err(WebError::internal)?).into_response())
}
