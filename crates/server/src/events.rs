//! The server's own event log: one line per thing an operator may need to know (a run queued, a
//! trigger refused and why, a forge call that failed), on stderr and appended to
//! `<data_dir>/server.log`. Lines go through the server's redactor, so no token or webhook secret
//! is ever written.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use harness::redact::Redactor;

/// A cloneable handle on the event log.
#[derive(Clone)]
pub struct Events {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    file: Mutex<Option<std::fs::File>>,
    redactor: Redactor,
}

impl Events {
    /// Events appended to `<data_dir>/server.log` (created if missing).
    pub fn open(data_dir: &Path, redactor: Redactor) -> Events {
        let path = data_dir.join("server.log");
        let file = OpenOptions::new().create(true).append(true).open(&path).ok();
        Events { inner: Arc::new(Inner { path, file: Mutex::new(file), redactor }) }
    }

    /// The file the events go to.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Records one event.
    pub fn log(&self, message: impl AsRef<str>) {
        let stamp = time_stamp();
        let line = format!("{stamp} {}", self.inner.redactor.redact(message.as_ref()));
        eprintln!("ccci serve: {line}");
        let mut file = self.inner.file.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(file) = file.as_mut() {
            let _ = writeln!(file, "{line}");
        }
    }
}

fn time_stamp() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    format!("{}.{:03}", now.as_secs(), now.subsec_millis())
}
