//! Alerts (SPEC I3): whatever needs a person — an infrastructure update that was rolled back or
//! held, a seed or sweep run that failed, the disk below its floor — becomes an [`Alert`]: a JSON
//! record under `<data dir>/alerts/` ([`AlertStore`]), then pushed to each configured [`Sink`]
//! (a generic JSON webhook, or an ntfy-style plain-text POST) by a [`Deliverer`], which retries
//! with backoff and never blocks whoever raised the alert. Each record keeps its delivery state
//! per sink, so a restart resumes what was not delivered and nothing is delivered twice.

mod deliver;
mod record;
mod sink;
mod store;

pub use deliver::{Deliverer, RETRY_BACKOFF};
pub use record::{Alert, Delivery, DeliveryState, Kind, NewAlert};
pub use sink::{Sink, SinkKind};
pub use store::AlertStore;
