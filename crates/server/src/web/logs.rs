//! A run's `log.txt`: its tail for the run page, and `GET /runs/{id}/log/stream`, which sends the
//! log as server-sent events (one `data:` event per line, redacted) from a byte offset, follows the
//! file while the run is queued or running, and ends with an `end` event (data: the run's state)
//! once it is not. Each batch's last event carries the file offset after it as its `id`, so a
//! reconnecting browser (`Last-Event-ID`) or a page (`?from=`) resumes without repeating lines.
//! Each open stream holds a slot ([`super::streams`]); with none free the answer is 503 and the
//! page keeps the log it showed.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::io::SeekFrom;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use harness::redact::Redactor;
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::error::WebError;
use super::model::{is_live, parse_id};
use super::redact::{self, LineBuffer, Redacted};
use super::streams::{Full, Slot};
use super::{db, WebState};
use crate::paths;
use crate::store::{RunId, Store};

/// How much of the log the run page shows (its end); the whole file is an artifact.
pub const PAGE_TAIL: u64 = 1 << 20;
/// How often the followed file is read.
const POLL: Duration = Duration::from_millis(250);
/// How often the store is asked whether the run is still live.
const STATE_EVERY: Duration = Duration::from_secs(1);
/// Most bytes read from the file per step.
const CHUNK: usize = 256 << 10;

/// The log as the run page shows it.
#[derive(Debug, Clone, Default)]
pub struct PageLog {
    /// Redacted text.
    pub text: String,
    /// The file offset the text ends at (where the live stream continues).
    pub offset: u64,
    /// Earlier lines were left out (the page shows the last [`PAGE_TAIL`] bytes).
    pub truncated: bool,
    pub exists: bool,
}

/// Reads the log's tail. While the run is live only whole lines are shown (the stream sends the
/// rest); the first line shown is always whole, so no secret is cut in two and half-masked.
pub async fn page_log(path: &Path, live: bool, redactor: &Redactor) -> PageLog {
    let read = async {
        let mut file = tokio::fs::File::open(path).await?;
        let len = file.metadata().await?.len();
        let from = len.saturating_sub(PAGE_TAIL);
        file.seek(SeekFrom::Start(from)).await?;
        let mut bytes = Vec::new();
        file.take(len - from).read_to_end(&mut bytes).await?;
        std::io::Result::Ok((from, bytes))
    };
    let Ok((from, bytes)) = read.await else {
        return PageLog::default();
    };
    let truncated = from > 0;
    // Cut mid-file: start after the first newline, so the first line shown is whole.
    let start =
        if truncated { bytes.iter().position(|&b| b == b'\n').map(|i| i + 1).unwrap_or(bytes.len()) } else { 0 };
    let end =
        if live { bytes.iter().rposition(|&b| b == b'\n').map(|i| i + 1).unwrap_or(0).max(start) } else { bytes.len() };
    let text = String::from_utf8_lossy(&redact::text(redactor, &bytes[start..end], false)).into_owned();
    PageLog { text, offset: from + end as u64, truncated, exists: true }
}

#[derive(Debug, Default, Deserialize)]
pub struct StreamParams {
    from: Option<String>,
}

/// `GET /runs/{id}/log/stream[?from=OFFSET]`.
pub async fn stream(
    State(state): State<WebState>,
    UrlPath(id): UrlPath<String>,
    params: Result<Query<StreamParams>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let id = parse_id(&id)?;
    let run = db(&state, move |s| s.get_run(id)).await?.ok_or_else(|| WebError::no_such_run(&id.to_string()))?;
    let Query(params) = params.map_err(|e| WebError::BadRequest(e.body_text()))?;
    let resume = headers.get("last-event-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let from = match resume.or(params.from).filter(|s| !s.is_empty()) {
        None => 0,
        Some(s) => {
            s.parse::<u64>().map_err(|_| WebError::BadRequest(format!("from must be a byte offset, not {s:?}")))?
        }
    };
    let slot = match state.streams.take(id) {
        Ok(slot) => slot,
        Err(full) => return Ok(too_many(full)),
    };
    let path = paths::run_log(&state.data_dir, id);
    let follower = Follower {
        _slot: slot,
        store: state.store.clone(),
        redactor: state.redactor.clone(),
        id,
        skip_partial: !at_line_start(&path, from).await,
        path,
        offset: from,
        lines: LineBuffer::default(),
        queue: VecDeque::new(),
        live: is_live(run.state),
        state: run.state.as_str(),
        checked: Instant::now(),
        ended: false,
    };
    let events = futures_util::stream::unfold(follower, next_event);
    let mut res = Sse::new(events).keep_alive(KeepAlive::default()).into_response();
    res.extensions_mut().insert(Redacted);
    Ok(res)
}

/// 503 for a stream refused a slot; `Retry-After` for clients that look, and an `EventSource`
/// does not reconnect after a non-200 answer.
fn too_many(full: Full) -> Response {
    let why = match full {
        Full::Server(n) => format!("{n} live log streams are open on this server"),
        Full::Run(n) => format!("{n} live log streams are open on this run"),
    };
    let body = format!("{why}; reload the page later to follow the log\n");
    (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "30")], body).into_response()
}

async fn next_event(mut f: Follower) -> Option<(Result<Event, Infallible>, Follower)> {
    f.next().await.map(|e| (Ok(e), f))
}

/// Whether `offset` starts a line of the file (0, or just after a newline). A stream asked to
/// start anywhere else skips to the next line: a piece of a line could be the end of a secret,
/// which the redactor would not recognise.
async fn at_line_start(path: &Path, offset: u64) -> bool {
    if offset == 0 {
        return true;
    }
    let read = async {
        let mut file = tokio::fs::File::open(path).await?;
        file.seek(SeekFrom::Start(offset - 1)).await?;
        file.read_u8().await
    };
    matches!(read.await, Ok(b'\n'))
}

/// Follows one run's log.
struct Follower {
    /// Held while the stream is open.
    _slot: Slot,
    store: Arc<Store>,
    redactor: Redactor,
    id: RunId,
    path: PathBuf,
    /// Bytes of the file consumed so far.
    offset: u64,
    lines: LineBuffer,
    /// Drop what comes before the next newline (the stream started mid-line).
    skip_partial: bool,
    queue: VecDeque<Event>,
    /// Whether the run was queued or running when last asked, and its state then.
    live: bool,
    state: &'static str,
    checked: Instant,
    ended: bool,
}

impl Follower {
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(e) = self.queue.pop_front() {
                return Some(e);
            }
            if self.ended {
                return None;
            }
            // The state is read before the file: whatever the run wrote before it ended is read
            // after it is seen ended, so the last lines are never lost.
            if self.live && self.checked.elapsed() >= STATE_EVERY {
                self.refresh_state().await;
            }
            let live = self.live;
            if self.read_more().await {
                continue;
            }
            if !live {
                if let Some(rest) = self.lines.finish() {
                    self.push_lines(&rest);
                }
                self.queue.push_back(Event::default().event("end").data(self.state));
                self.ended = true;
                continue;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    async fn refresh_state(&mut self) {
        let (store, id) = (self.store.clone(), self.id);
        let run = tokio::task::spawn_blocking(move || store.get_run(id)).await;
        self.checked = Instant::now();
        match run {
            Ok(Ok(Some(run))) => {
                self.live = is_live(run.state);
                self.state = run.state.as_str();
            }
            // The run was removed: nothing more will be written.
            Ok(Ok(None)) => {
                self.live = false;
                self.state = "gone";
            }
            // The store did not answer: ask again next time.
            _ => {}
        }
    }

    /// Reads what the file gained; queues its complete lines. `false` when nothing was added.
    async fn read_more(&mut self) -> bool {
        let mut buf = Vec::new();
        let read = async {
            let mut file = tokio::fs::File::open(&self.path).await?;
            file.seek(SeekFrom::Start(self.offset)).await?;
            file.take(CHUNK as u64).read_to_end(&mut buf).await
        };
        match read.await {
            Ok(n) if n > 0 => {
                self.offset += n as u64;
                let mut buf = &buf[..];
                if self.skip_partial {
                    match buf.iter().position(|&b| b == b'\n') {
                        Some(i) => {
                            buf = &buf[i + 1..];
                            self.skip_partial = false;
                        }
                        None => return true,
                    }
                }
                if let Some(lines) = self.lines.push(buf) {
                    self.push_lines(&lines);
                }
                true
            }
            _ => false,
        }
    }

    /// Queues one event per line of `bytes` (redacted as a whole), the last one carrying the offset.
    fn push_lines(&mut self, bytes: &[u8]) {
        let text = String::from_utf8_lossy(&redact::text(&self.redactor, bytes, false)).into_owned();
        let text = text.strip_suffix('\n').unwrap_or(&text);
        let lines: Vec<&str> = text.split('\n').collect();
        let last = lines.len() - 1;
        for (i, line) in lines.into_iter().enumerate() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            // Browsers drop events with empty data: an empty line is sent as one space.
            let mut event = Event::default().data(if line.is_empty() { " " } else { line });
            if i == last {
                event = event.id((self.offset - self.lines.pending() as u64).to_string());
            }
            self.queue.push_back(event);
        }
    }
}
