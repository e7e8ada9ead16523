//! The run's log: every line is redacted, timestamped relative to the run's start, appended to
//! `log.txt` and handed to the progress reporter. Nothing reaches a file or terminal unredacted.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::progress::Reporter;
use crate::redact::Redactor;
use crate::result::Tier;

/// A cloneable handle on the run's log.
#[derive(Clone)]
pub struct RunLog {
    inner: Arc<Inner>,
}

struct Inner {
    file: Mutex<File>,
    redactor: Redactor,
    reporter: Arc<dyn Reporter>,
    started: Instant,
}

impl RunLog {
    pub fn create(path: &Path, redactor: Redactor, reporter: Arc<dyn Reporter>) -> io::Result<Self> {
        let file = File::create(path)?;
        Ok(Self { inner: Arc::new(Inner { file: Mutex::new(file), redactor, reporter, started: Instant::now() }) })
    }

    pub fn redactor(&self) -> &Redactor {
        &self.inner.redactor
    }

    pub fn reporter(&self) -> &dyn Reporter {
        self.inner.reporter.as_ref()
    }

    /// Log one step of `tier` (or of the run when `None`): file and progress display.
    pub fn step(&self, tier: Option<Tier>, message: &str) {
        let clean = self.inner.redactor.redact(message);
        self.write_file(tier, &clean);
        self.inner.reporter.step(tier, &clean);
    }

    /// Log detail lines (command output, diagnostics) to the file only.
    pub fn detail(&self, tier: Option<Tier>, text: &str) {
        let clean = self.inner.redactor.redact(text);
        for line in clean.lines() {
            self.write_file(tier, &format!("  {line}"));
        }
    }

    fn write_file(&self, tier: Option<Tier>, line: &str) {
        let elapsed = self.inner.started.elapsed().as_secs_f64();
        let scope = tier.map(Tier::name).unwrap_or("run");
        let mut file = self.inner.file.lock().unwrap_or_else(|e| e.into_inner());
        // A log write that fails must not end the run; the result still records the outcome.
        let _ = writeln!(file, "[{elapsed:8.3}s] {scope:<8} {line}");
    }
}
