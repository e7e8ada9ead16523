//! What result.json is built from: the recorder keeps each finished tier, every kept artifact and
//! a teardown failure as the events arrive, so the result says exactly what the stream said.

use std::sync::Mutex;
use std::time::Duration;

use super::Sink;
use crate::events::Event;
use crate::result::{Artifact, TierResult};

/// Collects the parts of the run's result.
#[derive(Default)]
pub struct Recorder {
    seen: Mutex<Recorded>,
}

/// What the recorder has seen so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Recorded {
    pub tiers: Vec<TierResult>,
    pub artifacts: Vec<Artifact>,
    pub teardown_error: Option<String>,
}

impl Recorder {
    /// A copy of what was recorded.
    pub fn recorded(&self) -> Recorded {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Sink for Recorder {
    fn event(&self, _: Duration, event: &Event) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        match event {
            Event::TierFinished { result } => seen.tiers.push(result.clone()),
            Event::ArtifactKept { artifact } => seen.artifacts.push(artifact.clone()),
            Event::TeardownFailed { error } => seen.teardown_error = Some(error.clone()),
            _ => {}
        }
    }
}
