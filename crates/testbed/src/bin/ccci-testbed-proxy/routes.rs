//! The routing table cache: refreshed from Docker when older than a second, when a host is not in
//! it (so a fresh deploy is routed at its first request), and when a task address stops answering.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::docker::{Discovery, Table};

const MAX_AGE: Duration = Duration::from_secs(1);

pub struct Routes {
    discovery: Discovery,
    cached: Mutex<Option<(Instant, Arc<Table>)>>,
    turn: AtomicUsize,
}

impl Routes {
    pub fn new(discovery: Discovery) -> Self {
        Routes { discovery, cached: Mutex::new(None), turn: AtomicUsize::new(0) }
    }

    /// The backends for `host`, rotated so consecutive requests spread over tasks. `fresh` forces a
    /// refresh from Docker first.
    pub fn backends(&self, host: &str, fresh: bool) -> std::io::Result<Vec<SocketAddr>> {
        let table = self.table(fresh)?;
        let found = match table.get(host) {
            Some(found) => found.clone(),
            None if !fresh => self.table(true)?.get(host).cloned().unwrap_or_default(),
            None => Vec::new(),
        };
        let mut found = found;
        if !found.is_empty() {
            let n = found.len();
            found.rotate_left(self.turn.fetch_add(1, Ordering::Relaxed) % n);
        }
        Ok(found)
    }

    fn table(&self, fresh: bool) -> std::io::Result<Arc<Table>> {
        let mut cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((at, table)) = cached.as_ref() {
            if !fresh && at.elapsed() < MAX_AGE {
                return Ok(table.clone());
            }
        }
        let table = Arc::new(self.discovery.table()?);
        *cached = Some((Instant::now(), table.clone()));
        Ok(table)
    }
}
