//! What a comment asks the CI to do (SPEC V2); part of the intake, not of the forge client.
//!
//! Only the first line counts (leading blank lines are skipped). A first line that is a quote
//! (`>`) never triggers, nor does a comment by the bot's own login. `!testme` must be the first
//! word; what follows it is `--quick`, `tiers=a,b` (both may be given, once each) or `help` alone.
//! Anything else after `!testme` is [`Command::Invalid`], to be answered with [`HELP_TEXT`].
//!
//! A reply never carries what the commenter wrote beyond one short word made only of letters,
//! digits and `_ = , + -` (see [`quote`]): no mention, no link, no markup can be made to appear
//! in the bot's name.

use harness::result::Tier;

/// The trigger word.
pub const TRIGGER: &str = "!testme";

/// The syntax, as posted in reply to `!testme help` and to invalid commands.
pub const HELP_TEXT: &str = "\
Usage (first line of a comment on the pull request):
- `!testme` — run every tier the recipe supports
- `!testme --quick` — quick mode, on the warm canonical copy
- `!testme tiers=install,upgrade` — only these tiers (install, upgrade, backup, restore, custom)
- `!testme help` — this text";

/// Longest word a reply quotes back.
const MAX_QUOTED: usize = 20;

/// Longest first line read as a command; a longer one is answered as invalid without being read.
const MAX_LINE: usize = 200;

/// A valid request to run tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunRequest {
    /// `--quick`: run against the warm canonical copy.
    pub quick: bool,
    /// `tiers=`: only these tiers, in the order written; `None` means all.
    pub tiers: Option<Vec<Tier>>,
}

/// What a comment asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Run tests.
    Run(RunRequest),
    /// `!testme help`: reply with [`HELP_TEXT`].
    Help,
    /// `!testme` followed by something we do not understand; `reason` says what (safe to post).
    Invalid { reason: String },
}

impl Command {
    /// The reply to post for `Help` and `Invalid`; `None` for `Run`.
    pub fn reply(&self) -> Option<String> {
        match self {
            Command::Run(_) => None,
            Command::Help => Some(HELP_TEXT.to_string()),
            Command::Invalid { reason } => Some(format!("Sorry, I did not understand that: {reason}.\n\n{HELP_TEXT}")),
        }
    }
}

/// The command in a comment by `author`, or `None` when the comment does not address the CI or is
/// the bot's own (logins compare case-insensitively, as on the forge).
pub fn parse_comment(body: &str, author: &str, bot_login: &str) -> Option<Command> {
    if is_own_comment(author, bot_login) {
        return None;
    }
    parse_command(body)
}

/// Whether `author` is the bot itself.
pub fn is_own_comment(author: &str, bot_login: &str) -> bool {
    !bot_login.is_empty() && author.eq_ignore_ascii_case(bot_login)
}

/// The command on the first line of `body`, or `None` when there is none.
pub fn parse_command(body: &str) -> Option<Command> {
    let first = body.trim_start_matches(['\n', '\r', ' ', '\t']).lines().next()?.trim();
    if first.starts_with('>') {
        return None;
    }
    let mut words = first.split_whitespace();
    let head = words.next()?;
    if head != TRIGGER {
        return head.strip_prefix(TRIGGER).map(|rest| Command::Invalid {
            reason: format!("unknown command {}", quote(&format!("{TRIGGER}{rest}"))),
        });
    }
    if first.chars().count() > MAX_LINE {
        return Some(Command::Invalid { reason: format!("the command is longer than {MAX_LINE} characters") });
    }
    Some(parse_args(words.collect()))
}

fn parse_args(args: Vec<&str>) -> Command {
    let invalid = |reason: String| Command::Invalid { reason };
    if args == ["help"] {
        return Command::Help;
    }
    let mut request = RunRequest::default();
    for arg in args {
        if arg == "--quick" {
            if request.quick {
                return invalid("`--quick` given twice".into());
            }
            request.quick = true;
        } else if let Some(list) = arg.strip_prefix("tiers=") {
            if request.tiers.is_some() {
                return invalid("`tiers=` given twice".into());
            }
            match parse_tiers(list) {
                Ok(tiers) => request.tiers = Some(tiers),
                Err(reason) => return invalid(reason),
            }
        } else if arg == "help" {
            return invalid("`help` takes no other words".into());
        } else {
            return invalid(format!("unknown word {}", quote(arg)));
        }
    }
    Command::Run(request)
}

fn parse_tiers(list: &str) -> Result<Vec<Tier>, String> {
    if list.is_empty() {
        return Err("`tiers=` needs at least one tier".into());
    }
    let mut tiers = Vec::new();
    for name in list.split(',') {
        let tier = Tier::parse(name).ok_or_else(|| {
            let known: Vec<&str> = Tier::ALL.iter().map(|t| t.name()).collect();
            format!("unknown tier {} (known: {})", quote(name), known.join(", "))
        })?;
        if tiers.contains(&tier) {
            return Err(format!("tier `{tier}` listed twice"));
        }
        tiers.push(tier);
    }
    Ok(tiers)
}

/// A word of the commenter's, as a reply may show it: in backticks when it is at most
/// [`MAX_QUOTED`] characters of `A-Za-z0-9_=,+-` and `!` (nothing a forge renders as a mention,
/// a link or markup), else a description that quotes nothing.
pub fn quote(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '=' | ',' | '+' | '-' | '!');
    if word.is_empty() {
        "``".into()
    } else if word.chars().count() <= MAX_QUOTED && word.chars().all(safe) {
        format!("`{word}`")
    } else {
        "(a word not repeated here)".into()
    }
}
