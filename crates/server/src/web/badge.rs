//! `GET /badge/{recipe}.svg`: a shields-style badge of the recipe's last cold result — "level 5/5"
//! green when it passed, red when it failed, grey ("error", or "unknown" before any run) otherwise.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::error::WebError;
use super::model::tiers_asked;
use super::{db, redact, WebState};
use crate::store::{Mode, Run, RunState};
use harness::result::Outcome;

pub const GREEN: &str = "#2b8a3e";
pub const RED: &str = "#c92a2a";
pub const GREY: &str = "#868e96";

#[derive(Template)]
#[template(path = "badge.svg")]
struct Badge {
    label: &'static str,
    value: String,
    colour: &'static str,
    title: String,
    label_width: u32,
    value_width: u32,
}

impl Badge {
    fn total_width(&self) -> u32 {
        self.label_width + self.value_width
    }

    fn label_x(&self) -> u32 {
        self.label_width / 2
    }

    fn value_x(&self) -> u32 {
        self.label_width + self.value_width / 2
    }
}

/// Roughly how wide text is at 11px in a sans-serif font, with padding.
fn width(text: &str) -> u32 {
    text.chars().count() as u32 * 7 + 12
}

/// The value and colour of a badge for the recipe's last cold run that ended.
pub fn describe(last: Option<&Run>) -> (String, &'static str) {
    let Some(run) = last else {
        return ("unknown".into(), GREY);
    };
    #[derive(Deserialize)]
    struct LevelOf {
        level_of: Option<u64>,
    }
    let of = run
        .result_json
        .as_deref()
        .and_then(|j| serde_json::from_str::<LevelOf>(j).ok())
        .and_then(|l| l.level_of)
        .or_else(|| tiers_asked(run));
    let level = match (run.level, of) {
        (Some(l), Some(of)) => format!("level {l}/{of}"),
        (Some(l), None) => format!("level {l}"),
        (None, _) => String::new(),
    };
    match (run.state, run.outcome) {
        (RunState::Finished, Some(Outcome::Pass)) if !level.is_empty() => (level, GREEN),
        (RunState::Finished, Some(Outcome::Fail)) if !level.is_empty() => (level, RED),
        _ => ("error".into(), GREY),
    }
}

/// `GET /badge/{recipe}.svg`.
pub async fn badge(State(state): State<WebState>, Path(file): Path<String>) -> Result<Response, WebError> {
    let recipe = file
        .strip_suffix(".svg")
        .filter(|r| !r.is_empty())
        .ok_or_else(|| WebError::NotFound(format!("badges are /badge/<recipe>.svg, not {file:?}")))?
        .to_owned();
    let last = {
        let recipe = recipe.clone();
        db(&state, move |s| s.latest_result(&recipe, Mode::Cold)).await?
    };
    let (value, colour) = describe(last.as_ref());
    let badge = Badge {
        label: "cc-ci",
        title: redact::string(&state.redactor, &format!("cc-ci: {recipe}: {value}")),
        label_width: width("cc-ci"),
        value_width: width(&value),
        value,
        colour,
    };
    let svg = badge.render().map_err(WebError::internal)?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")], svg)
        .into_response())
}
