//! A cap on live-log streams (server-sent events): at most so many open at once over all runs,
//! and so many on one run. A stream holds its [`Slot`] for as long as it is open; dropping the
//! stream (the client went away, the run ended) gives it back. A browser refused a slot still has
//! the log as the page showed it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::store::RunId;

/// The open streams, counted.
#[derive(Debug)]
pub struct StreamSlots {
    total: usize,
    per_run: usize,
    open: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    by_run: HashMap<RunId, usize>,
}

/// Why no slot was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    /// `total` streams are open.
    Server(usize),
    /// `per_run` streams of this run are open.
    Run(usize),
}

/// One open stream's place; given back on drop.
#[derive(Debug)]
pub struct Slot {
    slots: Arc<StreamSlots>,
    run: RunId,
}

impl StreamSlots {
    pub fn new(total: usize, per_run: usize) -> Arc<StreamSlots> {
        Arc::new(StreamSlots { total, per_run, open: Mutex::default() })
    }

    /// A slot for a stream of `run`, if one is free.
    pub fn take(self: &Arc<Self>, run: RunId) -> Result<Slot, Full> {
        let mut open = self.lock();
        if open.total >= self.total {
            return Err(Full::Server(self.total));
        }
        let of_run = open.by_run.entry(run).or_default();
        if *of_run >= self.per_run {
            return Err(Full::Run(self.per_run));
        }
        *of_run += 1;
        open.total += 1;
        Ok(Slot { slots: self.clone(), run })
    }

    /// Streams open now.
    pub fn open(&self) -> usize {
        self.lock().total
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Open> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.slots.lock();
        open.total -= 1;
        if let Some(n) = open.by_run.get_mut(&self.run) {
            *n -= 1;
            if *n == 0 {
                open.by_run.remove(&self.run);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_per_run_and_overall_and_gives_slots_back() {
        let slots = StreamSlots::new(3, 2);
        let a1 = slots.take(RunId(1)).unwrap();
        let _a2 = slots.take(RunId(1)).unwrap();
        assert_eq!(slots.take(RunId(1)).unwrap_err(), Full::Run(2));
        let _b1 = slots.take(RunId(2)).unwrap();
        assert_eq!(slots.take(RunId(3)).unwrap_err(), Full::Server(3));
        drop(a1);
        assert_eq!(slots.open(), 2);
        let _c1 = slots.take(RunId(3)).unwrap();
        assert_eq!(slots.take(RunId(1)).unwrap_err(), Full::Server(3));
    }
}
