//! What a request that cannot be answered gets: an HTML error page for the dashboard, a JSON
//! `{"error": …}` for the API, with 400 (bad query), 404 (no such run or file) or 500.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;

/// A failed dashboard request; renders as an HTML page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebError {
    BadRequest(String),
    NotFound(String),
    Internal(String),
}

impl WebError {
    pub fn status(&self) -> StatusCode {
        match self {
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::NotFound(_) => StatusCode::NOT_FOUND,
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            WebError::BadRequest(m) | WebError::NotFound(m) | WebError::Internal(m) => m,
        }
    }

    pub fn internal(e: impl std::fmt::Display) -> WebError {
        WebError::Internal(e.to_string())
    }

    pub fn no_such_run(id: &str) -> WebError {
        WebError::NotFound(format!("there is no run {id}"))
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    code: u16,
    reason: &'a str,
    message: &'a str,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let status = self.status();
        let page = ErrorPage {
            code: status.as_u16(),
            reason: status.canonical_reason().unwrap_or("error"),
            message: self.message(),
        };
        match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, self.message().to_owned()).into_response(),
        }
    }
}

/// A failed API request; renders as `{"error": "…"}`.
#[derive(Debug)]
pub struct ApiError(pub WebError);

impl From<WebError> for ApiError {
    fn from(e: WebError) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0.status(), Json(serde_json::json!({ "error": self.0.message() }))).into_response()
    }
}
