//! When to retry a call and how long to wait: transport errors, 429 and 5xx are transient; other
//! 4xx never are. `Retry-After` (seconds or an HTTP date) wins over the exponential backoff, capped
//! by the policy's `max_delay`.

use std::time::{Duration, SystemTime};

use crate::RetryPolicy;

/// Whether a call may safely be sent twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Idempotency {
    /// Reads, edits to a fixed body, append-only statuses: retry every transient failure.
    Safe,
    /// Creating a comment: a retry after the forge may have acted would post it twice, so retry
    /// only when the request surely did not reach the application (connect errors, 429, 502, 503).
    Unsafe,
}

/// Whether an HTTP status is worth another attempt.
pub(crate) fn retryable_status(status: u16, idempotency: Idempotency) -> bool {
    match idempotency {
        Idempotency::Safe => status == 429 || (500..600).contains(&status),
        Idempotency::Unsafe => matches!(status, 429 | 502 | 503),
    }
}

/// Whether a transport error is worth another attempt.
pub(crate) fn retryable_transport(err: &reqwest::Error, idempotency: Idempotency) -> bool {
    match idempotency {
        Idempotency::Safe => err.is_timeout() || err.is_connect() || err.is_request() || err.is_body(),
        Idempotency::Unsafe => err.is_connect(),
    }
}

/// The wait before retry number `retry` (1-based).
pub(crate) fn backoff(policy: &RetryPolicy, retry: u32, retry_after: Option<Duration>) -> Duration {
    let exponential = policy.base_delay.saturating_mul(1u32 << (retry.saturating_sub(1)).min(16));
    retry_after.unwrap_or(exponential).min(policy.max_delay)
}

/// Parses a `Retry-After` value: delta seconds or an HTTP date.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let policy = RetryPolicy {
            max_retries: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(350),
        };
        assert_eq!(backoff(&policy, 1, None), Duration::from_millis(100));
        assert_eq!(backoff(&policy, 2, None), Duration::from_millis(200));
        assert_eq!(backoff(&policy, 3, None), Duration::from_millis(350));
        assert_eq!(backoff(&policy, 1, Some(Duration::from_secs(60))), Duration::from_millis(350));
        assert_eq!(backoff(&policy, 3, Some(Duration::from_millis(10))), Duration::from_millis(10));
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(5));
        assert_eq!(parse_retry_after(&later, now), Some(Duration::from_secs(5)));
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(5));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn four_hundreds_are_final() {
        for status in [400, 401, 403, 404, 409, 422] {
            assert!(!retryable_status(status, Idempotency::Safe), "{status}");
        }
        assert!(retryable_status(500, Idempotency::Safe));
        assert!(!retryable_status(500, Idempotency::Unsafe));
        assert!(retryable_status(503, Idempotency::Unsafe));
        assert!(retryable_status(429, Idempotency::Unsafe));
    }
}
