//! The run's capability (SPEC V9): what pull-request code may ask of its run, over the Unix socket
//! in its sandbox (`CCCI_RUN_SOCKET`), served by the run's own ccci while a host command runs.
//! Two requests: exec a command in a running task of a service of *this run's* stacks (its app,
//! its cold dependencies), and read one of *this run's* secrets. Everything else — another stack,
//! a service the stack does not have, a secret the run does not hold, anything malformed — is
//! refused with a message saying why, and the refusal is noted in the run's log. `ccci run-exec`
//! and `ccci run-secret` are the clients ([`exec`], [`secret`]).
//!
//! The wire: one JSON request line; the answer is one JSON header line, `{"error": why}` or
//! `{"exit_code": n, "stdout": bytes, "stderr": bytes}` followed by that many bytes of each.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;

use futures_util::stream::{FuturesUnordered, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};

use crate::context::RunContext;
use crate::result::Tier;

/// Largest request read (a command line, a secret's name).
const MAX_REQUEST: u64 = 1 << 20;

/// What the run's code asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// Run `command` in a running task of `<stack>_<service>`.
    Exec { stack: String, service: String, command: Vec<String> },
    /// The value of a secret of the run, by compose key or Docker name (a dependency's as
    /// `<its stack>/<key>`).
    Secret { name: String },
}

/// The header of an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
enum Header {
    Refused { error: String },
    Done { exit_code: i64, stdout: u64, stderr: u64 },
}

/// A command's output, as the client gets it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Executed {
    pub exit_code: i64,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Serve the run's socket (forever: the caller stops it by dropping the future when the host
/// command ends). Connections are answered concurrently.
pub async fn serve(ctx: &RunContext<'_>, tier: Tier) -> std::convert::Infallible {
    let listener = ctx.sandbox.listener();
    let mut answering = FuturesUnordered::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    answering.push(answer(ctx, tier, stream));
                }
            }
            Some(()) = answering.next(), if !answering.is_empty() => {}
        }
    }
}

/// Answer one connection.
async fn answer(ctx: &RunContext<'_>, tier: Tier, stream: tokio::net::UnixStream) {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    let read = tokio::io::BufReader::new(read).take(MAX_REQUEST).read_line(&mut line).await;
    let answer = match read.map_err(|e| e.to_string()).and_then(|_| {
        serde_json::from_str::<Request>(line.trim_end()).map_err(|e| format!("not a request ccci understands: {e}"))
    }) {
        Err(why) => Err(why),
        Ok(request) => decide(ctx, tier, request).await,
    };
    let (header, body) = match answer {
        Ok(out) => (
            Header::Done { exit_code: out.exit_code, stdout: out.stdout.len() as u64, stderr: out.stderr.len() as u64 },
            [out.stdout, out.stderr].concat(),
        ),
        Err(why) => {
            ctx.events.note(Some(tier), format!("refused the run's code: {why}"));
            (Header::Refused { error: why }, Vec::new())
        }
    };
    let mut bytes = serde_json::to_vec(&header).unwrap_or_default();
    bytes.push(b'\n');
    bytes.extend(body);
    let _ = write.write_all(&bytes).await;
    let _ = write.shutdown().await;
}

/// Carry out a request the run may make; why not otherwise.
async fn decide(ctx: &RunContext<'_>, tier: Tier, request: Request) -> Result<Executed, String> {
    match request {
        Request::Secret { name } => crate::secrets_file::read_secret(&ctx.dirs.work, &name)
            .map(|value| Executed { exit_code: 0, stdout: value.into_bytes(), stderr: Vec::new() })
            .ok_or_else(|| format!("this run has no secret {name:?}")),
        Request::Exec { stack, service, command } => {
            let stacks = own_stacks(ctx);
            let Some((_, services)) = stacks.iter().find(|(s, _)| *s == stack) else {
                let own: Vec<&str> = stacks.iter().map(|(s, _)| s.as_str()).collect();
                return Err(format!("stack {stack:?} is not this run's (this run's: {})", own.join(", ")));
            };
            if !services.contains(&service) {
                return Err(format!("stack {stack} has no service {service:?} (it has: {})", services.join(", ")));
            }
            if command.is_empty() {
                return Err("no command to run".into());
            }
            let argv: Vec<&str> = command.iter().map(String::as_str).collect();
            let out = ctx.engine.exec(&stack, &service, &argv).await.map_err(|e| {
                let why = format!("exec in {service}: {e}");
                ctx.events.note(Some(tier), why.clone());
                why
            })?;
            Ok(Executed { exit_code: out.exit_code, stdout: out.stdout, stderr: out.stderr })
        }
    }
}

/// This run's stacks with their services: the app's (at the base release and the ref under
/// test) and each cold dependency's. A warm dependency is shared with other runs: not its own.
fn own_stacks(ctx: &RunContext<'_>) -> Vec<(String, Vec<String>)> {
    let mut stacks: Vec<(String, Vec<String>)> = Vec::new();
    let apps = std::iter::once(ctx.app)
        .chain(ctx.base.map(|b| &b.app))
        .chain(ctx.dependencies.iter().filter(|d| d.warm.is_none()).map(|d| &d.app));
    for app in apps {
        let services = app
            .doc
            .get("services")
            .and_then(serde_norway::Value::as_mapping)
            .into_iter()
            .flat_map(|m| m.keys().filter_map(|k| k.as_str().map(str::to_string)));
        match stacks.iter_mut().find(|(s, _)| *s == app.stack) {
            Some((_, known)) => known.extend(services.filter(|s| !known.contains(s)).collect::<Vec<_>>()),
            None => stacks.push((app.stack.clone(), services.collect())),
        }
    }
    stacks
}

/// As a client: send `request` to the socket at `socket` and read the answer; the refusal or
/// the failure to ask otherwise.
pub fn ask(socket: &Path, request: &Request) -> Result<Executed, String> {
    let mut stream = std::os::unix::net::UnixStream::connect(socket)
        .map_err(|e| format!("cannot reach the run's ccci at {}: {e}", socket.display()))?;
    let mut line = serde_json::to_vec(request).map_err(|e| e.to_string())?;
    line.push(b'\n');
    stream.write_all(&line).map_err(|e| format!("cannot ask the run's ccci: {e}"))?;
    let mut reader = BufReader::new(stream);
    let mut header = String::new();
    reader.read_line(&mut header).map_err(|e| format!("no answer from the run's ccci: {e}"))?;
    match serde_json::from_str::<Header>(header.trim_end()) {
        Ok(Header::Refused { error }) => Err(error),
        Ok(Header::Done { exit_code, stdout, stderr }) => {
            let mut take = |n: u64| {
                let mut bytes = Vec::new();
                (&mut reader).take(n).read_to_end(&mut bytes)?;
                match bytes.len() as u64 == n {
                    true => Ok(bytes),
                    false => Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "ended early")),
                }
            };
            let out = take(stdout).and_then(|o| take(stderr).map(|e| (o, e)));
            let (stdout, stderr) = out.map_err(|e| format!("the run's ccci's answer broke off: {e}"))?;
            Ok(Executed { exit_code, stdout, stderr })
        }
        Err(e) => Err(format!("the run's ccci answered something else: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::net::UnixListener;

    use super::*;

    /// A one-shot server at a fresh socket answering `answer` to the first request; the socket
    /// and what it was asked.
    fn answering(answer: Vec<u8>) -> (tempfile::TempDir, std::path::PathBuf, std::thread::JoinHandle<String>) {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("ccci.sock");
        let listener = UnixListener::bind(&socket).unwrap();
        let served = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut asked = String::new();
            BufReader::new(&stream).read_line(&mut asked).unwrap();
            (&stream).write_all(&answer).unwrap();
            asked
        });
        (dir, socket, served)
    }

    #[test]
    fn the_client_reads_output_and_refusals_and_says_when_nobody_answers() {
        let exec = Request::Exec { stack: "s".into(), service: "app".into(), command: vec!["cat".into(), "x".into()] };
        let (_dir, socket, served) = answering(b"{\"exit_code\":3,\"stdout\":2,\"stderr\":3}\nhierr".to_vec());
        let out = ask(&socket, &exec).unwrap();
        assert_eq!(out, Executed { exit_code: 3, stdout: b"hi".to_vec(), stderr: b"err".to_vec() });
        let asked: Request = serde_json::from_str(&served.join().unwrap()).unwrap();
        assert_eq!(asked, exec, "the request goes as one JSON line");

        let (_dir, socket, _) = answering(b"{\"error\":\"stack \\\"x\\\" is not this run's\"}\n".to_vec());
        assert_eq!(ask(&socket, &Request::Secret { name: "k".into() }).unwrap_err(), r#"stack "x" is not this run's"#);

        let (_dir, socket, _) = answering(b"{\"exit_code\":0,\"stdout\":10,\"stderr\":0}\nshort".to_vec());
        let err = ask(&socket, &exec).unwrap_err();
        assert!(err.contains("answer broke off"), "{err}");

        let gone = tempfile::tempdir().unwrap();
        let err = ask(&gone.path().join("ccci.sock"), &exec).unwrap_err();
        assert!(err.contains("cannot reach the run's ccci"), "{err}");
        assert!(
            serde_json::from_str::<Request>(r#"{"docker":{"path":"/containers/json"}}"#).is_err(),
            "only two requests"
        );
    }
}
