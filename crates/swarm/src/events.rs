//! The engine's event stream, narrowed to what concerns one stack, as a source of "something
//! changed, look again" signals. Docker has no task events and does not label service events,
//! so the stream is filtered client-side: service events by name prefix, container events by the
//! stack namespace label.

use std::collections::HashMap;

use bollard::models::{EventMessage, EventMessageTypeEnum};
use bollard::query_parameters::EventsOptions;
use futures_util::Stream;

use crate::labels::STACK_NAMESPACE;
use crate::Swarm;

impl Swarm {
    /// Subscribe to service, container, network and volume events from now on.
    pub(crate) fn object_events(
        &self,
    ) -> impl Stream<Item = Result<EventMessage, bollard::errors::Error>> + Unpin + use<> {
        let filters = HashMap::from([(
            "type".to_string(),
            vec!["service".to_string(), "container".to_string(), "network".to_string(), "volume".to_string()],
        )]);
        Box::pin(self.docker.events(Some(EventsOptions { filters: Some(filters), ..Default::default() })))
    }
}

/// Whether an event is about an object of `stack` (a service named `<stack>_...` or a container
/// carrying the stack's namespace label).
pub(crate) fn concerns_stack(ev: &EventMessage, stack: &str) -> bool {
    let Some(attrs) = ev.actor.as_ref().and_then(|a| a.attributes.as_ref()) else {
        return false;
    };
    match ev.typ {
        Some(EventMessageTypeEnum::SERVICE) => {
            attrs.get("name").is_some_and(|n| n.strip_prefix(stack).is_some_and(|rest| rest.starts_with('_')))
        }
        Some(EventMessageTypeEnum::CONTAINER) => attrs.get(STACK_NAMESPACE).is_some_and(|s| s == stack),
        _ => false,
    }
}

/// Delays between looks after an event, then the safety-net interval.
const FOLLOW_UPS: [std::time::Duration; 4] = [
    std::time::Duration::from_millis(100),
    std::time::Duration::from_millis(200),
    std::time::Duration::from_millis(700),
    std::time::Duration::from_millis(1000),
];
const SAFETY_NET: std::time::Duration = std::time::Duration::from_secs(5);

impl Swarm {
    /// Call `check` until it reports nothing remaining, looking again on every service,
    /// container, network or volume event (plus short follow-ups and a 5 s safety net), until
    /// `deadline`. Returns what remained at the deadline (empty on success).
    pub(crate) async fn wait_until_none<F, Fut>(
        &self,
        deadline: tokio::time::Instant,
        mut check: F,
    ) -> crate::Result<Vec<String>>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = crate::Result<Vec<String>>>,
    {
        use futures_util::StreamExt;
        let mut events = self.object_events();
        let mut follow_up = 0usize;
        loop {
            let remaining = check().await?;
            if remaining.is_empty() || tokio::time::Instant::now() >= deadline {
                return Ok(remaining);
            }
            let next = tokio::time::Instant::now() + FOLLOW_UPS.get(follow_up).copied().unwrap_or(SAFETY_NET);
            follow_up += 1;
            tokio::select! {
                ev = events.next() => match ev {
                    Some(Ok(_)) => follow_up = 0,
                    Some(Err(_)) | None => events = self.object_events(),
                },
                _ = tokio::time::sleep_until(next.min(deadline)) => {}
            }
        }
    }
}
