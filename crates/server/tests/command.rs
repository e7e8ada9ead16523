//! The `!testme` command table (SPEC V2): forms, first line only, quotes, the bot's own comments,
//! unknown words answered with the syntax help, and replies that never echo a mention, a link or
//! more than one short word.

use harness::result::Tier;
use server::command::{parse_command, parse_comment, quote, Command, RunRequest, HELP_TEXT};

fn run(quick: bool, tiers: Option<Vec<Tier>>) -> Option<Command> {
    Some(Command::Run(RunRequest { quick, tiers }))
}

fn invalid(body: &str) -> String {
    match parse_command(body) {
        Some(Command::Invalid { reason }) => reason,
        other => panic!("{body:?} parsed as {other:?}"),
    }
}

#[test]
fn the_documented_forms() {
    assert_eq!(parse_command("!testme"), run(false, None));
    assert_eq!(parse_command("!testme --quick"), run(true, None));
    assert_eq!(parse_command("!testme tiers=install,upgrade"), run(false, Some(vec![Tier::Install, Tier::Upgrade])));
    assert_eq!(
        parse_command("!testme tiers=custom,backup,restore"),
        run(false, Some(vec![Tier::Custom, Tier::Backup, Tier::Restore]))
    );
    assert_eq!(parse_command("!testme help"), Some(Command::Help));
    assert_eq!(parse_command("  !testme   --quick  \r\n"), run(true, None));
    assert_eq!(parse_command("!testme --quick tiers=install"), run(true, Some(vec![Tier::Install])));
}

#[test]
fn only_the_first_line_counts() {
    assert_eq!(parse_command("!testme\nplease, and also !testme help"), run(false, None));
    assert_eq!(parse_command("!testme --quick\r\n!testme tiers=bogus"), run(true, None));
    assert_eq!(parse_command("Looks good.\n!testme"), None);
    assert_eq!(parse_command("\n\n!testme"), run(false, None), "leading blank lines are skipped");
    assert_eq!(parse_command(""), None);
    assert_eq!(parse_command("   \n  "), None);
}

#[test]
fn quotes_never_trigger() {
    assert_eq!(parse_command("> !testme"), None);
    assert_eq!(parse_command(">!testme"), None);
    assert_eq!(parse_command("> !testme\n\nwhy did this fail?"), None);
    assert_eq!(parse_command("  > !testme --quick"), None);
}

#[test]
fn not_addressed_to_the_ci() {
    for body in ["testme", "please !testme", "!test", "`!testme`", "!TESTME", "LGTM"] {
        assert_eq!(parse_command(body), None, "{body:?}");
    }
}

#[test]
fn the_bots_own_comments_never_trigger() {
    assert_eq!(parse_comment("!testme", "ccci-bot", "ccci-bot"), None);
    assert_eq!(parse_comment("!testme", "CCCI-Bot", "ccci-bot"), None, "logins are case-insensitive");
    assert_eq!(parse_comment("!testme help", "ccci-bot", "ccci-bot"), None);
    assert_eq!(parse_comment("!testme", "alice", "ccci-bot"), run(false, None));
    assert_eq!(parse_comment("!testme", "alice", ""), run(false, None));
}

#[test]
fn anything_else_is_invalid_with_a_reason() {
    assert!(invalid("!testme please").contains("unknown word `please`"));
    assert!(invalid("!testme --fast").contains("`--fast`"));
    assert!(invalid("!testme tiers=install,deploy").contains("unknown tier `deploy`"));
    assert!(invalid("!testme tiers=install,deploy").contains("install, upgrade, backup, restore, custom"));
    assert!(invalid("!testme tiers=").contains("at least one tier"));
    assert!(invalid("!testme tiers=install,,upgrade").contains("unknown tier ``"));
    assert!(invalid("!testme tiers=Install").contains("unknown tier `Install`"));
    assert!(invalid("!testme tiers=install,install").contains("listed twice"));
    assert!(invalid("!testme tiers=install tiers=upgrade").contains("given twice"));
    assert!(invalid("!testme --quick --quick").contains("given twice"));
    assert!(invalid("!testme help me").contains("`help` takes no other words"));
    assert!(invalid("!testme --quick help").contains("`help` takes no other words"));
    assert!(invalid("!testmeplease").contains("unknown command"));
    assert!(invalid("!testme tiers = install").contains("unknown word `tiers`"));
    let long = format!("!testme {}", "x".repeat(500));
    assert!(invalid(&long).len() < 100, "echoed input is shortened");
}

#[test]
fn replies_quote_only_one_short_plain_word() {
    assert_eq!(quote("please"), "`please`");
    assert_eq!(quote("tiers=a,b"), "`tiers=a,b`");
    for hostile in [
        "@everyone",
        "https://evil.example/x",
        "evil.example",
        "[click](x)",
        "`code`",
        "<img>",
        "a\u{202e}b",
        "twentyonecharacters__",
    ] {
        assert_eq!(quote(hostile), "(a word not repeated here)", "{hostile}");
    }
    for body in [
        "!testme @everyone",
        "!testme https://evil.example/phish",
        "!testme tiers=install,https://evil.example",
        "!testme@admin",
        "!testme [x](https://evil.example)",
    ] {
        let reply = parse_command(body).and_then(|c| c.reply()).expect("a reply");
        assert!(!reply.contains('@') && !reply.contains("evil") && !reply.contains("://"), "{body}: {reply}");
    }
}

#[test]
fn a_ten_thousand_character_command_with_a_link_gets_a_short_reply_without_it() {
    let link = "https://phish.example/login";
    let body = format!("!testme {} {link} {}", "a".repeat(5000), "b ".repeat(2500));
    let reply = parse_command(&body).and_then(|c| c.reply()).expect("a reply");
    assert!(!reply.contains("phish") && !reply.contains("://") && !reply.contains("aaaa"), "{reply}");
    assert!(reply.len() < HELP_TEXT.len() + 120, "{} characters: {reply}", reply.len());
    let one_long_word = format!("!testme {link}{}", "x".repeat(10_000));
    let reply = parse_command(&one_long_word).and_then(|c| c.reply()).expect("a reply");
    assert!(!reply.contains("phish") && reply.len() < HELP_TEXT.len() + 120, "{reply}");
}

#[test]
fn replies_carry_the_syntax_help() {
    let Some(reply) = parse_command("!testme now").and_then(|c| c.reply()) else { panic!("no reply") };
    assert!(reply.contains("unknown word `now`"));
    assert!(reply.contains(HELP_TEXT));
    assert_eq!(Command::Help.reply().as_deref(), Some(HELP_TEXT));
    assert_eq!(parse_command("!testme").unwrap().reply(), None);
    for form in ["`!testme`", "`!testme --quick`", "`!testme tiers=install,upgrade`", "`!testme help`"] {
        assert!(HELP_TEXT.contains(form), "{form}");
    }
}
