//! The files of a run directory (`log.txt`, `result.json`, `junit.xml`, `artifacts/…`): listed for
//! the run page, and served by `GET /runs/{id}/artifacts/{*path}` with `path` relative to the run
//! directory, as `result.json` names artifacts. Nothing outside the run directory is ever served:
//! `..`, absolute paths and symlinks that lead out are all 404. Text is redacted as it streams;
//! images and archives are served as they are (they were written by the engine, which already
//! redacts text artifacts, and masking bytes inside a compressed stream would only corrupt it).
//! A JSON file is parsed (to redact it value by value) only up to [`MAX_JSON`]; a larger one is
//! offered as a download, streamed and redacted line by line like text, never held in memory.

use std::path::{Component, Path, PathBuf};

use axum::body::{Body, Bytes};
use axum::extract::{Path as UrlPath, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use harness::redact::Redactor;
use serde_json::Value;
use tokio::io::AsyncReadExt;

use super::error::WebError;
use super::model::{parse_id, ResultView};
use super::redact::{self, LineBuffer, Redacted};
use super::{db, format, WebState};
use crate::paths;
use crate::store::RunId;

/// How deep the listing looks into the run directory, and how many files it lists at most.
const MAX_DEPTH: usize = 4;
const MAX_FILES: usize = 500;
/// Bytes read per step when serving.
const CHUNK: usize = 64 << 10;
/// Largest JSON file parsed to be redacted value by value; a larger one is streamed as a download.
pub const MAX_JSON: u64 = 1 << 20;

/// One file of a run, for the run page and the API.
#[derive(Debug, Clone)]
pub struct FileEntry {
    /// Relative to the run directory, redacted.
    pub path: String,
    /// Where it is served; empty when its name holds a secret.
    pub href: String,
    pub bytes: u64,
    pub size: String,
    /// `result.json`'s kind for it, else one guessed from the name.
    pub kind: String,
    /// Shown inline on the run page.
    pub image: bool,
}

/// The regular files under the run directory (symlinks are not listed), sorted by path.
pub async fn list(state: &WebState, id: RunId, result: Option<&ResultView>) -> Vec<FileEntry> {
    let root = paths::run_dir(&state.data_dir, id);
    let found = tokio::task::spawn_blocking(move || walk(&root)).await.unwrap_or_default();
    let kinds: Vec<(String, String)> = result
        .and_then(|r| r.json.get("artifacts"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|a| Some((a.get("path")?.as_str()?.to_owned(), a.get("kind")?.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default();
    found
        .into_iter()
        .map(|(path, bytes)| {
            let shown = redact::string(&state.redactor, &path);
            let kind =
                kinds.iter().find(|(p, _)| *p == shown).map(|(_, k)| k.clone()).unwrap_or_else(|| guess_kind(&path));
            // A name holding a secret gets no link: its URL would carry the secret percent-encoded.
            let href = if shown == path {
                format!("/runs/{id}/artifacts/{}", format::encode_path(&path))
            } else {
                String::new()
            };
            FileEntry {
                image: is_image(&path) && !href.is_empty(),
                href,
                size: format::bytes(bytes),
                path: shown,
                bytes,
                kind,
            }
        })
        .collect()
}

fn walk(root: &Path) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![(root.to_path_buf(), 0usize)];
    while let Some((dir, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let Ok(meta) = std::fs::symlink_metadata(entry.path()) else { continue };
            if meta.is_dir() && depth + 1 < MAX_DEPTH {
                stack.push((entry.path(), depth + 1));
            } else if meta.is_file() {
                let Ok(rel) = entry.path().strip_prefix(root).map(Path::to_path_buf) else { continue };
                let Some(rel) = rel.to_str().map(str::to_owned) else { continue };
                out.push((rel, meta.len()));
                if out.len() >= MAX_FILES {
                    out.sort();
                    return out;
                }
            }
        }
    }
    out.sort();
    out
}

fn extension(path: &str) -> String {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    if name.ends_with(".tar.gz") {
        return "gz".into();
    }
    name.rsplit_once('.').map(|(_, ext)| ext.to_owned()).unwrap_or_default()
}

fn is_image(path: &str) -> bool {
    matches!(extension(path).as_str(), "png" | "jpg" | "jpeg" | "gif" | "webp")
}

fn guess_kind(path: &str) -> String {
    match path {
        "log.txt" => "log",
        "result.json" => "result",
        "junit.xml" => "junit",
        p if p.ends_with("diagnostics.txt") => "diagnostics",
        p if p.ends_with(".tar.gz") => "backup",
        p if is_image(p) => "screenshot",
        _ => "file",
    }
    .into()
}

/// The content type of a served file, and whether it is served raw (not text to redact).
/// Anything that could run script in the browser (HTML, SVG) is served as plain text.
fn content_type(path: &str) -> (&'static str, bool) {
    match extension(path).as_str() {
        "png" => ("image/png", true),
        "jpg" | "jpeg" => ("image/jpeg", true),
        "gif" => ("image/gif", true),
        "webp" => ("image/webp", true),
        "gz" | "tgz" => ("application/gzip", true),
        "zip" => ("application/zip", true),
        "json" => ("application/json", false),
        "xml" => ("application/xml", false),
        _ => ("text/plain; charset=utf-8", false),
    }
}

/// A relative path made only of normal components; `None` for `..`, `.`, absolute or empty ones.
fn relative(path: &str) -> Option<PathBuf> {
    if path.is_empty() || path.contains('\\') || path.contains('\0') {
        return None;
    }
    let mut out = PathBuf::new();
    for part in path.split('/') {
        if part.is_empty() {
            return None;
        }
        match Path::new(part).components().next() {
            Some(Component::Normal(c)) if Path::new(part).components().count() == 1 => out.push(c),
            _ => return None,
        }
    }
    Some(out)
}

/// `GET /runs/{id}/artifacts/{*path}`.
pub async fn serve(
    State(state): State<WebState>,
    UrlPath((id, path)): UrlPath<(String, String)>,
) -> Result<Response, WebError> {
    let not_found = || WebError::NotFound(format!("run {id} has no file {path:?}"));
    let run_id = parse_id(&id)?;
    if db(&state, move |s| s.get_run(run_id)).await?.is_none() {
        return Err(WebError::no_such_run(&id));
    }
    let rel = relative(&path).ok_or_else(not_found)?;
    let root = tokio::fs::canonicalize(paths::run_dir(&state.data_dir, run_id)).await.map_err(|_| not_found())?;
    let target = tokio::fs::canonicalize(root.join(&rel)).await.map_err(|_| not_found())?;
    if !target.starts_with(&root) {
        return Err(not_found());
    }
    let meta = tokio::fs::metadata(&target).await.map_err(|_| not_found())?;
    if !meta.is_file() {
        return Err(not_found());
    }
    // The type (and so whether it is redacted) follows the file actually read, not the link's name.
    let real = target.to_string_lossy().into_owned();
    let (ctype, raw) = content_type(&real);
    let is_json = ctype == "application/json";
    let shown = is_json && meta.len() <= MAX_JSON;
    // Only a small JSON file is read whole; everything else streams.
    let read = if shown { tokio::fs::read(&target).await.ok() } else { None };
    let body = match read {
        Some(bytes) => json_body(&state.redactor, &bytes),
        None => {
            let file = tokio::fs::File::open(&target).await.map_err(|_| not_found())?;
            Body::from_stream(file_stream(file, (!raw).then(|| state.redactor.clone())))
        }
    };
    let mut res = body.into_response();
    let headers = res.headers_mut();
    headers.insert(header::CONTENT_TYPE, header::HeaderValue::from_static(ctype));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, header::HeaderValue::from_static("nosniff"));
    headers.insert(header::CONTENT_SECURITY_POLICY, header::HeaderValue::from_static("sandbox; default-src 'none'"));
    headers.insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-cache"));
    if is_json && !shown {
        headers.insert(header::CONTENT_DISPOSITION, header::HeaderValue::from_static("attachment"));
    }
    res.extensions_mut().insert(Redacted);
    Ok(res)
}

/// A JSON file redacted value by value, rewritten only when a value held a secret (otherwise kept
/// byte for byte); one that does not parse is redacted as text.
fn json_body(redactor: &Redactor, bytes: &[u8]) -> Body {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(v) => {
            let mut redacted = v.clone();
            redact::value(redactor, &mut redacted);
            if redacted != v {
                Body::from(serde_json::to_string_pretty(&redacted).unwrap_or_default())
            } else {
                Body::from(redact::text(redactor, bytes, false))
            }
        }
        Err(_) => Body::from(redact::text(redactor, bytes, false)),
    }
}

/// The file's bytes in chunks; redacted line by line when a redactor is given.
fn file_stream(
    file: tokio::fs::File,
    redactor: Option<Redactor>,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send {
    struct Reader {
        file: tokio::fs::File,
        redactor: Option<Redactor>,
        lines: LineBuffer,
        done: bool,
    }
    let reader = Reader { file, redactor, lines: LineBuffer::default(), done: false };
    futures_util::stream::unfold(reader, |mut r| async move {
        loop {
            if r.done {
                return None;
            }
            let mut buf = vec![0; CHUNK];
            let n = match r.file.read(&mut buf).await {
                Ok(n) => n,
                Err(e) => {
                    r.done = true;
                    return Some((Err(e), r));
                }
            };
            buf.truncate(n);
            let Some(redactor) = r.redactor.clone() else {
                if n == 0 {
                    return None;
                }
                return Some((Ok(Bytes::from(buf)), r));
            };
            let piece = if n == 0 {
                r.done = true;
                r.lines.finish()
            } else {
                r.lines.push(&buf)
            };
            if let Some(piece) = piece {
                return Some((Ok(Bytes::from(redact::text(&redactor, &piece, false))), r));
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_paths() {
        assert_eq!(relative("artifacts/shot.png"), Some(PathBuf::from("artifacts/shot.png")));
        for bad in ["", "../x", "a/../../x", "/etc/passwd", "a//b", "./a", "a/.", "a\\..\\b", "a/"] {
            assert_eq!(relative(bad), None, "{bad}");
        }
    }

    #[test]
    fn types_and_kinds() {
        assert_eq!(content_type("artifacts/backup-x.tar.gz"), ("application/gzip", true));
        assert_eq!(content_type("page.html"), ("text/plain; charset=utf-8", false));
        assert_eq!(guess_kind("artifacts/diagnostics.txt"), "diagnostics");
        assert_eq!(guess_kind("artifacts/screenshots/home.png"), "screenshot");
    }
}
