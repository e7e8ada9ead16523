//! The server's own event log: one line per thing an operator may need to know (a run queued, a
//! trigger refused and why, a forge call that failed), on stderr and appended to
//! `<data_dir>/server.log`. Lines go through the server's redactor, so no token or webhook secret
//! is ever written. The file rotates by size: past [`Rotation::max_bytes`] it becomes
//! `server.log.1` (older ones shift to `.2`, … up to [`Rotation::keep`]) and a new one starts.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use harness::redact::Redactor;

/// When `server.log` is rotated and how many old files are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    pub max_bytes: u64,
    pub keep: usize,
}

impl Default for Rotation {
    /// 16 MiB a file, three old files kept (64 MiB at most in all).
    fn default() -> Self {
        Rotation { max_bytes: 16 << 20, keep: 3 }
    }
}

/// A cloneable handle on the event log.
#[derive(Clone)]
pub struct Events {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    rotation: Rotation,
    file: Mutex<Open>,
    redactor: Redactor,
}

/// The file being appended to and how much it holds.
struct Open {
    file: Option<std::fs::File>,
    bytes: u64,
}

impl Events {
    /// Events appended to `<data_dir>/server.log` (created if missing), rotated by [`Rotation::default`].
    pub fn open(data_dir: &Path, redactor: Redactor) -> Events {
        Events::open_with(data_dir, redactor, Rotation::default())
    }

    /// [`Events::open`] with another rotation.
    pub fn open_with(data_dir: &Path, redactor: Redactor, rotation: Rotation) -> Events {
        let path = data_dir.join("server.log");
        let open = Open::append(&path);
        Events { inner: Arc::new(Inner { path, rotation, file: Mutex::new(open), redactor }) }
    }

    /// The file the events go to.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Records one event.
    pub fn log(&self, message: impl AsRef<str>) {
        let stamp = time_stamp();
        let line = format!("{stamp} {}\n", self.inner.redactor.redact(message.as_ref()));
        eprint!("ccci serve: {line}");
        let mut open = self.inner.file.lock().unwrap_or_else(|e| e.into_inner());
        if open.bytes > 0 && open.bytes + line.len() as u64 > self.inner.rotation.max_bytes {
            rotate(&self.inner.path, self.inner.rotation.keep);
            *open = Open::append(&self.inner.path);
        }
        if let Some(file) = open.file.as_mut() {
            if file.write_all(line.as_bytes()).is_ok() {
                open.bytes += line.len() as u64;
            }
        }
    }
}

impl Open {
    fn append(path: &Path) -> Open {
        let file = OpenOptions::new().create(true).append(true).open(path).ok();
        let bytes = file.as_ref().and_then(|f| f.metadata().ok()).map(|m| m.len()).unwrap_or(0);
        Open { file, bytes }
    }
}

/// `server.log` → `server.log.1`, `.1` → `.2`, …; the oldest beyond `keep` is dropped.
fn rotate(path: &Path, keep: usize) {
    let numbered = |n: usize| PathBuf::from(format!("{}.{n}", path.display()));
    if keep == 0 {
        let _ = std::fs::remove_file(path);
        return;
    }
    let _ = std::fs::remove_file(numbered(keep));
    for n in (1..keep).rev() {
        let _ = std::fs::rename(numbered(n), numbered(n + 1));
    }
    let _ = std::fs::rename(path, numbered(1));
}

fn time_stamp() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    format!("{}.{:03}", now.as_secs(), now.subsec_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_rotates_by_size_and_keeps_so_many_old_files() {
        let dir = tempfile::tempdir().unwrap();
        let redactor = Redactor::new();
        redactor.register("tok3n-s3cret");
        let events = Events::open_with(dir.path(), redactor, Rotation { max_bytes: 200, keep: 2 });
        for i in 0..40 {
            events.log(format!("event {i:02} with tok3n-s3cret in it"));
        }
        let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap_or_default();
        let (now, one, two) = (read("server.log"), read("server.log.1"), read("server.log.2"));
        for text in [&now, &one, &two] {
            assert!(!text.is_empty() && text.len() <= 200, "{} bytes: {text}", text.len());
            assert!(!text.contains("tok3n-s3cret"));
        }
        assert!(!dir.path().join("server.log.3").exists(), "only two old files are kept");
        assert!(now.contains("event 39"), "{now}");
        let last_old: u32 = one.lines().last().unwrap()[..].split("event ").nth(1).unwrap()[..2].parse().unwrap();
        let first_new: u32 = now.lines().next().unwrap().split("event ").nth(1).unwrap()[..2].parse().unwrap();
        assert_eq!(last_old + 1, first_new, "no line lost at the cut");

        // A restarted server appends to the file and goes on counting its size.
        drop(events);
        let again = Events::open_with(dir.path(), Redactor::new(), Rotation { max_bytes: 200, keep: 2 });
        again.log("after the restart");
        assert!(read("server.log").len() <= 200);
    }
}
