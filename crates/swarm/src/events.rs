//! The engines' event streams, narrowed to what concerns one stack, as a source of "something
//! changed, look again" signals. Docker has no task events and does not label service events,
//! so the stream is filtered client-side: service events by name prefix, container events by the
//! stack namespace label. Containers and volumes report on the engine of their own node, so every
//! node engine cc-ci talks to is subscribed and the streams are merged; a stream that breaks
//! (its engine restarted, stopped or timed out) says so once ([`Signal::Broken`]).

use std::collections::HashMap;

use bollard::models::{EventMessage, EventMessageTypeEnum};
use bollard::query_parameters::EventsOptions;
use futures_util::stream::{self, BoxStream, SelectAll};
use futures_util::StreamExt;

use crate::labels::STACK_NAMESPACE;
use crate::Swarm;

/// One item of the merged streams.
pub(crate) enum Signal {
    /// An event from a node engine.
    Event(EventMessage),
    /// The stream of the node engine at this index of [`Swarm::node_engines`] ended or failed.
    Broken(usize),
}

/// The merged event streams of every node engine.
pub(crate) struct NodeEvents {
    streams: SelectAll<BoxStream<'static, Signal>>,
}

impl NodeEvents {
    /// The next signal; `None` only when no stream is left.
    pub(crate) async fn next(&mut self) -> Option<Signal> {
        self.streams.next().await
    }
}

impl Swarm {
    /// Subscribe to service, container, network and volume events from now on, on every node
    /// engine.
    pub(crate) fn object_events(&self) -> NodeEvents {
        let mut streams = SelectAll::new();
        for index in 0..self.node_engines().len() {
            streams.push(self.engine_events(index));
        }
        NodeEvents { streams }
    }

    /// Subscribe again to the events of node engine `index` (after its stream broke).
    pub(crate) fn resubscribe(&self, events: &mut NodeEvents, index: usize) {
        events.streams.push(self.engine_events(index));
    }

    fn engine_events(&self, index: usize) -> BoxStream<'static, Signal> {
        let filters = HashMap::from([(
            "type".to_string(),
            vec!["service".to_string(), "container".to_string(), "network".to_string(), "volume".to_string()],
        )]);
        let docker = self.node_engines()[index].docker.clone();
        docker
            .events(Some(EventsOptions { filters: Some(filters), ..Default::default() }))
            .take_while(|item| std::future::ready(item.is_ok()))
            .filter_map(|item| std::future::ready(item.ok().map(Signal::Event)))
            .chain(stream::once(std::future::ready(Signal::Broken(index))))
            .boxed()
    }

    /// After stream `index` broke: subscribe again if its engine still answers, else `Err` with
    /// why it does not (the stream then stays closed).
    pub(crate) async fn recover_events(&self, events: &mut NodeEvents, index: usize) -> Result<(), String> {
        crate::nodes::still_there(&self.node_engines()[index]).await?;
        self.resubscribe(events, index);
        Ok(())
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
    /// container, network or volume event of any node (plus short follow-ups and a 5 s safety
    /// net), until `deadline`. Returns what remained at the deadline (empty on success).
    pub(crate) async fn wait_until_none<F, Fut>(
        &self,
        deadline: tokio::time::Instant,
        mut check: F,
    ) -> crate::Result<Vec<String>>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = crate::Result<Vec<String>>>,
    {
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
                signal = events.next() => match signal {
                    Some(Signal::Event(_)) => follow_up = 0,
                    // The next check fails with the engine's own error if it is really gone.
                    Some(Signal::Broken(index)) => { let _ = self.recover_events(&mut events, index).await; }
                    None => tokio::time::sleep_until(next.min(deadline)).await,
                },
                _ = tokio::time::sleep_until(next.min(deadline)) => {}
            }
        }
    }
}
