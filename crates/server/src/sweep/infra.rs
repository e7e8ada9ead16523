//! The sweep's first step (SPEC S2, I1): bring the infrastructure apps (the proxy, warm
//! dependencies) up to date, health-gated. The sweep only calls [`InfraUpdates::update_all`] —
//! while it holds the queue closed, so no run starts meanwhile — and reports what it says; the
//! updates themselves live with the infrastructure apps. With nothing wired
//! (`Sweeper::infra` is `None`), the report says "not configured".

use serde::{Deserialize, Serialize};

/// What one infrastructure app's update did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InfraStep {
    /// The app (`proxy`, a warm dependency's name).
    pub app: String,
    /// What happened, for people: "3.6.15 → 3.7.15, healthy", "held: major bump", "rolled back …".
    pub summary: String,
    /// False when it needs a person (held, rolled back, failed); such a step also raised an alert.
    pub ok: bool,
}

/// The infrastructure step of a sweep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum InfraReport {
    /// No updater wired into this server.
    NotConfigured,
    /// The updater ran; one step per app.
    Updated { steps: Vec<InfraStep> },
    /// The updater could not run at all.
    Failed { error: String },
}

impl InfraReport {
    /// One line for people.
    pub fn summary(&self) -> String {
        match self {
            InfraReport::NotConfigured => "not configured".into(),
            InfraReport::Updated { steps } if steps.is_empty() => "no infrastructure apps".into(),
            InfraReport::Updated { steps } => {
                steps.iter().map(|s| format!("{}: {}", s.app, s.summary)).collect::<Vec<_>>().join("; ")
            }
            InfraReport::Failed { error } => format!("failed: {error}"),
        }
    }
}

/// Updates every infrastructure app (the call point of the sweep's infrastructure step).
#[async_trait::async_trait]
pub trait InfraUpdates: Send + Sync {
    /// Update each infrastructure app that has a newer release, health-gated, rolling back (and
    /// alerting) where needed; one step per app. `Err` only when nothing could be tried.
    async fn update_all(&self) -> Result<Vec<InfraStep>, String>;
}

/// The infrastructure step with `updater` (or without one).
pub async fn run(updater: Option<&dyn InfraUpdates>) -> InfraReport {
    match updater {
        None => InfraReport::NotConfigured,
        Some(updater) => match updater.update_all().await {
            Ok(steps) => InfraReport::Updated { steps },
            Err(error) => InfraReport::Failed { error },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(Result<Vec<InfraStep>, String>);

    #[async_trait::async_trait]
    impl InfraUpdates for Fixed {
        async fn update_all(&self) -> Result<Vec<InfraStep>, String> {
            self.0.clone()
        }
    }

    #[tokio::test]
    async fn the_step_reports_what_the_updater_says_or_that_none_is_wired() {
        assert_eq!(run(None).await, InfraReport::NotConfigured);
        assert_eq!(run(None).await.summary(), "not configured");
        let step = |app: &str, summary: &str, ok| InfraStep { app: app.into(), summary: summary.into(), ok };
        let updated =
            Fixed(Ok(vec![step("proxy", "3.6.15 → 3.7.15, healthy", true), step("db", "held: major bump", false)]));
        let report = run(Some(&updated)).await;
        assert_eq!(report.summary(), "proxy: 3.6.15 → 3.7.15, healthy; db: held: major bump");
        assert_eq!(run(Some(&Fixed(Ok(Vec::new())))).await.summary(), "no infrastructure apps");
        let failed = run(Some(&Fixed(Err("the engine does not answer".into())))).await;
        assert_eq!(failed, InfraReport::Failed { error: "the engine does not answer".into() });
    }
}
