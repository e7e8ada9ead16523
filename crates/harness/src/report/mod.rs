//! The consumers of a run's events ([`crate::events`]) and the emitter that feeds them: every event
//! is redacted once, stamped with the time since the run started, and handed to each [`Sink`]:
//! [`LogFile`] (log.txt), [`Jsonl`] (events.jsonl), [`Terminal`] (live or plain progress and the
//! summary table) and [`Recorder`] (what result.json is built from).

mod jsonl;
mod log_file;
mod recorder;
mod terminal;

use std::sync::Arc;
use std::time::{Duration, Instant};

pub use jsonl::{read_jsonl, Jsonl, EVENTS_FILE};
pub use log_file::LogFile;
pub use recorder::Recorder;
pub use terminal::{for_stderr, is_ci, mode, summary, Mode, Terminal};

use crate::events::{Event, Step};
use crate::redact::Redactor;
use crate::result::Tier;

/// A consumer of a run's events. `at` is the time since the run started; events arrive redacted.
pub trait Sink: Send + Sync {
    fn event(&self, at: Duration, event: &Event);
}

/// The run's event emitter (cheap to clone): redacts, stamps and fans out.
#[derive(Clone)]
pub struct Events {
    inner: Arc<Inner>,
}

struct Inner {
    redactor: Redactor,
    sinks: Vec<Arc<dyn Sink>>,
    started: Instant,
}

impl Events {
    pub fn new(redactor: Redactor, sinks: Vec<Arc<dyn Sink>>) -> Self {
        Self { inner: Arc::new(Inner { redactor, sinks, started: Instant::now() }) }
    }

    /// The run's redactor: register every secret value with it as soon as it exists.
    pub fn redactor(&self) -> &Redactor {
        &self.inner.redactor
    }

    /// Hand `event`, redacted, to every sink.
    pub fn emit(&self, event: Event) {
        let at = self.inner.started.elapsed();
        let clean = redact_event(&self.inner.redactor, event);
        for sink in &self.inner.sinks {
            sink.event(at, &clean);
        }
    }

    /// A step of `tier` (or of the run).
    pub fn step(&self, tier: Option<Tier>, step: Step) {
        self.emit(Event::Step { tier, step });
    }

    /// A free-text step of `tier` (or of the run).
    pub fn note(&self, tier: Option<Tier>, text: impl Into<String>) {
        self.step(tier, Step::Note { text: text.into() });
    }

    /// Command output for the log (nothing when it is blank).
    pub fn output(&self, tier: Option<Tier>, text: &str) {
        if !text.trim().is_empty() {
            self.emit(Event::Output { tier, text: text.trim_end().to_string() });
        }
    }
}

/// Every string inside `event` with the registered secret values masked.
fn redact_event(redactor: &Redactor, event: Event) -> Event {
    fn walk(redactor: &Redactor, v: &mut serde_json::Value) {
        match v {
            serde_json::Value::String(s) => *s = redactor.redact(s),
            serde_json::Value::Array(items) => items.iter_mut().for_each(|i| walk(redactor, i)),
            serde_json::Value::Object(map) => map.values_mut().for_each(|i| walk(redactor, i)),
            _ => {}
        }
    }
    let Ok(mut value) = serde_json::to_value(&event) else { return event };
    walk(redactor, &mut value);
    serde_json::from_value(value).unwrap_or(event)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Keeps every event it is given.
    #[derive(Default)]
    pub struct Collect(pub Mutex<Vec<Event>>);

    impl Sink for Collect {
        fn event(&self, _: Duration, event: &Event) {
            self.0.lock().unwrap().push(event.clone());
        }
    }

    #[test]
    fn every_sink_sees_each_event_once_and_redacted() {
        let redactor = Redactor::new();
        let (a, b) = (Arc::new(Collect::default()), Arc::new(Collect::default()));
        let events = Events::new(redactor.clone(), vec![a.clone(), b.clone()]);
        redactor.register("hunter2-secret");
        events.note(Some(Tier::Install), "the password is hunter2-secret");
        events.output(None, "   \n");
        for sink in [&a, &b] {
            let seen = sink.0.lock().unwrap();
            assert_eq!(seen.len(), 1, "{seen:?}");
            assert_eq!(seen[0].line(), "the password is [redacted]");
        }
    }
}
