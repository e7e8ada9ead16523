//! A YAML reader that types plain scalars the way Docker's loader (yaml.v3 decoding into untyped
//! values) does: only `true`/`false` (any case form) are booleans (`yes`/`on` stay strings),
//! `0555` is still octal, `~` is null, `<<` merge keys apply (explicit keys win), duplicate
//! keys are errors, only the first document counts, and mapping keys must be strings.

use serde_norway::{Mapping, Number, Value};
use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Parse `text` into a value; the top level must be a mapping. Errors are one line.
pub fn parse(text: &str) -> Result<Mapping, String> {
    let mut reader = Reader { parser: Parser::new_from_str(text), anchors: Vec::new() };
    loop {
        match reader.next()? {
            (Event::StreamStart | Event::DocumentStart, _) => continue,
            (Event::StreamEnd | Event::DocumentEnd, _) => return Err("top-level object must be a mapping".into()),
            (event, mark) => {
                return match reader.node(event, mark, "")? {
                    Value::Mapping(m) => Ok(m),
                    _ => Err("top-level object must be a mapping".into()),
                }
            }
        }
    }
}

struct Reader<'a> {
    parser: Parser<std::str::Chars<'a>>,
    anchors: Vec<(usize, Value)>,
}

impl Reader<'_> {
    fn next(&mut self) -> Result<(Event, Marker), String> {
        self.parser.next_token().map_err(|e| format!("yaml: line {}: {}", e.marker().line(), e.info()))
    }

    fn remember(&mut self, anchor: usize, value: &Value) {
        if anchor > 0 {
            self.anchors.push((anchor, value.clone()));
        }
    }

    fn node(&mut self, event: Event, mark: Marker, path: &str) -> Result<Value, String> {
        let value = match event {
            Event::Scalar(text, style, anchor, tag) => {
                let is_str_tag = tag.as_ref().is_some_and(|t| t.suffix == "str");
                let value = if style == TScalarStyle::Plain && !is_str_tag {
                    resolve_plain(&text)
                } else {
                    Value::String(text)
                };
                self.remember(anchor, &value);
                value
            }
            Event::Alias(id) => self
                .anchors
                .iter()
                .rev()
                .find(|(a, _)| *a == id)
                .map(|(_, v)| v.clone())
                .ok_or_else(|| format!("yaml: line {}: unknown anchor", mark.line()))?,
            Event::SequenceStart(anchor, _) => {
                let mut items = Vec::new();
                loop {
                    match self.next()? {
                        (Event::SequenceEnd, _) => break,
                        (event, mark) => items.push(self.node(event, mark, &format!("{path}[{}]", items.len()))?),
                    }
                }
                let value = Value::Sequence(items);
                self.remember(anchor, &value);
                value
            }
            Event::MappingStart(anchor, _) => {
                let value = Value::Mapping(self.mapping(path)?);
                self.remember(anchor, &value);
                value
            }
            other => return Err(format!("yaml: line {}: unexpected {other:?}", mark.line())),
        };
        Ok(value)
    }

    fn mapping(&mut self, path: &str) -> Result<Mapping, String> {
        let mut map = Mapping::new();
        let mut merged = Mapping::new();
        loop {
            let (event, mark) = self.next()?;
            if event == Event::MappingEnd {
                for (k, v) in merged {
                    if !map.contains_key(&k) {
                        map.insert(k, v);
                    }
                }
                return Ok(map);
            }
            let is_merge = matches!(&event, Event::Scalar(k, TScalarStyle::Plain, _, None) if k == "<<");
            let key = self.node(event, mark, path)?;
            let (event, mark) = self.next()?;
            if is_merge {
                let value = self.node(event, mark, path)?;
                let sources = match value {
                    Value::Sequence(items) => items,
                    other => vec![other],
                };
                for source in sources {
                    let Value::Mapping(source) = source else {
                        return Err(format!(
                            "yaml: line {}: map merge requires map or sequence of maps as the value",
                            mark.line()
                        ));
                    };
                    for (k, v) in source {
                        if !merged.contains_key(&k) {
                            merged.insert(k, v);
                        }
                    }
                }
                continue;
            }
            let Value::String(name) = key else {
                let at = if path.is_empty() { "at top level".to_string() } else { format!("in {path}") };
                return Err(format!("non-string key {at}: {}", scalar_text(&key)));
            };
            let child = if path.is_empty() { name.clone() } else { format!("{path}.{name}") };
            let value = self.node(event, mark, &child)?;
            if map.contains_key(name.as_str()) {
                return Err(format!("yaml: line {}: mapping key {name:?} already defined", mark.line()));
            }
            map.insert(Value::String(name), value);
        }
    }
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => "<collection>".into(),
    }
}

/// Resolution of an untagged plain scalar, as yaml.v3 does it for untyped values.
pub fn resolve_plain(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Value::Number(f64::INFINITY.into()),
        "-.inf" | "-.Inf" | "-.INF" => return Value::Number(f64::NEG_INFINITY.into()),
        ".nan" | ".NaN" | ".NAN" => return Value::Number(f64::NAN.into()),
        _ => {}
    }
    let first = s.as_bytes()[0];
    if first.is_ascii_digit() || first == b'+' || first == b'-' || first == b'.' {
        let plain = s.replace('_', "");
        if first != b'.' {
            if let Some(i) = go_parse_int(&plain) {
                return Value::Number(Number::from(i));
            }
            if let Some(u) = go_parse_uint(&plain) {
                return Value::Number(Number::from(u));
            }
        }
        if is_yaml_float(&plain) {
            if let Ok(f) = plain.parse::<f64>() {
                return Value::Number(Number::from(f));
            }
        }
    }
    Value::String(s.to_string())
}

/// Go's `strconv.ParseInt(s, 0, 64)`: optional sign, `0x`/`0o`/`0b`/leading-`0` prefixes.
pub fn go_parse_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let magnitude = go_parse_uint(body)?;
    if neg {
        if magnitude <= i64::MAX as u64 + 1 {
            Some((magnitude as i64).wrapping_neg())
        } else {
            None
        }
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// Go's `strconv.ParseUint(s, 0, 64)` (no sign).
pub fn go_parse_uint(s: &str) -> Option<u64> {
    let lower = s.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// yaml.v2's float syntax: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'-' | b'+')));
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml11_scalars() {
        let m = parse("a: 0555\nb: true\nbb: yes\nc: '0555'\nd: 1_000\ne: 1.5\nf: ~\ng: 0x1F\nh: 08\ni: v1\nj: 1e3\n")
            .unwrap();
        let get = |k: &str| m.get(k).unwrap().clone();
        assert_eq!(get("a"), Value::Number(365.into()));
        assert_eq!(get("b"), Value::Bool(true));
        assert_eq!(get("bb"), Value::String("yes".into()));
        assert_eq!(get("c"), Value::String("0555".into()));
        assert_eq!(get("d"), Value::Number(1000.into()));
        assert_eq!(get("f"), Value::Null);
        assert_eq!(get("g"), Value::Number(31.into()));
        assert_eq!(get("h"), Value::Number(Number::from(8.0)));
        assert_eq!(get("i"), Value::String("v1".into()));
        assert_eq!(get("j"), Value::Number(Number::from(1000.0)));
    }

    #[test]
    fn merge_keys_and_errors() {
        let m = parse("xa: &e {A: 1, B: 2}\nya:\n  <<: *e\n  B: 3\n").unwrap();
        let y = m.get("ya").unwrap().as_mapping().unwrap();
        assert_eq!(y.get("A").unwrap(), &Value::Number(1.into()));
        assert_eq!(y.get("B").unwrap(), &Value::Number(3.into()));
        assert!(parse("- a\n").is_err());
        assert!(parse("").is_err());
        assert!(parse("a:\n  1: x\n").unwrap_err().contains("non-string key in a"));
        assert!(parse("a: 1\na: 2\n").unwrap_err().contains("already defined"));
    }
}
