//! Reading JUnit XML (pytest's, or any other tool's) into test cases.

use crate::result::{Case, Outcome};

/// The test cases of a JUnit XML document (pytest's, or any other): `classname::name`, pass,
/// fail (failure or error element) or skipped, with the message and time.
pub fn parse_junit(xml: &str) -> Vec<Case> {
    use quick_xml::events::{BytesStart, Event};
    use quick_xml::Reader;

    fn attr(e: &BytesStart<'_>, key: &[u8]) -> Option<String> {
        e.attributes()
            .flatten()
            .find(|a| a.key.as_ref() == key)
            .map(|a| a.unescape_value().map(|v| v.into_owned()).unwrap_or_default())
    }
    let mut reader = Reader::from_str(xml);
    let mut cases = Vec::new();
    let mut current: Option<Case> = None;
    loop {
        let (event, empty) = match reader.read_event() {
            Ok(Event::Start(e)) => (e, false),
            Ok(Event::Empty(e)) => (e, true),
            Ok(Event::End(e)) if e.name().as_ref() == b"testcase" => {
                cases.extend(current.take());
                continue;
            }
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => continue,
        };
        match event.name().as_ref() {
            b"testcase" => {
                let name = attr(&event, b"name").unwrap_or_default();
                let name = match attr(&event, b"classname").filter(|c| !c.is_empty()) {
                    Some(class) => format!("{class}::{name}"),
                    None => name,
                };
                let secs: f64 = attr(&event, b"time").and_then(|t| t.parse().ok()).unwrap_or(0.0);
                let case = Case { name, outcome: Outcome::Pass, message: None, duration_ms: (secs * 1000.0) as u64 };
                if empty {
                    cases.push(case);
                } else {
                    current = Some(case);
                }
            }
            kind @ (b"failure" | b"error" | b"skipped") => {
                if let Some(c) = current.as_mut() {
                    c.outcome = if kind == b"skipped" { Outcome::Skipped } else { Outcome::Fail };
                    let msg = attr(&event, b"message").unwrap_or_else(|| String::from_utf8_lossy(kind).into_owned());
                    c.message = Some(msg.lines().next().unwrap_or_default().chars().take(500).collect());
                }
            }
            _ => {}
        }
    }
    cases
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pytest_junit_lists_every_case_with_its_class() {
        let xml = r#"<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="1" failures="1" skipped="1" tests="4">
<testcase classname="test_app" name="test_ok" time="0.5" />
<testcase classname="test_app" name="test_bad" time="0.1"><failure message="assert 1 == 2&#10;more">trace</failure></testcase>
<testcase classname="test_app.TestX" name="test_err" time="0"><error message="fixture broke">x</error></testcase>
<testcase classname="test_app" name="test_skip" time="0"><skipped type="pytest.skip" message="later" /></testcase>
</testsuite></testsuites>"#;
        let cases = parse_junit(xml);
        let summary: Vec<(&str, Outcome)> = cases.iter().map(|c| (c.name.as_str(), c.outcome)).collect();
        assert_eq!(
            summary,
            [
                ("test_app::test_ok", Outcome::Pass),
                ("test_app::test_bad", Outcome::Fail),
                ("test_app.TestX::test_err", Outcome::Fail),
                ("test_app::test_skip", Outcome::Skipped),
            ]
        );
        assert_eq!(cases[0].duration_ms, 500);
        assert_eq!(cases[1].message.as_deref(), Some("assert 1 == 2"));
    }

    #[test]
    fn garbage_is_no_cases() {
        assert!(parse_junit("not xml <").is_empty());
        assert!(parse_junit("").is_empty());
    }
}
