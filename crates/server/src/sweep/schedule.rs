//! When the sweep runs (SPEC S1): `[sweep]` in the server's configuration — `every` (default
//! `7d`), an optional `at` (a UTC time of day), `enabled` — and the next due time, counted from
//! the latest sweep's start (or, before the first sweep, from when the schedule was first armed
//! on this store). Like a persistent systemd timer, a sweep missed while the server was down is
//! run once as soon as it is back: its start is the new anchor, so it is not run again for each
//! missed period.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Deserialize;

use crate::store::{Store, StoreError};

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;
/// Default for `[sweep] every`.
pub const DEFAULT_EVERY: &str = "7d";

/// `[sweep]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSweep {
    every: Option<String>,
    at: Option<String>,
    enabled: Option<bool>,
}

/// When sweeps are due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// Time between two sweeps.
    pub every: Duration,
    /// Minutes after midnight UTC at which a sweep starts, when set.
    pub at: Option<u32>,
}

/// `[sweep]`, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SweepConfig {
    /// Whether `ccci serve` sweeps on its own (a sweep by hand works either way).
    pub enabled: bool,
    pub schedule: Schedule,
}

impl Default for SweepConfig {
    fn default() -> Self {
        SweepConfig { enabled: true, schedule: Schedule { every: Duration::from_secs(7 * 86_400), at: None } }
    }
}

/// Validates `[sweep]`; errors name the key.
pub fn parse(raw: RawSweep) -> Result<SweepConfig, (String, String)> {
    let every_text = raw.every.as_deref().unwrap_or(DEFAULT_EVERY);
    let every = parse_every(every_text).map_err(|m| ("sweep.every".to_string(), m))?;
    let at = raw.at.as_deref().map(parse_at).transpose().map_err(|m| ("sweep.at".to_string(), m))?;
    if at.is_some() && !every.as_secs().is_multiple_of(86_400) {
        return Err((
            "sweep.at".into(),
            format!("a time of day needs `every` in whole days (`1d`, `7d`, `2w`), not {every_text:?}"),
        ));
    }
    Ok(SweepConfig { enabled: raw.enabled.unwrap_or(true), schedule: Schedule { every, at } })
}

/// `30m`, `12h`, `7d`, `2w`: at least one minute.
fn parse_every(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let unit_secs = match unit {
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(format!("{text:?} is not a period: write a number and m, h, d or w, e.g. \"7d\"")),
    };
    let n: u64 = number.parse().map_err(|_| format!("{text:?} does not start with a number"))?;
    if n == 0 {
        return Err("must be at least 1m".into());
    }
    n.checked_mul(unit_secs).map(Duration::from_secs).ok_or_else(|| format!("{text:?} is too long"))
}

/// `HH:MM` (UTC) as minutes after midnight.
fn parse_at(text: &str) -> Result<u32, String> {
    let bad = || format!("{text:?} is not a time of day: write HH:MM (UTC), e.g. \"03:00\"");
    let (h, m) = text.trim().split_once(':').ok_or_else(bad)?;
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h > 23 || m > 59 || text.trim().len() != 5 {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

impl Schedule {
    /// When the sweep after one anchored at `anchor_ms` (Unix milliseconds) is due. With `at`,
    /// the anchor is first moved back to that day's (or the day before's) `at`, so a sweep that
    /// started late, or was caught up, keeps the time of day.
    pub fn next_due(&self, anchor_ms: i64) -> i64 {
        let every = self.every.as_millis() as i64;
        match self.at {
            None => anchor_ms.saturating_add(every),
            Some(at) => {
                let slot = anchor_ms.div_euclid(DAY_MS) * DAY_MS + at as i64 * MINUTE_MS;
                let base = if slot <= anchor_ms { slot } else { slot - DAY_MS };
                base.saturating_add(every)
            }
        }
    }

    /// When the next sweep on `store` is due: [`Schedule::next_due`] of the latest sweep's start,
    /// or before the first sweep of when the schedule was first armed on this store (arming it
    /// now if it never was). A due time in the past means "sweep now" — once, however many
    /// periods were missed: that sweep's start is the next anchor.
    pub fn next_due_on(&self, store: &Store) -> Result<i64, StoreError> {
        let anchor = match store.last_sweep_start()? {
            Some(last) => last,
            None => store.sweep_schedule_since()?,
        };
        Ok(self.next_due(anchor))
    }

    /// `every = "7d"` and `at = "03:00"` as the configuration would say them.
    pub fn describe(&self) -> (String, Option<String>) {
        let secs = self.every.as_secs();
        let every = [(7 * 86_400, "w"), (86_400, "d"), (3_600, "h"), (60, "m")]
            .iter()
            .find(|(unit, _)| secs.is_multiple_of(*unit))
            .map(|(unit, name)| format!("{}{name}", secs / unit))
            .unwrap_or_else(|| format!("{}m", secs / 60));
        (every, self.at.map(|m| format!("{:02}:{:02}", m / 60, m % 60)))
    }
}

/// `[sweep]` in the effective configuration.
pub fn write_effective(out: &mut String, config: &SweepConfig) {
    let (every, at) = config.schedule.describe();
    let _ = writeln!(out, "\n[sweep]\nenabled = {}\nevery = \"{every}\"", config.enabled);
    match at {
        Some(at) => {
            let _ = writeln!(out, "at = \"{at}\"");
        }
        None => {
            let _ = writeln!(out, "# at: not set (every period counts from the last sweep's start)");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(every: &str, at: Option<&str>) -> Schedule {
        let raw = RawSweep { every: Some(every.into()), at: at.map(str::to_string), enabled: None };
        parse(raw).unwrap().schedule
    }

    const HOUR: i64 = 3_600_000;

    #[test]
    fn the_default_is_weekly_and_enabled() {
        let c = parse(RawSweep::default()).unwrap();
        assert_eq!(c, SweepConfig::default());
        assert_eq!(c.schedule.next_due(0), 7 * DAY_MS);
    }

    #[test]
    fn without_a_time_of_day_the_period_counts_from_the_anchor() {
        let s = schedule("12h", None);
        assert_eq!(s.next_due(5 * HOUR + 17), 17 * HOUR + 17);
        assert_eq!(s.describe(), ("12h".to_string(), None));
    }

    #[test]
    fn a_time_of_day_keeps_sweeps_at_that_time_even_after_a_late_start() {
        let s = schedule("7d", Some("03:00"));
        let day = 20_000 * DAY_MS; // some midnight UTC
                                   // A sweep that started on time, a little late, or caught up in the afternoon: the next one
                                   // is a week after that day's 03:00.
        for anchor in [day + 3 * HOUR, day + 3 * HOUR + 2_000, day + 15 * HOUR] {
            assert_eq!(s.next_due(anchor), day + 7 * DAY_MS + 3 * HOUR, "{anchor}");
        }
        // Before 03:00 counts from the day before's.
        assert_eq!(s.next_due(day + HOUR), day + 6 * DAY_MS + 3 * HOUR);
        assert_eq!(s.describe(), ("1w".to_string(), Some("03:00".to_string())));
    }

    /// A store whose clock the test sets (Unix milliseconds).
    fn clocked_store(dir: &tempfile::TempDir) -> (Store, std::sync::Arc<std::sync::atomic::AtomicI64>) {
        use std::sync::atomic::{AtomicI64, Ordering};
        let clock = std::sync::Arc::new(AtomicI64::new(0));
        let read = clock.clone();
        let store = Store::open_with_clock(
            &dir.path().join("s.sqlite"),
            std::sync::Arc::new(move || read.load(Ordering::SeqCst)),
        )
        .unwrap();
        (store, clock)
    }

    /// One sweep on `store` at its clock's now, begun and finished.
    fn sweep_now(store: &Store) {
        let id = store.begin_sweep("schedule").unwrap().expect("no sweep open");
        store.update_sweep(id, crate::store::SweepState::Finished, Some("{}")).unwrap();
    }

    #[test]
    fn missed_sweeps_are_caught_up_once_at_start_then_the_period_counts_from_that_sweep() {
        use std::sync::atomic::Ordering;
        for (at, first_due, after_catch_up) in [
            // Without a time of day: a week after arming, then a week after the catch-up.
            (None, 20_000 * DAY_MS + 10 * HOUR + 7 * DAY_MS, 20_030 * DAY_MS + 15 * HOUR + 7 * DAY_MS),
            // At 03:00: the arming day's 03:00 plus a week, then the catch-up day's.
            (Some("03:00"), 20_007 * DAY_MS + 3 * HOUR, 20_037 * DAY_MS + 3 * HOUR),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let (store, clock) = clocked_store(&dir);
            let s = schedule("7d", at);
            // The server first starts (arming the schedule) on day 0 at 10:00: nothing is due.
            clock.store(20_000 * DAY_MS + 10 * HOUR, Ordering::SeqCst);
            assert_eq!(s.next_due_on(&store).unwrap(), first_due, "{at:?}");
            assert!(s.next_due_on(&store).unwrap() > store.now());
            // It is down from day 2 to day 30 at 15:00, four sweeps missed: one is due at once...
            clock.store(20_030 * DAY_MS + 15 * HOUR, Ordering::SeqCst);
            assert!(s.next_due_on(&store).unwrap() <= store.now(), "{at:?}: the missed sweep is due");
            sweep_now(&store);
            // ...and only one: after it, the next is a full period away.
            assert_eq!(s.next_due_on(&store).unwrap(), after_catch_up, "{at:?}");
            assert!(s.next_due_on(&store).unwrap() > store.now(), "{at:?}: caught up once, not once per missed week");
        }
    }

    #[test]
    fn a_sweep_by_hand_moves_the_next_scheduled_one() {
        use std::sync::atomic::Ordering;
        let dir = tempfile::tempdir().unwrap();
        let (store, clock) = clocked_store(&dir);
        let s = schedule("1d", None);
        assert_eq!(s.next_due_on(&store).unwrap(), DAY_MS, "armed at 0");
        clock.store(20 * HOUR, Ordering::SeqCst);
        sweep_now(&store);
        assert_eq!(s.next_due_on(&store).unwrap(), 44 * HOUR);
        assert_eq!(store.last_sweep_start().unwrap(), Some(20 * HOUR), "the last run is persisted in the store");
    }

    #[test]
    fn bad_values_are_refused_naming_the_key() {
        let err = |every: &str, at: Option<&str>| {
            parse(RawSweep { every: Some(every.into()), at: at.map(str::to_string), enabled: None }).unwrap_err()
        };
        for bad in ["7", "d", "0d", "7 days", "-1h", "1s"] {
            let (key, message) = err(bad, None);
            assert_eq!(key, "sweep.every", "{bad}: {message}");
        }
        for bad in ["3:00", "25:00", "03:60", "3am"] {
            assert_eq!(err("1d", Some(bad)).0, "sweep.at", "{bad}");
        }
        let (key, message) = err("12h", Some("03:00"));
        assert!(key == "sweep.at" && message.contains("whole days"), "{message}");
    }
}
