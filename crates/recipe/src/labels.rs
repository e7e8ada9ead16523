//! Reading a service's `deploy.labels`, which compose allows as a list of `key=value` strings or
//! as a map; raw files use both, rendered documents use the map.

use serde_norway::Value;

/// The `deploy.labels` of a service definition as (key, value) pairs, in document order.
pub fn deploy_labels(service: &Value) -> Vec<(String, String)> {
    let scalar = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    match service.get("deploy").and_then(|d| d.get("labels")) {
        Some(Value::Sequence(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(|l| match l.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (l.to_string(), String::new()),
            })
            .collect(),
        Some(Value::Mapping(map)) => {
            map.iter().filter_map(|(k, v)| Some((k.as_str()?.to_string(), scalar(v)))).collect()
        }
        _ => Vec::new(),
    }
}

/// The value of label `key` on a service, if set.
pub fn label<'a>(labels: &'a [(String, String)], key: &str) -> Option<&'a str> {
    labels.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_and_map_forms() {
        let list: Value = serde_norway::from_str("deploy: {labels: [\"a=1\", \"b=x=y\", c]}").unwrap();
        assert_eq!(
            deploy_labels(&list),
            [("a".into(), "1".into()), ("b".into(), "x=y".into()), ("c".into(), String::new())]
        );
        let map: Value = serde_norway::from_str("deploy: {labels: {backupbot.backup: true, n: 3}}").unwrap();
        let labels = deploy_labels(&map);
        assert_eq!(label(&labels, "backupbot.backup"), Some("true"));
        assert_eq!(label(&labels, "n"), Some("3"));
    }
}
