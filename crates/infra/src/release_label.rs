//! The release an infrastructure app runs, as a label on its containers
//! ([`RELEASE_LABEL`]`=<version>`): deploying another release then always replaces the tasks,
//! and the convergence check tells the new tasks from the old ones by it. Without it, a release
//! that changes nothing else the engine reports about a task's container (only service labels,
//! or only the healthcheck, which the Docker client library leaves out of task specs) looked
//! converged the moment it was deployed, with the old release's task still serving.

use serde_norway::Value;

use crate::{Error, Result};

/// The container label naming the release.
pub const RELEASE_LABEL: &str = "cc-ci.infra.release";

/// Label the containers of every service of `doc` with release `version`.
pub fn label_containers(doc: &mut Value, version: &str) -> Result<()> {
    let services = doc
        .get_mut("services")
        .and_then(Value::as_mapping_mut)
        .ok_or_else(|| Error::Recipe("the recipe's compose file has no services".into()))?;
    for (_, service) in services.iter_mut() {
        let service = service.as_mapping_mut().ok_or_else(|| Error::Recipe("a service is not a mapping".into()))?;
        set(service.entry("labels".into()).or_insert(Value::Null), RELEASE_LABEL, version);
    }
    Ok(())
}

/// Set `key=value` in a compose `labels` entry, whichever form it has (a mapping, a list of
/// `key=value`, or nothing yet).
pub fn set(labels: &mut Value, key: &str, value: &str) {
    match labels {
        Value::Mapping(m) => {
            m.insert(key.into(), value.into());
        }
        Value::Sequence(items) => {
            items.retain(|i| i.as_str().is_none_or(|s| s.split_once('=').map_or(s, |(k, _)| k) != key));
            items.push(format!("{key}={value}").into());
        }
        _ => *labels = Value::Mapping([(key.into(), value.into())].into_iter().collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_service_s_containers_carry_the_release() {
        let mut doc: Value = serde_norway::from_str(
            "services:\n  app:\n    image: a\n    labels: [x=1, cc-ci.infra.release=0.9.0]\n  db:\n    image: b\n  \
             web:\n    image: c\n    labels: {y: '2'}\n",
        )
        .unwrap();
        label_containers(&mut doc, "1.2.0+1.36").unwrap();
        let labels = |s: &str| serde_norway::to_string(&doc["services"][s]["labels"]).unwrap();
        assert_eq!(labels("app"), "- x=1\n- cc-ci.infra.release=1.2.0+1.36\n");
        assert_eq!(labels("db"), "cc-ci.infra.release: 1.2.0+1.36\n");
        assert_eq!(labels("web"), "y: '2'\ncc-ci.infra.release: 1.2.0+1.36\n");
        assert!(label_containers(&mut Value::Null, "1").is_err());
    }
}
