//! The README metadata block: the `key: value` list between `<!-- metadata -->` and
//! `<!-- endmetadata -->` (category, status, image, healthcheck, backups, email, tests, SSO).
//!
//! Lines look like `* **Category**: Apps` or `- **Status**: 1, alpha`; list markers and bold
//! markers are dropped, keys are kept as written and matched case-insensitively.

use serde::Serialize;

/// The keys a filled-in block has (abra's recipe template).
pub const EXPECTED_KEYS: &[&str] = &["Category", "Status", "Image", "Healthcheck", "Backups", "Email", "Tests", "SSO"];

const START: &str = "<!-- metadata -->";
const END: &str = "<!-- endmetadata -->";

/// One `key: value` line of the block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MetaEntry {
    pub key: String,
    pub value: String,
    /// 1-based line in README.md.
    pub line: usize,
}

/// The metadata block of a README.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Metadata {
    /// 1-based line of the `<!-- metadata -->` marker.
    pub start_line: usize,
    /// Whether the closing marker was found.
    pub closed: bool,
    pub entries: Vec<MetaEntry>,
}

impl Metadata {
    /// The value of `key` (case-insensitive), if present.
    pub fn get(&self, key: &str) -> Option<&MetaEntry> {
        self.entries.iter().find(|e| e.key.eq_ignore_ascii_case(key))
    }
}

/// Find and parse the block in README text; `None` when there is no start marker.
pub fn parse(readme: &str) -> Option<Metadata> {
    let mut lines = readme.lines().enumerate();
    let start_line = lines.by_ref().find(|(_, l)| l.trim() == START)?.0 + 1;
    let mut meta = Metadata { start_line, closed: false, entries: Vec::new() };
    for (idx, line) in lines {
        if line.trim() == END {
            meta.closed = true;
            break;
        }
        if let Some((key, value)) = parse_line(line) {
            meta.entries.push(MetaEntry { key, value, line: idx + 1 });
        }
    }
    Some(meta)
}

fn parse_line(line: &str) -> Option<(String, String)> {
    let body = line.trim().trim_start_matches(['*', '-', '+']).trim_start();
    let (key, value) = body.split_once(':')?;
    let key = key.trim().trim_matches('*').trim_matches('_').trim();
    if key.is_empty() || key.split_whitespace().count() > 3 {
        return None;
    }
    Some((key.to_string(), value.trim().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_entries_are_read_with_lines() {
        let text =
            "# x\n<!-- metadata -->\n* **Category**: Apps\n- **Healthcheck**:\n<!-- endmetadata -->\n* **After**: no\n";
        let meta = parse(text).unwrap();
        assert!(meta.closed);
        assert_eq!(meta.start_line, 2);
        assert_eq!(meta.get("category").unwrap().value, "Apps");
        assert_eq!(
            meta.get("Healthcheck").unwrap(),
            &MetaEntry { key: "Healthcheck".into(), value: String::new(), line: 4 }
        );
        assert!(meta.get("After").is_none());
    }

    #[test]
    fn no_marker_no_block() {
        assert!(parse("# readme\n").is_none());
    }
}
