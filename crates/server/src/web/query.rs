//! The runs list's query string (`?recipe=&repo=&state=&pr=&page=`), shared by the page and the
//! API. Empty values mean "no filter" (what an HTML form sends); anything unreadable is a 400.

use axum::extract::rejection::QueryRejection;
use axum::extract::Query;
use serde::Deserialize;

use super::error::WebError;
use super::format;
use crate::store::{RunFilter, RunState};

/// Runs per page.
pub const PER_PAGE: u32 = 50;

/// The raw query string values.
#[derive(Debug, Default, Deserialize)]
pub struct ListParams {
    pub recipe: Option<String>,
    pub repo: Option<String>,
    pub state: Option<String>,
    pub pr: Option<String>,
    pub page: Option<String>,
}

/// A checked runs query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub filter: RunFilter,
    /// 1-based.
    pub page: u32,
}

impl ListQuery {
    /// Checks the query extractor's result.
    pub fn from_request(q: Result<Query<ListParams>, QueryRejection>) -> Result<ListQuery, WebError> {
        let Query(p) = q.map_err(|e| WebError::BadRequest(e.body_text()))?;
        ListQuery::parse(p)
    }

    pub fn parse(p: ListParams) -> Result<ListQuery, WebError> {
        let given = |v: Option<String>| v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let state = match given(p.state) {
            None => None,
            Some(s) => Some(RunState::parse(&s).ok_or_else(|| {
                let known = RunState::ALL.map(|s| s.as_str()).join(", ");
                WebError::BadRequest(format!("unknown state {s:?}: use one of {known}"))
            })?),
        };
        let pr = match given(p.pr) {
            None => None,
            Some(s) => Some(
                s.trim_start_matches('#')
                    .parse::<u64>()
                    .map_err(|_| WebError::BadRequest(format!("pr must be a pull request number, not {s:?}")))?,
            ),
        };
        let page = match given(p.page) {
            None => 1,
            Some(s) => s
                .parse::<u32>()
                .ok()
                .filter(|&n| n >= 1 && n.checked_mul(PER_PAGE).is_some())
                .ok_or_else(|| WebError::BadRequest(format!("page must be a number from 1, not {s:?}")))?,
        };
        Ok(ListQuery { filter: RunFilter { recipe: given(p.recipe), repo: given(p.repo), state, pr }, page })
    }

    pub fn offset(&self) -> u32 {
        (self.page - 1) * PER_PAGE
    }

    /// The query string of these filters on page `page` (no leading `?`).
    pub fn with_page(&self, page: u32) -> String {
        let f = &self.filter;
        format::query(&[
            ("recipe", f.recipe.clone()),
            ("repo", f.repo.clone()),
            ("state", f.state.map(|s| s.as_str().to_owned())),
            ("pr", f.pr.map(|p| p.to_string())),
            ("page", (page > 1).then(|| page.to_string())),
        ])
    }
}

/// Number of pages for `total` runs (at least 1).
pub fn pages(total: u64) -> u32 {
    (total.div_ceil(u64::from(PER_PAGE)).max(1)).min(u64::from(u32::MAX)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(state: &str, pr: &str, page: &str) -> ListParams {
        ListParams {
            recipe: Some(String::new()),
            repo: None,
            state: Some(state.into()),
            pr: Some(pr.into()),
            page: Some(page.into()),
        }
    }

    #[test]
    fn empty_values_do_not_filter_and_bad_ones_are_refused() {
        let q = ListQuery::parse(params("", "", "")).unwrap();
        assert_eq!(q, ListQuery { filter: RunFilter::default(), page: 1 });
        let q = ListQuery::parse(params("running", "#7", "3")).unwrap();
        assert_eq!(q.filter.state, Some(RunState::Running));
        assert_eq!(q.filter.pr, Some(7));
        assert_eq!(q.offset(), 100);
        assert_eq!(q.with_page(4), "state=running&pr=7&page=4");
        for (s, pr, page) in [("nope", "", ""), ("", "x", ""), ("", "", "0"), ("", "", "-1"), ("", "", "99999999999")] {
            assert!(matches!(ListQuery::parse(params(s, pr, page)), Err(WebError::BadRequest(_))), "{s} {pr} {page}");
        }
        assert_eq!(pages(0), 1);
        assert_eq!(pages(101), 3);
    }
}
