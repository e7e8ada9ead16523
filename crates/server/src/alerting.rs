//! Raising alerts from the server's parts (SPEC I3): the record goes into the data dir's
//! [`AlertStore`] at once, pending for every configured sink, and the [`Deliverer`] is woken to
//! push it in the background, so whoever raises one never waits for a receiver. Each alert is
//! also a line in the server's event log.

use std::path::Path;

use alerts::{AlertStore, Deliverer, Kind, NewAlert, Sink};

use crate::events::Events;

/// Raises alerts; cheap to clone.
#[derive(Clone)]
pub struct Alerting {
    store: AlertStore,
    sinks: Vec<Sink>,
    deliverer: Deliverer,
    events: Events,
}

impl Alerting {
    /// Alerts under `data_dir`, for `sinks` (none: recorded and shown only).
    pub fn new(data_dir: &Path, sinks: Vec<Sink>, events: Events) -> Alerting {
        let store = AlertStore::new(data_dir);
        let deliverer = Deliverer::new(store.clone(), sinks.clone());
        Alerting { store, sinks, deliverer, events }
    }

    /// The records.
    pub fn store(&self) -> &AlertStore {
        &self.store
    }

    /// The deliverer, for the server to run in the background.
    pub fn deliverer(&self) -> &Deliverer {
        &self.deliverer
    }

    /// Records an alert of `kind` and wakes its delivery.
    pub fn raise(&self, kind: Kind, about: NewAlert) {
        match self.store.raise(kind, about, &self.sinks) {
            Ok(alert) => {
                self.events.log(format!("alert: {}", alert.line()));
                if !self.sinks.is_empty() {
                    self.deliverer.wake();
                }
            }
            Err(e) => self.events.log(format!("cannot record an alert ({}): {e}", kind.name())),
        }
    }
}
