//! Pulling an app's images before the convergence clock starts (SPEC D4, D8), with the engine's
//! progress told as steps: attempts, retries with the registry's answer, a line at each quarter
//! of the bytes, and the time each pull took. A pull failure is an error (the infrastructure is
//! at fault), classified by the engine's typed error.

use std::collections::HashMap;

use swarm::PullEvent;

use crate::app::App;
use crate::deploy::Deployer;
use crate::events::Step;
use crate::outcome::TierEnd;
use crate::result::Tier;

/// Pull `app`'s images under the run's pull options.
pub async fn pull_images(ctx: &Deployer<'_>, app: &App, tier: Tier) -> Result<(), TierEnd> {
    let mut quarters: HashMap<String, u8> = HashMap::new();
    let mut on_event = |event: PullEvent| {
        let step = match event {
            PullEvent::Present { image } | PullEvent::UpToDate { image, .. } => Step::ImageReady { image },
            PullEvent::Started { image, attempt } => Step::Pulling { image, attempt },
            PullEvent::Retrying { image, attempt, wait, answer } => {
                Step::PullRetrying { image, attempt, wait_seconds: wait.as_secs_f64(), answer }
            }
            PullEvent::Pulled { image, elapsed } => Step::Pulled { image, seconds: elapsed.as_secs_f64() },
            PullEvent::Progress { image, current: Some(current), total: Some(total), .. } if total > 0 => {
                let quarter = u8::try_from((current.clamp(0, total) * 4 / total).min(4)).unwrap_or(0);
                let seen = quarters.entry(image.clone()).or_insert(0);
                if quarter <= *seen || quarter == 4 {
                    return;
                }
                *seen = quarter;
                Step::PullProgress { image, percent: quarter * 25 }
            }
            PullEvent::Progress { .. } => return,
        };
        ctx.events.step(Some(tier), step);
    };
    ctx.engine.pull_images(&app.doc, &ctx.options.pull, &mut on_event).await?;
    Ok(())
}
