//! The upgrade tier (T1): install has deployed the base release; write a data marker, deploy the
//! ref under test in place (same stack; new secrets created), converge, check that the version
//! label on `app` moved from the base to the target, serve, and check the marker survived.
//!
//! A crash after the upgrade or a swarm rollback fails the tier naming the service (from the
//! convergence error). The version label is `coop-cloud.<stack>.version`, or the older per-service
//! `coop-cloud.<stack>.app.version` (`<tag>-<digest8>`); an unreleased ref keeps the last
//! release's label, so there the `coop-cloud.<stack>.chaos-version` label must show the ref.

use std::collections::HashMap;

use crate::app::App;
use crate::backupbot::service_labels;
use crate::context::RunContext;
use crate::deploy::{check_serving, deploy_and_converge};
use crate::events::{Role, Step};
use crate::marker_steps;
use crate::outcome::TierEnd;
use crate::result::Tier;

const TIER: Tier = Tier::Upgrade;

/// The version a deployment of `stack` carries in labels: `(version, chaos version)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionLabels {
    pub version: Option<String>,
    pub chaos: Option<String>,
}

impl VersionLabels {
    /// Read from a label map (the running service's or the document's).
    pub fn read<'a>(stack: &str, get: impl Fn(&str) -> Option<&'a String>) -> Self {
        let version = get(&format!("coop-cloud.{stack}.version"))
            .or_else(|| get(&format!("coop-cloud.{stack}.app.version")))
            .cloned();
        VersionLabels { version, chaos: get(&format!("coop-cloud.{stack}.chaos-version")).cloned() }
    }

    pub fn show(&self) -> String {
        let v = self.version.as_deref().unwrap_or("(no version label)");
        match &self.chaos {
            Some(c) => format!("{v} (chaos {c})"),
            None => v.to_string(),
        }
    }

    /// Whether the running labels (`self`) show the deployment of `expected`.
    fn shows(&self, expected: &VersionLabels) -> bool {
        // Older per-service labels carry `-<digest8>` after the tag.
        let same_version = match (&self.version, &expected.version) {
            (Some(a), Some(b)) => a == b || a.starts_with(&format!("{b}-")),
            (None, None) => true,
            _ => false,
        };
        same_version && self.chaos == expected.chaos
    }
}

fn expected(app: &App) -> VersionLabels {
    let labels = service_labels(&app.doc, "app");
    VersionLabels::read(&app.stack, |k| labels.get(k))
}

async fn running(ctx: &RunContext<'_>) -> Result<VersionLabels, TierEnd> {
    let labels: HashMap<String, String> = ctx.engine.service_labels(&ctx.app.stack, "app").await?;
    Ok(VersionLabels::read(&ctx.app.stack, |k| labels.get(k)))
}

/// Upgrade in place from the base release to the ref under test.
pub async fn run(ctx: &RunContext<'_>) -> Result<String, TierEnd> {
    let base = ctx.base.ok_or_else(|| TierEnd::error("no base release was prepared for the upgrade"))?;
    let before = running(ctx).await?;
    let target = expected(ctx.app);
    ctx.events.step(Some(TIER), Step::Upgrading { from: base.version.clone(), to: target.show() });
    if !before.shows(&expected(&base.app)) {
        ctx.events.note(Some(TIER), format!("note: the running app is labelled {} before the upgrade", before.show()));
    }
    marker_steps::write(ctx, &base.app, TIER, "upgrade").await?;
    let converged = deploy_and_converge(ctx, ctx.app, Role::Target, TIER, ctx.timeout).await?;
    let after = running(ctx).await?;
    if !after.shows(&target) {
        return Err(TierEnd::fail(format!(
            "the app's version label is {} after the upgrade, expected {}",
            after.show(),
            target.show()
        )));
    }
    if after == before {
        return Err(TierEnd::fail(format!("the app's version label did not change: still {}", after.show())));
    }
    ctx.events.step(Some(TIER), Step::VersionChanged { from: before.show(), to: after.show() });
    let served = check_serving(&ctx.deployer(), ctx.app, ctx.config.ready.as_ref(), TIER, ctx.timeout).await?;
    let marker = marker_steps::check(ctx, ctx.app, TIER, "upgrade").await?;
    Ok(format!(
        "{} → {}; converged in {:.1}s; {} answered {}{}",
        base.version,
        after.show(),
        converged.as_secs_f64(),
        served.url,
        served.status,
        if marker { "; data marker survived" } else { "" }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn current_and_older_labels_are_read() {
        let l = labels(&[("coop-cloud.s.version", "1.1.0+1.36")]);
        assert_eq!(VersionLabels::read("s", |k| l.get(k)).version.as_deref(), Some("1.1.0+1.36"));
        let old = labels(&[("coop-cloud.s.app.version", "1.1.0+1.36-0123abcd")]);
        let read = VersionLabels::read("s", |k| old.get(k));
        let want = VersionLabels { version: Some("1.1.0+1.36".into()), chaos: None };
        assert!(read.shows(&want));
        assert!(!read.shows(&VersionLabels { version: Some("1.1.0+1.35".into()), chaos: None }));
    }

    #[test]
    fn an_unreleased_ref_is_told_by_its_chaos_version() {
        let base = VersionLabels { version: Some("1.1.0+1.36".into()), chaos: None };
        let next = VersionLabels { version: Some("1.1.0+1.36".into()), chaos: Some("abc1234".into()) };
        assert!(!base.shows(&next));
        assert!(next.shows(&next));
        assert_ne!(base, next);
    }
}
