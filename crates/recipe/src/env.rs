//! The env-file parser with Co-op Cloud semantics: quotes, `#` comments, trailing `# k=v`
//! modifiers kept per key, `$VAR`/`${VAR}` expansion of earlier keys, `export` tolerated.

use std::collections::BTreeMap;

use crate::Result;

/// One `KEY=value` assignment of an env file, active or commented out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvEntry {
    pub key: String,
    /// The value after quote removal and expansion of earlier keys.
    pub value: String,
    /// 1-based line number in the file.
    pub line: usize,
    /// Trailing-comment modifiers such as `length=32`, in the order written.
    pub modifiers: Vec<(String, String)>,
    /// True for a commented-out assignment such as `#COMPOSE_FILE="$COMPOSE_FILE:x.yml"`.
    pub commented: bool,
}

/// A parsed env file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvFile {
    pub entries: Vec<EnvEntry>,
}

impl EnvFile {
    /// The active (uncommented) keys and their final values; a later assignment wins.
    pub fn active_map(&self) -> BTreeMap<String, String> {
        self.entries
            .iter()
            .filter(|e| !e.commented)
            .map(|e| (e.key.clone(), e.value.clone()))
            .collect()
    }
}

/// Parse env-file text. Errors carry the line; the caller attaches the file.
pub fn parse(text: &str) -> Result<EnvFile> {
    let _ = text;
    todo!("env parser")
}
