//! The env-file parser with Co-op Cloud semantics: quotes, `#` comments, trailing `# k=v`
//! modifiers kept per key, `$VAR`/`${VAR}` expansion of earlier keys, `export` tolerated.
//!
//! Semantics (chosen to match how operators read `.env.sample` files and how abra's dotenv
//! reader treats them):
//! - `KEY=value`; an optional `export ` prefix is ignored. Keys are `[A-Za-z_][A-Za-z0-9_]*`.
//! - **Unquoted** values run to the end of the line or to a `#` that follows whitespace (the
//!   start of a trailing comment); surrounding whitespace is trimmed. `$VAR` and `${VAR}` expand.
//! - **Double-quoted** values may span lines; `\"`, `\\`, `\n`, `\t`, `\r` and `\$` are escapes;
//!   `$VAR` and `${VAR}` expand.
//! - **Single-quoted** values are literal: no escapes, no expansion (as in a POSIX shell).
//! - Expansion reads only keys assigned (actively) *above* the line in the same file; an unknown
//!   key expands to the empty string; nothing is read from the process environment. A `$` not
//!   followed by a name or `{name}` stays a literal `$`.
//! - A trailing comment's `k=v` words are the line's **modifiers** (`# length=32 charset=x`);
//!   other words in the comment are prose and ignored.
//! - A comment line whose text (after one `#` and optional spaces) is itself a well-formed
//!   assignment is kept as a **commented** entry (`commented: true`), expanded against the
//!   active keys above it, so callers can enumerate optional settings such as overlay chains.
//!   Lines starting with `##` are always prose.

use std::collections::BTreeMap;
use std::path::Path;

use crate::{RecipeError, Result};

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

impl EnvEntry {
    /// The value of modifier `name` (e.g. `length`), if the line carries it.
    pub fn modifier(&self, name: &str) -> Option<&str> {
        self.modifiers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// A parsed env file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvFile {
    pub entries: Vec<EnvEntry>,
}

impl EnvFile {
    /// The active (uncommented) keys and their final values; a later assignment wins.
    pub fn active_map(&self) -> BTreeMap<String, String> {
        self.entries.iter().filter(|e| !e.commented).map(|e| (e.key.clone(), e.value.clone())).collect()
    }

    /// The last active entry for `key`.
    pub fn get(&self, key: &str) -> Option<&EnvEntry> {
        self.entries.iter().rev().find(|e| !e.commented && e.key == key)
    }
}

/// Parse env-file text. Errors read `line N: message`; [`parse_file`] names the file too.
pub fn parse(text: &str) -> Result<EnvFile> {
    parse_text(text).map_err(|(line, message)| RecipeError::new(format!("line {line}: {message}")))
}

/// Read and parse the env file at `path`; errors read `path:line: message`.
pub fn parse_file(path: &Path) -> Result<EnvFile> {
    let text =
        std::fs::read_to_string(path).map_err(|e| RecipeError::at(path, None, format!("cannot read env file: {e}")))?;
    parse_named(&text, path)
}

/// Parse env-file text read from `path`; errors read `path:line: message`.
pub fn parse_named(text: &str, path: &Path) -> Result<EnvFile> {
    parse_text(text).map_err(|(line, message)| RecipeError::at(path, Some(line), message))
}

fn parse_text(text: &str) -> std::result::Result<EnvFile, (usize, String)> {
    let mut parser = Parser { chars: text.chars().collect(), pos: 0, line: 1 };
    let mut active: BTreeMap<String, String> = BTreeMap::new();
    let mut entries = Vec::new();
    while !parser.at_end() {
        let line = parser.line;
        parser.skip_blanks();
        match parser.peek() {
            None => break,
            Some('\n') => {
                parser.bump();
            }
            Some('#') => {
                parser.bump();
                let start = (parser.pos, parser.line);
                parser.skip_blanks();
                let attempt = if parser.peek() == Some('#') { None } else { parser.assignment(&active).ok() };
                match attempt {
                    Some(a) => entries.push(a.into_entry(line, true)),
                    None => {
                        (parser.pos, parser.line) = start;
                        parser.skip_to_eol();
                    }
                }
            }
            Some(_) => {
                let a = parser.assignment(&active).map_err(|message| (line, message))?;
                active.insert(a.key.clone(), a.value.clone());
                entries.push(a.into_entry(line, false));
            }
        }
    }
    Ok(EnvFile { entries })
}

/// Render `map` as env-file text that [`parse`] reads back to the same map (values quoted).
pub fn render(map: &BTreeMap<String, String>) -> String {
    map.iter().map(|(k, v)| format!("{k}={}\n", quote(v))).collect()
}

/// Quote `value` for an env file: single quotes when possible (literal), else double quotes.
pub fn quote(value: &str) -> String {
    if !value.contains('\'') {
        return format!("'{value}'");
    }
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' | '\\' | '$' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An assignment as parsed, before it becomes an [`EnvEntry`].
struct Assignment {
    key: String,
    value: String,
    modifiers: Vec<(String, String)>,
}

impl Assignment {
    fn into_entry(self, line: usize, commented: bool) -> EnvEntry {
        EnvEntry { key: self.key, value: self.value, line, modifiers: self.modifiers, commented }
    }
}

/// A cursor over the file's characters that tracks the current line.
struct Parser {
    chars: Vec<char>,
    pos: usize,
    line: usize,
}

type Step<T> = std::result::Result<T, String>;

impl Parser {
    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn skip_blanks(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t' | '\r')) {
            self.bump();
        }
    }

    fn skip_to_eol(&mut self) {
        while let Some(c) = self.bump() {
            if c == '\n' {
                break;
            }
        }
    }

    /// `[export ]KEY=value[ # modifiers]` up to and including the end of its (last) line.
    fn assignment(&mut self, env: &BTreeMap<String, String>) -> Step<Assignment> {
        if self.starts_with("export") && matches!(self.peek_at(6), Some(' ' | '\t')) {
            self.pos += 6;
            self.skip_blanks();
        }
        let key = self.key()?;
        if self.bump() != Some('=') {
            return Err(format!("expected `=` after `{key}`"));
        }
        self.skip_blanks();
        let value = match self.peek() {
            Some('\'') => self.single_quoted()?,
            Some('"') => self.double_quoted(env)?,
            _ => self.unquoted(env),
        };
        self.skip_blanks();
        let modifiers = match self.peek() {
            None | Some('\n') => Vec::new(),
            Some('#') => self.comment(),
            Some(c) => return Err(format!("unexpected `{c}` after the value of `{key}`")),
        };
        self.bump();
        Ok(Assignment { key, value, modifiers })
    }

    fn starts_with(&self, word: &str) -> bool {
        word.chars().enumerate().all(|(i, c)| self.peek_at(i) == Some(c))
    }

    fn key(&mut self) -> Step<String> {
        let mut key = String::new();
        while let Some(c) = self.peek() {
            let ok = c == '_' || c.is_ascii_alphabetic() || (!key.is_empty() && c.is_ascii_digit());
            if !ok {
                break;
            }
            key.push(c);
            self.bump();
        }
        if key.is_empty() {
            return Err("expected `KEY=value`".into());
        }
        Ok(key)
    }

    fn single_quoted(&mut self) -> Step<String> {
        let line = self.line;
        self.bump();
        let mut value = String::new();
        loop {
            match self.bump() {
                None => return Err(format!("unterminated single quote opened on line {line}")),
                Some('\'') => return Ok(value),
                Some(c) => value.push(c),
            }
        }
    }

    fn double_quoted(&mut self, env: &BTreeMap<String, String>) -> Step<String> {
        let line = self.line;
        self.bump();
        let mut value = String::new();
        loop {
            match self.bump() {
                None => return Err(format!("unterminated double quote opened on line {line}")),
                Some('"') => return Ok(value),
                Some('\\') => match self.bump() {
                    Some('n') => value.push('\n'),
                    Some('t') => value.push('\t'),
                    Some('r') => value.push('\r'),
                    Some(c @ ('"' | '\\' | '$')) => value.push(c),
                    Some(c) => {
                        value.push('\\');
                        value.push(c);
                    }
                    None => return Err(format!("unterminated double quote opened on line {line}")),
                },
                Some('$') => self.expand(env, &mut value),
                Some(c) => value.push(c),
            }
        }
    }

    fn unquoted(&mut self, env: &BTreeMap<String, String>) -> String {
        let mut value = String::new();
        let mut after_blank = true;
        while let Some(c) = self.peek() {
            if c == '\n' || (c == '#' && after_blank) {
                break;
            }
            self.bump();
            after_blank = matches!(c, ' ' | '\t');
            match c {
                '\\' if self.peek() == Some('$') => {
                    self.bump();
                    value.push('$');
                }
                '$' => self.expand(env, &mut value),
                _ => value.push(c),
            }
        }
        value.trim_end_matches([' ', '\t', '\r']).to_string()
    }

    /// After a `$`: expand `NAME` or `{NAME}` from `env`, else keep the `$` literally.
    fn expand(&mut self, env: &BTreeMap<String, String>, out: &mut String) {
        let braced = self.peek() == Some('{');
        let start = self.pos;
        if braced {
            self.bump();
        }
        let name = self.key().ok();
        let closed = !braced || self.peek() == Some('}');
        match name {
            Some(name) if closed => {
                if braced {
                    self.bump();
                }
                out.push_str(env.get(&name).map(String::as_str).unwrap_or(""));
            }
            _ => {
                self.pos = start;
                out.push('$');
            }
        }
    }

    /// A trailing `# ...` comment: its `k=v` words, in order.
    fn comment(&mut self) -> Vec<(String, String)> {
        let mut text = String::new();
        while let Some(c) = self.peek() {
            if c == '\n' {
                break;
            }
            text.push(c);
            self.bump();
        }
        text.trim_start_matches('#')
            .split_whitespace()
            .filter_map(|word| word.split_once('='))
            .filter(|(k, _)| !k.is_empty())
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry<'a>(f: &'a EnvFile, key: &str) -> &'a EnvEntry {
        f.entries.iter().find(|e| e.key == key).unwrap()
    }

    #[test]
    fn quotes_comments_modifiers_and_expansion() {
        let text = "TYPE=x\n# prose line\nexport A=1 # length=32 charset=abc words\n\
                    B=\"$A:two\"\nC='$A'\n#COMPOSE_FILE=\"$B:three\"\n## EXTRA=no\nD=  spaced value  # c\n";
        let f = parse(text).unwrap();
        assert_eq!(entry(&f, "A").modifiers, vec![("length".into(), "32".into()), ("charset".into(), "abc".into())]);
        assert_eq!(entry(&f, "A").line, 3);
        assert_eq!(entry(&f, "B").value, "1:two");
        assert_eq!(entry(&f, "C").value, "$A");
        let cf = entry(&f, "COMPOSE_FILE");
        assert!(cf.commented);
        assert_eq!(cf.value, "1:two:three");
        assert!(f.entries.iter().all(|e| e.key != "EXTRA"));
        assert_eq!(entry(&f, "D").value, "spaced value");
    }

    #[test]
    fn accumulates_self_reference() {
        let f = parse("COMPOSE_FILE=\"compose.yml\"\nCOMPOSE_FILE=\"$COMPOSE_FILE:compose.pg.yml\"\n").unwrap();
        assert_eq!(f.active_map()["COMPOSE_FILE"], "compose.yml:compose.pg.yml");
    }

    #[test]
    fn unterminated_quote_names_line() {
        let err = parse("A=1\nB=\"open\n").unwrap_err();
        assert_eq!(err.to_string(), "line 2: unterminated double quote opened on line 2");
    }
}
