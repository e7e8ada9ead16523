//! The labels cc-ci puts on Docker objects, and the engine filters that select them. Labels are
//! the truth for cleanup: every object a run creates carries [`RUN`]`=<run id>`.

use std::collections::HashMap;

/// Label naming the run an object belongs to.
pub const RUN: &str = "cc-ci.run";
/// Label naming the CI's own infrastructure app an object belongs to (the proxy, a shared warm
/// dependency); never reaped.
pub const INFRA: &str = "cc-ci.infra";
/// Label naming the warm canonical copy (by its stack name) an object belongs to (never reaped).
pub const CANONICAL: &str = "cc-ci.canonical";
/// Label holding a unix time (seconds) until which the janitor keeps a run that is not live.
pub const KEEP_UNTIL: &str = "cc-ci.keep-until";
/// Docker's stack label, set by `docker stack deploy` on everything of a stack.
pub const STACK_NAMESPACE: &str = "com.docker.stack.namespace";
/// Label the engine sets on task containers: the full service name.
pub const SWARM_SERVICE_NAME: &str = "com.docker.swarm.service.name";

/// `label=<key>=<value>` engine filter.
pub fn filter_label(key: &str, value: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([("label".to_string(), vec![format!("{key}={value}")])])
}

/// `label=<key>` engine filter (objects carrying the label, any value).
pub fn filter_has_label(key: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([("label".to_string(), vec![key.to_string()])])
}

/// Filter selecting objects of one run.
pub fn filter_run(run_id: &str) -> HashMap<String, Vec<String>> {
    filter_label(RUN, run_id)
}

/// Filter selecting objects of one stack.
pub fn filter_stack(stack: &str) -> HashMap<String, Vec<String>> {
    filter_label(STACK_NAMESPACE, stack)
}
