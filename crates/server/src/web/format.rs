//! How the dashboard writes times, durations, commits, levels and URL pieces.

use time::macros::format_description;
use time::OffsetDateTime;

/// Unix milliseconds as `2026-01-02 15:04:05 UTC`; the raw number when out of range.
pub fn time(ms: i64) -> String {
    let fmt = format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(fmt).ok())
        .unwrap_or_else(|| ms.to_string())
}

/// A duration in milliseconds as `850ms`, `42s`, `3m 07s` or `1h 02m`.
pub fn duration(ms: i64) -> String {
    if ms < 0 {
        return "—".into();
    }
    if ms < 1000 {
        return format!("{ms}ms");
    }
    if ms < 10_000 {
        return format!("{:.1}s", ms as f64 / 1000.0);
    }
    let s = ms / 1000;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// The first 10 characters of a commit id (the whole of a shorter one).
pub fn short_commit(commit: &str) -> String {
    commit.chars().take(10).collect()
}

/// "3 of 5", "3" when the number of tiers is unknown, "—" when there is no level.
pub fn level(level: Option<u64>, of: Option<u64>) -> String {
    match (level, of) {
        (Some(l), Some(of)) => format!("{l} of {of}"),
        (Some(l), None) => l.to_string(),
        (None, _) => "—".into(),
    }
}

/// Percent-encodes one URL path segment or query value (everything but unreserved characters).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Percent-encodes a relative path, segment by segment (the slashes stay).
pub fn encode_path(path: &str) -> String {
    path.split('/').map(encode).collect::<Vec<_>>().join("/")
}

/// `key=value&…` of the non-empty pairs, values encoded; empty when none.
pub fn query(pairs: &[(&str, Option<String>)]) -> String {
    pairs
        .iter()
        .filter_map(|(k, v)| v.as_ref().filter(|v| !v.is_empty()).map(|v| format!("{k}={}", encode(v))))
        .collect::<Vec<_>>()
        .join("&")
}

/// A byte count as `812 B`, `4.2 KiB`, `13.0 MiB`.
pub fn bytes(n: u64) -> String {
    const KIB: f64 = 1024.0;
    let f = n as f64;
    if f < KIB {
        format!("{n} B")
    } else if f < KIB * KIB {
        format!("{:.1} KiB", f / KIB)
    } else if f < KIB * KIB * KIB {
        format!("{:.1} MiB", f / KIB / KIB)
    } else {
        format!("{:.1} GiB", f / KIB / KIB / KIB)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_durations() {
        assert_eq!(time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(time(1_767_366_245_000), "2026-01-02 15:04:05 UTC");
        assert_eq!(duration(850), "850ms");
        assert_eq!(duration(1500), "1.5s");
        assert_eq!(duration(42_000), "42s");
        assert_eq!(duration(187_000), "3m 07s");
        assert_eq!(duration(3_720_000), "1h 02m");
    }

    #[test]
    fn encodes_segments_and_queries() {
        assert_eq!(encode("a b/c?d"), "a%20b%2Fc%3Fd");
        assert_eq!(encode_path("artifacts/a b.png"), "artifacts/a%20b.png");
        assert_eq!(
            query(&[("recipe", Some("x y".into())), ("state", None), ("pr", Some(String::new()))]),
            "recipe=x%20y"
        );
        assert_eq!(level(Some(3), Some(5)), "3 of 5");
        assert_eq!(bytes(2048), "2.0 KiB");
    }
}
