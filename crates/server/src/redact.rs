//! Redaction of text the server shows or sends (SPEC V7): pages, files, the live log, and the
//! comments and statuses posted to the forge all pass through here with the server's redactor.
//!
//! A secret can hide behind an escape: JSON writes `"` as `\"`, HTML and XML write `&` as `&amp;`.
//! Text is therefore redacted line by line, each line also looked at with its JSON escapes and
//! its character entities decoded: when a secret shows up only there, the line is replaced by its
//! decoded, redacted form (losing its escapes rather than leaking the secret).

use harness::redact::Redactor;

/// Text redacted line by line, escapes considered (see the module doc); bytes that are not UTF-8
/// are redacted as bytes. `markup`: a line replaced by its decoded form is escaped again for HTML
/// (so decoding can never turn text into markup).
pub fn text(r: &Redactor, bytes: &[u8], markup: bool) -> Vec<u8> {
    let Ok(s) = std::str::from_utf8(bytes) else {
        return r.redact_bytes(bytes);
    };
    let mut out = String::with_capacity(s.len());
    for piece in s.split_inclusive('\n') {
        out.push_str(&line(r, piece, markup));
    }
    out.into_bytes()
}

/// A string redacted as [`text`] does.
pub fn string(r: &Redactor, s: &str) -> String {
    s.split_inclusive('\n').map(|l| line(r, l, false)).collect()
}

/// One line redacted, as it is and with its escapes decoded.
pub fn line(r: &Redactor, line: &str, markup: bool) -> String {
    let mut out = r.redact(line);
    let mut decoded_any = false;
    for decode in [decode_entities as fn(&str) -> Option<String>, decode_json_escapes] {
        if let Some(decoded) = decode(&out) {
            let redacted = r.redact(&decoded);
            if redacted != decoded {
                out = redacted;
                decoded_any = true;
            }
        }
    }
    if markup && decoded_any {
        out = escape_markup(&out);
    }
    out
}

fn escape_markup(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The text with `&lt;`, `&#60;`, `&#x3c;` and the like decoded; `None` when it has none.
fn decode_entities(s: &str) -> Option<String> {
    if !s.contains('&') {
        return None;
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    let mut changed = false;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let entity = rest[1..].find(';').filter(|&end| end <= 10).map(|end| &rest[1..end + 1]);
        let decoded = entity.and_then(|e| match e {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => {
                let n = e.strip_prefix('#')?;
                let code = match n.strip_prefix(['x', 'X']) {
                    Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                    None => n.parse().ok()?,
                };
                char::from_u32(code)
            }
        });
        match (entity, decoded) {
            (Some(e), Some(c)) => {
                out.push(c);
                rest = &rest[e.len() + 2..];
                changed = true;
            }
            _ => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    changed.then_some(out)
}

/// The text with JSON string escapes (`\"`, `\\`, `\/`, `\n`, `\u00e9`, …) decoded; `None` when it
/// has none.
fn decode_json_escapes(s: &str) -> Option<String> {
    if !s.contains('\\') {
        return None;
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    let mut changed = false;
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let decoded = match chars.peek() {
            Some('"') => Some('"'),
            Some('\\') => Some('\\'),
            Some('/') => Some('/'),
            Some('n') => Some('\n'),
            Some('t') => Some('\t'),
            Some('r') => Some('\r'),
            Some('b') => Some('\u{8}'),
            Some('f') => Some('\u{c}'),
            Some('u') => {
                let hex: String = chars.clone().skip(1).take(4).collect();
                let c = u32::from_str_radix(&hex, 16).ok().filter(|_| hex.len() == 4).and_then(char::from_u32);
                if c.is_some() {
                    for _ in 0..4 {
                        chars.next();
                    }
                }
                c
            }
            _ => None,
        };
        match decoded {
            Some(d) => {
                chars.next();
                out.push(d);
                changed = true;
            }
            None => out.push('\\'),
        }
    }
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_secrets_are_found_in_text() {
        let r = Redactor::new();
        r.register("we<b>\"hook&s3cr3t");
        let input = "a we&lt;b&gt;&quot;hook&amp;s3cr3t b\nc we&#60;b&#62;&#34;hook&#38;s3cr3t\n\
                     {\"k\":\"we<b>\\\"hook&s3cr3t\"}\nplain &amp; \\n untouched\n";
        let out = String::from_utf8(text(&r, input.as_bytes(), false)).unwrap();
        assert_eq!(out, "a [redacted] b\nc [redacted]\n{\"k\":\"[redacted]\"}\nplain &amp; \\n untouched\n");
        assert_eq!(decode_entities("x &#x41;&bogus; & y"), Some("x A&bogus; & y".into()));
        let html = text(&r, b"<td>&lt;script&gt; we&lt;b&gt;&quot;hook&amp;s3cr3t</td>", true);
        assert_eq!(String::from_utf8(html).unwrap(), "&lt;td&gt;&lt;script&gt; [redacted]&lt;/td&gt;");
        assert_eq!(decode_json_escapes(r"a\u00e9\q"), Some(r"aé\q".into()));
    }
}
