//! events.jsonl: the run's events as JSON lines (`{"at_ms": 1234, "event": "step", ...}`), for
//! tools and tests that want what happened without parsing log wording.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use super::Sink;
use crate::events::{Event, Stamped};

/// The file name, in the run's output directory.
pub const EVENTS_FILE: &str = "events.jsonl";

/// The run's events file.
pub struct Jsonl {
    file: Mutex<File>,
}

impl Jsonl {
    pub fn create(path: &Path) -> io::Result<Self> {
        Ok(Self { file: Mutex::new(File::create(path)?) })
    }
}

impl Sink for Jsonl {
    fn event(&self, at: Duration, event: &Event) {
        let stamped = Stamped { at_ms: crate::result::millis(at), event: event.clone() };
        let Ok(line) = serde_json::to_string(&stamped) else { return };
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(file, "{line}");
    }
}

/// The events in an events.jsonl file (lines that do not parse are left out: a killed run may
/// end mid-line).
pub fn read_jsonl(path: &Path) -> io::Result<Vec<Stamped>> {
    let text = std::fs::read_to_string(path)?;
    Ok(text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Step;
    use crate::result::Tier;

    #[test]
    fn written_events_read_back_with_their_times() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(EVENTS_FILE);
        let sink = Jsonl::create(&path).unwrap();
        let e = Event::Step { tier: Some(Tier::Backup), step: Step::BackupWritten { path: "a".into(), bytes: 3 } };
        sink.event(Duration::from_millis(1500), &Event::TierStarted { tier: Tier::Backup });
        sink.event(Duration::from_millis(2500), &e);
        let read = read_jsonl(&path).unwrap();
        assert_eq!(read.len(), 2);
        assert_eq!((read[1].at_ms, &read[1].event), (2500, &e));
    }
}
