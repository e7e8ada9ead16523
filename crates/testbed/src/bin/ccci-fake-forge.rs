//! `ccci-fake-forge <fixture> <dir>`: the fake forge as a process, for scripts that drive cc-ci
//! the way an operator does (scripts/test-operators-guide). It mirrors the fixture recipe as
//! `coop-cloud/<fixture>` with pull request #1 open from `main`, makes `maintainer` a member of
//! the org, writes `<dir>/forge.env` (shell assignments: `FORGE_URL`, `FORGE_BOT`, `FORGE_ORG`,
//! `FORGE_REPO`, `FORGE_MEMBER`, `FORGE_PR_HEAD`) and the bot's token to `<dir>/token` (mode
//! 600), prints `ready`, then answers one command per line on stdin until it closes:
//!
//! - `comment <number> <user> <body…>` → `comment <id>` (a comment on the PR, now);
//! - `webhook <url> <secret file>` → `ok` (the forge delivers signed comment webhooks there);
//! - `statuses` → one `<context> <state> <description>` line per commit status of the PR's head,
//!   oldest first, then `end`;
//! - `comments <number>` → the bot's comments on the PR, each as one JSON string, then `end`.

use std::io::{BufRead, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::ExitCode;

use testbed::fake_forge::FakeForge;

const USAGE: &str = "usage: ccci-fake-forge <fixture> <dir>";
const ORG: &str = "coop-cloud";
const MEMBER: &str = "maintainer";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [fixture, dir] = args.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    match run(fixture, Path::new(dir)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ccci-fake-forge: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(fixture: &str, dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(dir)?;
    let source = testbed::fixture(fixture, &dir.join("source"))?;
    let forge = FakeForge::start();
    let repo = format!("{ORG}/{fixture}");
    forge.create_repo_from_git(&repo, &source.path);
    forge.set_org_members(ORG, &[MEMBER]);
    let head = forge.open_pr_from_branch(&repo, 1, "main");
    let token = dir.join("token");
    std::fs::write(&token, forge.token())?;
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600))?;
    std::fs::write(
        dir.join("forge.env"),
        format!(
            "FORGE_URL={}\nFORGE_BOT={}\nFORGE_ORG={ORG}\nFORGE_REPO={repo}\nFORGE_MEMBER={MEMBER}\nFORGE_PR_HEAD={head}\n",
            forge.url(),
            forge.bot_login()
        ),
    )?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready")?;
    for line in std::io::stdin().lock().lines() {
        answer(&forge, &repo, &head, line?.trim(), &mut out)?;
        out.flush()?;
    }
    Ok(())
}

/// Answers one command line.
fn answer(forge: &FakeForge, repo: &str, head: &str, line: &str, out: &mut impl Write) -> std::io::Result<()> {
    let words: Vec<&str> = line.splitn(4, ' ').collect();
    match words.as_slice() {
        ["comment", number, user, body] => match number.parse() {
            Ok(number) => writeln!(out, "comment {}", forge.add_comment(repo, number, user, body, forge.now())),
            Err(_) => writeln!(out, "error: not a pull request number: {number}"),
        },
        ["webhook", url, secret_file] => match std::fs::read_to_string(secret_file) {
            Ok(secret) => {
                forge.set_webhook(url, secret.trim());
                writeln!(out, "ok")
            }
            Err(e) => writeln!(out, "error: {secret_file}: {e}"),
        },
        ["statuses"] => {
            for s in forge.statuses().into_iter().filter(|s| s.sha == head) {
                writeln!(out, "{} {} {}", s.context, s.state, s.description)?;
            }
            writeln!(out, "end")
        }
        ["comments", number] => {
            let bot = forge.bot_login();
            for c in forge.comments(repo).into_iter().filter(|c| c.number.to_string() == *number && c.author == bot) {
                writeln!(out, "{}", serde_json::Value::String(c.body))?;
            }
            writeln!(out, "end")
        }
        _ => writeln!(out, "error: unknown command {line:?}"),
    }
}
