//! Git over smart HTTP as Gitea serves it: `GET /{owner}/{repo}.git/info/refs?service=
//! git-upload-pack` and `POST /{owner}/{repo}.git/git-upload-pack` (and the dumb-protocol files),
//! answered by Debian's `git http-backend` run as a CGI over a bare mirror of a local repository
//! ([`super::FakeForge::create_repo_from_git`]). Reading needs no credentials; pushing
//! (`git-receive-pack`) needs HTTP basic authentication with the fake's token as the password, as
//! Gitea takes a token for git, and is answered 401 with a `WWW-Authenticate` challenge without
//! it. A repository without a mirror is 404.
//!
//! These routes are not Gitea API operations: they sit outside [`super::ROUTES`] and its gate (no
//! token, no injected faults), but are logged like every request (route `git_info_refs`,
//! `git_upload_pack`, `git_receive_pack` or `git`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Largest request body accepted (upload-pack requests are wants and haves: small).
const MAX_BODY: usize = 64 * 1024 * 1024;

/// A request for a repository's git data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GitPath {
    /// `owner/name`.
    pub repo: String,
    /// The path below `{repo}.git/`, e.g. `info/refs`.
    pub rest: String,
}

impl GitPath {
    /// The request log's route name for this request.
    pub fn route(&self, query: Option<&str>) -> &'static str {
        if self.is_receive_pack(query) {
            "git_receive_pack"
        } else if self.rest == "info/refs" {
            "git_info_refs"
        } else if self.rest == "git-upload-pack" {
            "git_upload_pack"
        } else {
            "git"
        }
    }

    fn is_receive_pack(&self, query: Option<&str>) -> bool {
        self.rest == "git-receive-pack"
            || query.is_some_and(|q| q.split('&').any(|pair| pair == "service=git-receive-pack"))
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// `/{owner}/{repo}.git/{rest}` with plausible names and no `..`, else `None` (not a git request).
pub(crate) fn parse_path(path: &str) -> Option<GitPath> {
    let mut parts = path.strip_prefix('/')?.splitn(3, '/');
    let (owner, repo, rest) = (parts.next()?, parts.next()?, parts.next()?);
    let name = repo.strip_suffix(".git")?;
    let rest_ok = !rest.is_empty() && rest.split('/').all(|segment| !segment.is_empty() && segment != "..");
    (valid_name(owner) && valid_name(name) && rest_ok)
        .then(|| GitPath { repo: format!("{owner}/{name}"), rest: rest.to_string() })
}

/// Where the mirror of `owner/name` lives under the fake's git root.
pub(crate) fn mirror_dir(root: &Path, full_name: &str) -> PathBuf {
    root.join(format!("{full_name}.git"))
}

fn plain(status: u16, text: &str) -> Response {
    let status = StatusCode::from_u16(status).expect("valid status");
    (status, [("content-type", "text/plain; charset=utf-8")], format!("{text}\n")).into_response()
}

/// Answers one git request for `target` from the mirrors under `root`; `may_push` says whether
/// the request carries the credentials a push needs.
pub(crate) async fn serve(root: &Path, target: &GitPath, request: Request, may_push: bool) -> Response {
    let query = request.uri().query().map(str::to_string);
    let push = target.is_receive_pack(query.as_deref());
    if push && !may_push {
        let mut response = plain(401, "Unauthorized");
        response.headers_mut().insert("www-authenticate", HeaderValue::from_static("Basic realm=\"Gitea\""));
        return response;
    }
    if !mirror_dir(root, &target.repo).join("HEAD").is_file() {
        return plain(404, "Repository not found");
    }
    let (parts, body) = request.into_parts();
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(body) => body,
        Err(e) => return plain(400, &format!("fake forge: cannot read the request body: {e}")),
    };
    let cgi = Cgi {
        root: root.to_path_buf(),
        push,
        path_info: format!("/{}.git/{}", target.repo, target.rest),
        query: query.unwrap_or_default(),
        method: parts.method.as_str().to_string(),
        content_type: header("content-type"),
        content_encoding: header("content-encoding"),
        git_protocol: header("git-protocol"),
        body: body.to_vec(),
    };
    match tokio::task::spawn_blocking(move || cgi.run()).await {
        Ok(Ok(response)) => response,
        Ok(Err(e)) => plain(500, &format!("fake forge: git http-backend: {e}")),
        Err(e) => plain(500, &format!("fake forge: git http-backend task: {e}")),
    }
}

/// One run of `git http-backend` with the CGI variables it reads.
struct Cgi {
    root: PathBuf,
    /// A push (already authorised): the backend may receive.
    push: bool,
    path_info: String,
    query: String,
    method: String,
    content_type: Option<String>,
    content_encoding: Option<String>,
    git_protocol: Option<String>,
    body: Vec<u8>,
}

impl Cgi {
    fn run(self) -> Result<Response, String> {
        let mut command = Command::new("git");
        command
            .arg("http-backend")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into()))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            // Receives only an authorised push, whatever the mirror's config says.
            .env("GIT_CONFIG_COUNT", "1")
            .env("GIT_CONFIG_KEY_0", "http.receivepack")
            .env("GIT_CONFIG_VALUE_0", if self.push { "true" } else { "false" })
            .env("GIT_PROJECT_ROOT", &self.root)
            .env("GIT_HTTP_EXPORT_ALL", "1")
            .env("GATEWAY_INTERFACE", "CGI/1.1")
            .env("SERVER_PROTOCOL", "HTTP/1.1")
            .env("REMOTE_ADDR", "127.0.0.1")
            .env("REQUEST_METHOD", &self.method)
            .env("PATH_INFO", &self.path_info)
            .env("QUERY_STRING", &self.query)
            .env("CONTENT_LENGTH", self.body.len().to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (var, value) in [
            ("CONTENT_TYPE", &self.content_type),
            ("HTTP_CONTENT_ENCODING", &self.content_encoding),
            ("HTTP_GIT_PROTOCOL", &self.git_protocol),
        ] {
            if let Some(value) = value {
                command.env(var, value);
            }
        }
        let mut child = command.spawn().map_err(|e| format!("cannot run git http-backend: {e}"))?;
        let mut stdin = child.stdin.take().expect("piped stdin");
        let body = self.body;
        // Written from another thread: the backend may answer before it has read everything.
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&body);
        });
        let output = child.wait_with_output().map_err(|e| format!("git http-backend: {e}"))?;
        let _ = writer.join();
        if output.stdout.is_empty() && !output.status.success() {
            return Err(String::from_utf8_lossy(&output.stderr).trim().to_string());
        }
        parse_cgi_response(&output.stdout)
    }
}

/// A CGI answer (headers, a blank line, the body; `Status:` sets the status) as an HTTP response.
fn parse_cgi_response(raw: &[u8]) -> Result<Response, String> {
    let (head_end, body_start) = find_blank_line(raw).ok_or("no end of headers in the CGI answer")?;
    let head = std::str::from_utf8(&raw[..head_end]).map_err(|_| "non-UTF-8 CGI headers")?;
    let mut response = Response::new(Body::from(raw[body_start..].to_vec()));
    for line in head.lines().map(str::trim_end).filter(|l| !l.is_empty()) {
        let (name, value) = line.split_once(':').ok_or_else(|| format!("bad CGI header line {line:?}"))?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("status") {
            let code = value.split_whitespace().next().and_then(|c| c.parse::<u16>().ok());
            *response.status_mut() =
                code.and_then(|c| StatusCode::from_u16(c).ok()).ok_or_else(|| format!("bad CGI status {value:?}"))?;
        } else {
            let name =
                HeaderName::from_bytes(name.trim().as_bytes()).map_err(|e| format!("CGI header {name:?}: {e}"))?;
            let value = HeaderValue::from_str(value).map_err(|e| format!("CGI header value {value:?}: {e}"))?;
            response.headers_mut().append(name, value);
        }
    }
    Ok(response)
}

/// Where the CGI headers end and the body starts (`\r\n\r\n` or `\n\n`).
fn find_blank_line(raw: &[u8]) -> Option<(usize, usize)> {
    let crlf = raw.windows(4).position(|w| w == b"\r\n\r\n").map(|i| (i, i + 4));
    let lf = raw.windows(2).position(|w| w == b"\n\n").map(|i| (i, i + 2));
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

/// Runs `git args...` in `dir` (no repository-selecting variables inherited); its trimmed output.
pub(crate) fn run(dir: &Path, args: &[&str]) -> Result<String, String> {
    let mut command = Command::new("git");
    command.arg("-C").arg(dir).args(args);
    for var in ["GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_NAMESPACE"] {
        command.env_remove(var);
    }
    let output = command.output().map_err(|e| format!("cannot run git: {e}"))?;
    if !output.status.success() {
        return Err(format!("git {}: {}", args.join(" "), String::from_utf8_lossy(&output.stderr).trim()));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// Makes `dest` a bare mirror of the local repository `source` (every ref, `HEAD` as the source's).
pub(crate) fn mirror(source: &Path, dest: &Path) -> Result<(), String> {
    let parent = dest.parent().ok_or("mirror path without parent")?;
    std::fs::create_dir_all(parent).map_err(|e| format!("creating {}: {e}", parent.display()))?;
    let (source, dest) = (source.to_string_lossy(), dest.to_string_lossy());
    run(parent, &["clone", "--quiet", "--mirror", "--no-local", "--", &source, &dest]).map(drop)
}

/// The commit `rev` names in the repository at `dir`.
pub(crate) fn commit_of(dir: &Path, rev: &str) -> Result<String, String> {
    run(dir, &["rev-parse", "--verify", "--quiet", &format!("{rev}^{{commit}}")])
        .map_err(|_| format!("no commit named {rev} in {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_paths_are_recognised_and_named() {
        let p = parse_path("/o/r.git/info/refs").unwrap();
        assert_eq!(p, GitPath { repo: "o/r".into(), rest: "info/refs".into() });
        assert_eq!(p.route(Some("service=git-upload-pack")), "git_info_refs");
        assert_eq!(p.route(Some("service=git-receive-pack")), "git_receive_pack");
        assert_eq!(parse_path("/o/r.git/git-upload-pack").unwrap().route(None), "git_upload_pack");
        assert_eq!(parse_path("/o/r.git/HEAD").unwrap().route(None), "git");
        for bad in ["/api/v1/repos", "/o/r.git", "/o/r.git/", "/o/r/info/refs", "/../r.git/HEAD", "/o/r.git/a/../b"] {
            assert_eq!(parse_path(bad), None, "{bad}");
        }
    }

    #[test]
    fn cgi_answers_become_responses() {
        let response = parse_cgi_response(b"Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\nnope").unwrap();
        assert_eq!(response.status(), 404);
        assert_eq!(response.headers()["content-type"], "text/plain");
        let response = parse_cgi_response(b"Content-Type: application/x-git\n\n\x00\x01").unwrap();
        assert_eq!(response.status(), 200);
        assert!(parse_cgi_response(b"Content-Type: x").is_err());
    }
}
