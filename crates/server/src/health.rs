//! What is wrong with the server right now, for `/healthz`: a part that fails without stopping the
//! server (the store refusing writes, say on a full disk) reports its problem here while it lasts
//! and clears it once it recovers.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The store refusing writes (a full disk, a read-only file system).
pub const STORE_WRITES: &str = "store writes";

/// The server's current problems, by part; cloneable and shared.
#[derive(Debug, Clone, Default)]
pub struct Health {
    problems: Arc<Mutex<BTreeMap<&'static str, String>>>,
}

impl Health {
    /// Records (or replaces) the problem of `part`.
    pub fn report(&self, part: &'static str, problem: impl Into<String>) {
        self.lock().insert(part, problem.into());
    }

    /// `part` works again.
    pub fn clear(&self, part: &'static str) {
        self.lock().remove(part);
    }

    /// Every current problem as `part: problem`, by part.
    pub fn problems(&self) -> Vec<String> {
        self.lock().iter().map(|(part, problem)| format!("{part}: {problem}")).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<&'static str, String>> {
        self.problems.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_last_until_cleared() {
        let health = Health::default();
        let shared = health.clone();
        assert!(health.problems().is_empty());
        shared.report(STORE_WRITES, "database or disk is full");
        shared.report(STORE_WRITES, "still full");
        assert_eq!(health.problems(), vec!["store writes: still full".to_string()]);
        health.clear(STORE_WRITES);
        assert!(shared.problems().is_empty());
    }
}
