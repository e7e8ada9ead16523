//! Compose-grammar interpolation: `$V ${V} ${V:-d} ${V-d} ${V:?e} ${V?e} ${V:+r} ${V+r} $$`.
//!
//! Two dialects share one entry point, [`substitute`]:
//! - [`Dialect::Full`]: the compose-spec grammar, including `${V:+r}`/`${V+r}` and nested
//!   templates inside defaults, replacements and messages (`${A:-${B:-x}}`).
//! - [`Dialect::DockerStack`]: exactly what `docker stack deploy`/`docker stack config` (and so
//!   abra, which vendors the same loader) accept. Its quirks are reproduced on purpose: `:+`/`+`
//!   are invalid templates, a braced expression ends at the first `}` (no nesting; the rest is
//!   literal text), an unbraced `$NAME` also takes a `-default`/`?msg` tail running to the next
//!   `}` or the end of the string, and the operator is chosen by the *first matching rule* in the
//!   order `:-`, `-`, `:?`, `?` anywhere in the expression.
//!
//! The only variables are the given map: nothing is read from the process environment.

use std::collections::BTreeMap;
use std::fmt;

/// Which grammar to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// The full compose-spec grammar with nesting and `:+`/`+`.
    Full,
    /// Docker's stack loader (`docker/cli` compose template), quirks included.
    DockerStack,
}

/// Why a template could not be interpolated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterpolateError {
    /// `${V:?msg}` / `${V?msg}` with `V` unset (or empty, for `:?`).
    Required { var: String, message: String },
    /// A `$` that starts no valid expression (`$1`, `${}`, `${V`, `${V:+x}` for Docker...).
    Invalid { template: String },
}

impl fmt::Display for InterpolateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Required { var, message } if message.is_empty() => {
                write!(f, "required variable {var} is missing a value")
            }
            Self::Required { var, message } => {
                write!(f, "required variable {var} is missing a value: {message}")
            }
            Self::Invalid { template } => {
                write!(f, "invalid interpolation format {template:?}; you may need to escape any $ with another $")
            }
        }
    }
}

impl std::error::Error for InterpolateError {}

/// Interpolate `template` with `env` (and nothing else) in the given dialect.
pub fn substitute(
    template: &str,
    env: &BTreeMap<String, String>,
    dialect: Dialect,
) -> Result<String, InterpolateError> {
    let chars: Vec<char> = template.chars().collect();
    match dialect {
        Dialect::DockerStack => docker(template, &chars, env),
        Dialect::Full => {
            let mut full = Full { chars: &chars, pos: 0, env, template };
            let out = full.sequence(false, true)?;
            Ok(out)
        }
    }
}

fn is_name_start(c: char) -> bool {
    c == '_' || c.is_ascii_alphabetic()
}

fn is_name_char(c: char) -> bool {
    c == '_' || c.is_ascii_alphanumeric()
}

/// Length of the name starting at `i` (0 when none).
fn name_len(chars: &[char], i: usize) -> usize {
    match chars.get(i) {
        Some(&c) if is_name_start(c) => 1 + chars[i + 1..].iter().take_while(|&&c| is_name_char(c)).count(),
        _ => 0,
    }
}

// ---------------------------------------------------------------------------------------------
// Docker's dialect

fn docker(template: &str, chars: &[char], env: &BTreeMap<String, String>) -> Result<String, InterpolateError> {
    let invalid = || InterpolateError::Invalid { template: template.to_string() };
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '$' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let next = chars.get(i + 1).copied();
        if next == Some('$') {
            out.push('$');
            i += 2;
        } else if name_len(chars, i + 1) > 0 {
            let end = docker_expr_end(chars, i + 1);
            out.push_str(&docker_resolve(&chars[i + 1..end].iter().collect::<String>(), env)?);
            i = end;
        } else if next == Some('{') && name_len(chars, i + 2) > 0 {
            let end = docker_expr_end(chars, i + 2);
            if chars.get(end) != Some(&'}') {
                return Err(invalid());
            }
            out.push_str(&docker_resolve(&chars[i + 2..end].iter().collect::<String>(), env)?);
            i = end + 1;
        } else {
            return Err(invalid());
        }
    }
    Ok(out)
}

/// End (exclusive) of `name(:?[-?][^}]*)?` starting at `start`.
fn docker_expr_end(chars: &[char], start: usize) -> usize {
    let mut i = start + name_len(chars, start);
    let op = match (chars.get(i), chars.get(i + 1)) {
        (Some(':'), Some('-' | '?')) => 2,
        (Some('-' | '?'), _) => 1,
        _ => 0,
    };
    if op == 0 {
        return i;
    }
    i += op;
    while i < chars.len() && chars[i] != '}' {
        i += 1;
    }
    i
}

/// Apply Docker's substitution rules, in Docker's order, to one expression.
fn docker_resolve(expr: &str, env: &BTreeMap<String, String>) -> Result<String, InterpolateError> {
    let lookup = |name: &str| env.get(name).map(String::as_str);
    if let Some((name, default)) = expr.split_once(":-") {
        return Ok(lookup(name).filter(|v| !v.is_empty()).unwrap_or(default).to_string());
    }
    if let Some((name, default)) = expr.split_once('-') {
        return Ok(lookup(name).unwrap_or(default).to_string());
    }
    let required = |name: &str, message: &str, value: Option<&str>| {
        value
            .map(str::to_string)
            .ok_or_else(|| InterpolateError::Required { var: name.to_string(), message: message.to_string() })
    };
    if let Some((name, message)) = expr.split_once(":?") {
        return required(name, message, lookup(name).filter(|v| !v.is_empty()));
    }
    if let Some((name, message)) = expr.split_once('?') {
        return required(name, message, lookup(name));
    }
    Ok(lookup(expr).unwrap_or("").to_string())
}

// ---------------------------------------------------------------------------------------------
// The full compose-spec dialect

/// A recursive-descent reader for the full grammar; `pos` indexes `chars`.
struct Full<'a> {
    chars: &'a [char],
    pos: usize,
    env: &'a BTreeMap<String, String>,
    template: &'a str,
}

impl Full<'_> {
    fn invalid(&self) -> InterpolateError {
        InterpolateError::Invalid { template: self.template.to_string() }
    }

    /// Read text up to the end (or, when `nested`, up to an unmatched `}`), expanding
    /// expressions only when `live` (an unused default is parsed but not evaluated).
    fn sequence(&mut self, nested: bool, live: bool) -> Result<String, InterpolateError> {
        let mut out = String::new();
        while let Some(&c) = self.chars.get(self.pos) {
            if nested && c == '}' {
                return Ok(out);
            }
            self.pos += 1;
            if c != '$' {
                out.push(c);
                continue;
            }
            let value = self.expression(live)?;
            out.push_str(&value);
        }
        if nested {
            return Err(self.invalid());
        }
        Ok(out)
    }

    /// After a `$`.
    fn expression(&mut self, live: bool) -> Result<String, InterpolateError> {
        match self.chars.get(self.pos) {
            Some('$') => {
                self.pos += 1;
                Ok("$".into())
            }
            Some('{') => {
                self.pos += 1;
                self.braced(live)
            }
            _ => {
                let len = name_len(self.chars, self.pos);
                if len == 0 {
                    return Err(self.invalid());
                }
                let name: String = self.chars[self.pos..self.pos + len].iter().collect();
                self.pos += len;
                Ok(self.env.get(&name).cloned().unwrap_or_default())
            }
        }
    }

    /// After `${`: `NAME` then `}` or an operator, a nested word and `}`.
    fn braced(&mut self, live: bool) -> Result<String, InterpolateError> {
        let len = name_len(self.chars, self.pos);
        if len == 0 {
            return Err(self.invalid());
        }
        let name: String = self.chars[self.pos..self.pos + len].iter().collect();
        self.pos += len;
        let colon = self.chars.get(self.pos) == Some(&':');
        if colon {
            self.pos += 1;
        }
        let op = match self.chars.get(self.pos) {
            Some('}') if !colon => {
                self.pos += 1;
                return Ok(self.env.get(&name).cloned().unwrap_or_default());
            }
            Some(&op @ ('-' | '?' | '+')) => op,
            _ => return Err(self.invalid()),
        };
        self.pos += 1;
        let value = self.env.get(&name).filter(|v| !colon || !v.is_empty());
        let use_word = match op {
            '-' | '?' => value.is_none(),
            _ => value.is_some(),
        };
        let word = self.sequence(true, live && use_word)?;
        self.pos += 1; // the closing `}`
        if !live {
            return Ok(String::new());
        }
        match (op, use_word) {
            ('?', true) => Err(InterpolateError::Required { var: name, message: word }),
            ('+', false) => Ok(String::new()),
            (_, true) => Ok(word),
            (_, false) => Ok(value.cloned().unwrap_or_default()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> BTreeMap<String, String> {
        [("A", "a"), ("E", ""), ("B", "b")].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn full(t: &str) -> Result<String, InterpolateError> {
        substitute(t, &env(), Dialect::Full)
    }

    fn docker(t: &str) -> Result<String, InterpolateError> {
        substitute(t, &env(), Dialect::DockerStack)
    }

    #[test]
    fn full_grammar() {
        assert_eq!(full("$A ${A} $$A ${U:-d} ${E:-d} ${E-d} ${U-d}").unwrap(), "a a $A d d  d");
        assert_eq!(full("${A:+r} ${E:+r} ${E+r} ${U+r}").unwrap(), "r  r ");
        assert_eq!(full("${U:-${V:-${A}x}}").unwrap(), "ax");
        assert_eq!(full("${A:-${U:?never evaluated}}").unwrap(), "a");
        assert_eq!(
            full("${U:?set U to the ${A} domain}").unwrap_err().to_string(),
            "required variable U is missing a value: set U to the a domain"
        );
        assert!(full("${E:?x}").is_err());
        assert_eq!(full("${E?x}").unwrap(), "");
        assert!(matches!(full("${A"), Err(InterpolateError::Invalid { .. })));
        assert!(matches!(full("$1"), Err(InterpolateError::Invalid { .. })));
    }

    #[test]
    fn docker_quirks() {
        assert_eq!(docker("${A:-x} $A ${U-d} $$1").unwrap(), "a a d $1");
        // Braces do not nest: the default is `${B:-x` and the last `}` is literal text.
        assert_eq!(docker("${U:-${B:-x}}").unwrap(), "${B:-x}");
        // An unbraced name takes a `-tail` up to `}`/end.
        assert_eq!(docker("$A-redirect").unwrap(), "a");
        assert_eq!(docker("$U-redirect").unwrap(), "redirect");
        // `:+` is not part of Docker's grammar.
        assert!(matches!(docker("${A:+r}"), Err(InterpolateError::Invalid { .. })));
        // The first matching rule wins: `-` before `:?`.
        assert_eq!(docker("${U:?a-b}").unwrap(), "b");
        assert_eq!(docker("${U:?msg}").unwrap_err().to_string(), "required variable U is missing a value: msg");
    }
}
