//! Delivering alerts: every pending delivery whose time has come is attempted; a failure is
//! retried with doubling backoff ([`RETRY_BACKOFF`]) up to [`MAX_ATTEMPTS`], then marked failed.
//! [`Deliverer::spawn`] runs it in the background, woken when an alert is raised
//! ([`Deliverer::raise`]), so raising one never waits for a receiver. A pass over the alerts holds
//! the store's delivery lock (an `flock`), so the server and a `ccci` command delivering from the
//! same data dir never send one alert twice.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::Notify;

use crate::record::{Alert, DeliveryState, Kind, NewAlert};
use crate::sink::Sink;
use crate::store::AlertStore;

/// The wait after the first failed attempt; it doubles after each further one.
pub const RETRY_BACKOFF: Duration = Duration::from_secs(5);
/// How often an idle [`Deliverer::run`] looks for alerts other processes left pending.
pub const IDLE_LOOK: Duration = Duration::from_secs(60);
/// Attempts per sink before a delivery is given up.
const MAX_ATTEMPTS: u32 = 8;
/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(600);

/// Pushes pending alerts to their sinks.
#[derive(Clone)]
pub struct Deliverer {
    store: AlertStore,
    sinks: Arc<Vec<Sink>>,
    client: reqwest::Client,
    wake: Arc<Notify>,
    first_backoff: Duration,
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl Deliverer {
    pub fn new(store: AlertStore, sinks: Vec<Sink>) -> Self {
        Self::with_backoff(store, sinks, RETRY_BACKOFF)
    }

    /// A deliverer whose first retry waits `first_backoff` (tests use a short one).
    pub fn with_backoff(store: AlertStore, sinks: Vec<Sink>, first_backoff: Duration) -> Self {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap_or_default();
        Deliverer { store, sinks: Arc::new(sinks), client, wake: Arc::new(Notify::new()), first_backoff }
    }

    /// Tell the background task an alert was raised.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Record a new alert, pending for every sink, and wake the background delivery; returns at
    /// once (a receiver that is down is retried later, never waited for here).
    pub fn raise(&self, kind: Kind, about: NewAlert) -> std::io::Result<Alert> {
        let alert = self.store.raise(kind, about, &self.sinks)?;
        self.wake();
        Ok(alert)
    }

    /// Attempt every delivery that is due; returns how many are still pending.
    pub async fn deliver_due(&self) -> usize {
        // Without the lock (the data dir unwritable) a pass could race another process's: none.
        let Ok(_lock) = self.store.delivery_lock().await else { return 0 };
        let mut pending = 0;
        for mut alert in self.store.list() {
            let mut changed = false;
            for i in 0..alert.deliveries.len() {
                let d = &alert.deliveries[i];
                if d.state != DeliveryState::Pending {
                    continue;
                }
                if d.next_attempt > now() {
                    pending += 1;
                    continue;
                }
                let Some(sink) = self.sinks.iter().find(|s| s.name == d.sink) else { continue };
                let result = sink.push(&self.client, &alert).await;
                let d = &mut alert.deliveries[i];
                d.attempts += 1;
                changed = true;
                match result {
                    Ok(()) => {
                        d.state = DeliveryState::Delivered;
                        d.last_error = None;
                    }
                    Err(why) => {
                        d.last_error = Some(why);
                        if d.attempts >= MAX_ATTEMPTS {
                            d.state = DeliveryState::Failed;
                        } else {
                            let wait = (self.first_backoff * 2u32.pow(d.attempts - 1)).min(MAX_BACKOFF);
                            d.next_attempt = now() + wait.as_secs().max(1);
                            pending += 1;
                        }
                    }
                }
            }
            if changed {
                let _ = self.store.save(&alert);
            }
        }
        pending
    }

    /// Deliver until dropped: at once when woken, again when a retry falls due, and every
    /// [`IDLE_LOOK`] otherwise, for alerts another process (a `ccci` command sharing the data dir)
    /// raised but could not deliver. Never ends on its own.
    pub async fn run(self) {
        loop {
            let pending = self.deliver_due().await;
            let wait = if pending > 0 { Duration::from_secs(1) } else { IDLE_LOOK };
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// [`Deliverer::run`] in the background until the process ends.
    pub fn spawn(&self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(self.clone().run())
    }
}
