//! What an alert records: its kind, what it is about (an app or recipe, versions), the message,
//! the release notes when they matter, when it happened, and its delivery to each sink.

use serde::{Deserialize, Serialize};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// An infrastructure update failed its health check and was rolled back.
    UpdateRolledBack,
    /// An infrastructure update was held by the safety gate (major bump, manual migration).
    UpdateHeld,
    /// A rollback itself left the app unhealthy.
    RollbackFailed,
    /// An infrastructure app's first install failed (there was nothing to roll back to).
    UpdateFailed,
    /// A sweep's cold run of a new release tag did not pass (the canonical copy stays).
    ReleaseFailed,
    /// Free disk space is below the configured floor; runs wait.
    DiskLow,
    /// The sweep could not do its work (mirror sync, forge or engine unreachable).
    SweepFailed,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::UpdateRolledBack,
        Kind::UpdateHeld,
        Kind::RollbackFailed,
        Kind::UpdateFailed,
        Kind::ReleaseFailed,
        Kind::DiskLow,
        Kind::SweepFailed,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::UpdateRolledBack => "update_rolled_back",
            Kind::UpdateHeld => "update_held",
            Kind::RollbackFailed => "rollback_failed",
            Kind::UpdateFailed => "update_failed",
            Kind::ReleaseFailed => "release_failed",
            Kind::DiskLow => "disk_low",
            Kind::SweepFailed => "sweep_failed",
        }
    }
}

/// An alert as raised.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAlert {
    pub app: Option<String>,
    pub recipe: Option<String>,
    pub from_version: Option<String>,
    pub to_version: Option<String>,
    pub message: String,
    pub release_notes: Option<String>,
}

/// Where one sink's delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    Pending,
    Delivered,
    /// Gave up after the last attempt.
    Failed,
}

/// The delivery of an alert to one sink.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// The sink's name.
    pub sink: String,
    pub state: DeliveryState,
    pub attempts: u32,
    /// Unix seconds before which no new attempt is made.
    pub next_attempt: u64,
    pub last_error: Option<String>,
}

/// A persisted alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    pub id: String,
    pub kind: Kind,
    /// RFC 3339.
    pub at: String,
    #[serde(flatten)]
    pub about: NewAlert,
    pub deliveries: Vec<Delivery>,
}

impl Alert {
    /// One line for people: `update_rolled_back proxy 1.0.0 → 1.1.0: <message>`.
    pub fn line(&self) -> String {
        let subject = self.about.app.as_deref().or(self.about.recipe.as_deref()).unwrap_or("cc-ci");
        let versions = match (&self.about.from_version, &self.about.to_version) {
            (Some(a), Some(b)) => format!(" {a} → {b}"),
            (None, Some(b)) => format!(" {b}"),
            _ => String::new(),
        };
        format!("{} {subject}{versions}: {}", self.kind.name(), self.about.message)
    }
}
