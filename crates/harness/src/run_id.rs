//! Run identifiers: unique, sortable by start time, safe as Docker label values and file names.

use rand::Rng;

/// A new run id such as `20261122t054012-3fa9c1`.
pub fn new_run_id() -> String {
    let now = time::OffsetDateTime::now_utc();
    let stamp = now
        .format(time::macros::format_description!("[year][month][day]t[hour][minute][second]"))
        .unwrap_or_else(|_| now.unix_timestamp().to_string());
    let suffix: u32 = rand::rng().random_range(0..0x100_0000);
    format!("{stamp}-{suffix:06x}")
}

/// Whether `id` looks like a run id this module made (guards paths built from ids).
pub fn is_valid(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_valid_and_distinct() {
        let a = new_run_id();
        let b = new_run_id();
        assert!(is_valid(&a), "{a}");
        assert_ne!(a, b);
        assert!(!is_valid("../etc"));
    }
}
