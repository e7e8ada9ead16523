//! log.txt: every event as a timestamped line (`[  12.345s] install  converged in 3.1s`), command
//! output indented below the step that ran it. Written as events arrive, so a killed run's log
//! holds everything up to the kill.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use super::Sink;
use crate::events::Event;

/// The run's log file.
pub struct LogFile {
    file: Mutex<File>,
}

impl LogFile {
    pub fn create(path: &Path) -> io::Result<Self> {
        Ok(Self { file: Mutex::new(File::create(path)?) })
    }
}

impl Sink for LogFile {
    fn event(&self, at: Duration, event: &Event) {
        let scope = event.tier().map_or("run", |t| t.name());
        let stamp = format!("[{:8.3}s] {scope:<8}", at.as_secs_f64());
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        // A log write that fails must not end the run; the result still records the outcome.
        let _ = match event {
            Event::Output { text, .. } => text.lines().try_for_each(|line| writeln!(file, "{stamp}   {line}")),
            other => writeln!(file, "{stamp} {}", other.line()),
        };
    }
}
