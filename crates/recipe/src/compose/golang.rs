//! Small Go-library behaviours Docker's loader relies on, reproduced so values print the same:
//! `time.ParseDuration`/`Duration.String`, `fmt.Sprint` of YAML scalars, `units.RAMInBytes`
//! and `shlex.Split` (github.com/google/shlex).

use serde_norway::Value;

const UNITS: &[(&str, f64)] =
    &[("ns", 1.0), ("us", 1e3), ("µs", 1e3), ("μs", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9)];

/// Go's `time.ParseDuration`, in nanoseconds.
pub fn parse_duration(s: &str) -> Option<i64> {
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let number = &rest[..num_len];
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return None;
        }
        rest = &rest[num_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        let scale = UNITS.iter().find(|(u, _)| *u == unit)?.1;
        rest = &rest[unit_len..];
        total += number.parse::<f64>().ok()? * scale;
    }
    if total > i64::MAX as f64 {
        return None;
    }
    let ns = total.round() as i64;
    Some(if neg { -ns } else { ns })
}

/// Go's `time.Duration.String()`.
pub fn format_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    let sign = if ns < 0 { "-" } else { "" };
    let u = ns.unsigned_abs();
    if u < 1_000_000_000 {
        let (scale, unit) = match u {
            0..=999 => (1, "ns"),
            1_000..=999_999 => (1_000, "µs"),
            _ => (1_000_000, "ms"),
        };
        return format!("{sign}{}{unit}", fraction(u, scale));
    }
    let hours = u / 3_600_000_000_000;
    let minutes = (u / 60_000_000_000) % 60;
    let seconds = fraction(u % 60_000_000_000, 1_000_000_000);
    let mut out = sign.to_string();
    if hours > 0 {
        out.push_str(&format!("{hours}h"));
    }
    if hours > 0 || minutes > 0 {
        out.push_str(&format!("{minutes}m"));
    }
    out.push_str(&format!("{seconds}s"));
    out
}

/// `v / scale` with the fraction's trailing zeros dropped (`1.5`, `2`).
fn fraction(v: u64, scale: u64) -> String {
    let whole = v / scale;
    let frac = v % scale;
    if frac == 0 {
        return whole.to_string();
    }
    let width = scale.to_string().len() - 1;
    let digits = format!("{frac:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// Go's `fmt.Sprint` of a decoded YAML scalar (`<nil>` for null).
pub fn sprint(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::String(s) => s.clone(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (_, Some(u), _) => u.to_string(),
            (_, _, Some(f)) => go_float(f),
            _ => n.to_string(),
        },
        Value::Sequence(items) => format!("[{}]", items.iter().map(sprint).collect::<Vec<_>>().join(" ")),
        Value::Mapping(m) => {
            let parts: Vec<String> = m.iter().map(|(k, v)| format!("{}:{}", sprint(k), sprint(v))).collect();
            format!("map[{}]", parts.join(" "))
        }
        Value::Tagged(t) => sprint(&t.value),
    }
}

/// `%v` of a float64: shortest representation, exponent form outside [1e-4, 1e21).
fn go_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    let a = f.abs();
    if a != 0.0 && !(1e-4..1e21).contains(&a) {
        let s = format!("{f:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.abs());
    }
    format!("{f}")
}

/// `units.RAMInBytes`: `512M`, `1.5g`, `1024kb`, `100` (binary multiples).
pub fn ram_in_bytes(s: &str) -> Option<i64> {
    let s = s.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (number, suffix) = s.split_at(split);
    let size: f64 = number.parse().ok()?;
    let suffix = suffix.trim_start_matches(' ').to_ascii_lowercase();
    let suffix = suffix.trim_end_matches('b').trim_end_matches('i');
    let power = match suffix {
        "" => 0,
        "k" => 1,
        "m" => 2,
        "g" => 3,
        "t" => 4,
        "p" => 5,
        _ => return None,
    };
    Some((size * 1024f64.powi(power)) as i64)
}

/// `shlex.Split` from github.com/google/shlex: POSIX-like words, quotes, `\` escapes and `#`
/// comments at the start of a word.
pub fn shlex_split(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| matches!(c, ' ' | '\t' | '\r' | '\n')) {
            chars.next();
        }
        match chars.peek() {
            None => return Ok(words),
            Some('#') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
                continue;
            }
            _ => {}
        }
        let mut word = String::new();
        while let Some(c) = chars.next() {
            match c {
                ' ' | '\t' | '\r' | '\n' => break,
                '\\' => word.push(chars.next().ok_or("EOF found after escape character")?),
                '\'' => loop {
                    match chars.next() {
                        None => return Err("EOF found when expecting closing quote".into()),
                        Some('\'') => break,
                        Some(c) => word.push(c),
                    }
                },
                '"' => loop {
                    match chars.next() {
                        None => return Err("EOF found when expecting closing quote".into()),
                        Some('"') => break,
                        Some('\\') => word.push(chars.next().ok_or("EOF found when expecting closing quote")?),
                        Some(c) => word.push(c),
                    }
                },
                _ => word.push(c),
            }
        }
        words.push(word);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_like_go() {
        for (input, printed) in [
            ("2m", "2m0s"),
            ("1m", "1m0s"),
            ("30s", "30s"),
            ("1h", "1h0m0s"),
            ("1.5s", "1.5s"),
            ("100ms", "100ms"),
            ("90m", "1h30m0s"),
            ("0", "0s"),
            ("1m30s", "1m30s"),
            ("1500us", "1.5ms"),
        ] {
            assert_eq!(format_duration(parse_duration(input).unwrap()), printed, "{input}");
        }
        assert!(parse_duration("10").is_none());
        assert!(parse_duration("1x").is_none());
    }

    #[test]
    fn shlex_and_units() {
        assert_eq!(shlex_split("echo \"a b\" c 'd e' f\\ g").unwrap(), ["echo", "a b", "c", "d e", "f g"]);
        assert!(shlex_split("echo \"open").is_err());
        assert_eq!(ram_in_bytes("512M"), Some(536870912));
        assert_eq!(ram_in_bytes("1gb"), Some(1073741824));
        assert_eq!(sprint(&Value::Number(1.5.into())), "1.5");
    }
}
