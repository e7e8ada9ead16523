//! Pure transformations of a merged, interpolated compose document before it is handed to
//! `docker stack deploy`: run labels on everything the stack creates, `endpoint_mode: dnsrr` for
//! engines without IPVS (D7), `$` escaping, absolute config/secret file paths, and the list of
//! images the services need. No I/O here.

use std::path::Path;

use serde_norway::{Mapping, Value};

use crate::error::{Error, Result};
use crate::labels::RUN;

fn key(s: &str) -> Value {
    Value::String(s.to_string())
}

fn top_mut<'a>(doc: &'a mut Value, section: &str) -> Result<Option<&'a mut Mapping>> {
    let root = doc.as_mapping_mut().ok_or_else(|| Error::InvalidDocument("the document is not a mapping".into()))?;
    match root.get_mut(section) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Mapping(m)) => Ok(Some(m)),
        Some(_) => Err(Error::InvalidDocument(format!("`{section}` is not a mapping"))),
    }
}

/// Make `entry` a mapping (a `null` entry like `networks: {backend: }` becomes `{}`) and return it.
fn entry_mapping<'a>(entry: &'a mut Value, what: &str) -> Result<&'a mut Mapping> {
    if entry.is_null() {
        *entry = Value::Mapping(Mapping::new());
    }
    entry.as_mapping_mut().ok_or_else(|| Error::InvalidDocument(format!("{what} is not a mapping")))
}

/// Set `name=value` in a compose `labels` value, which may be absent, a mapping, or a list of
/// `key=value` strings (the list form is kept).
fn set_label(labels: &mut Value, name: &str, value: &str, what: &str) -> Result<()> {
    match labels {
        Value::Null => {
            let mut m = Mapping::new();
            m.insert(key(name), key(value));
            *labels = Value::Mapping(m);
        }
        Value::Mapping(m) => {
            m.insert(key(name), key(value));
        }
        Value::Sequence(items) => {
            items.retain(|item| item.as_str().is_none_or(|s| s.split('=').next() != Some(name)));
            items.push(key(&format!("{name}={value}")));
        }
        _ => return Err(Error::InvalidDocument(format!("{what}: labels are not a mapping or list"))),
    }
    Ok(())
}

fn is_external(entry: &Value) -> bool {
    match entry.get("external") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        // `external: {name: ...}` (old syntax) means external.
        Some(Value::Mapping(_)) => true,
        Some(Value::String(s)) => s == "true",
        Some(_) => false,
    }
}

/// Label everything the stack will create with `cc-ci.run=<run_id>`: every service's
/// `deploy.labels` (service labels) and `labels` (container labels), and the `labels` of every
/// non-external network, volume, config and secret. The implicit `default` network is declared
/// (with the label) when the document does not declare it, so that it is labelled too; Docker
/// only creates it when a service uses it.
pub fn label_run(doc: &mut Value, run_id: &str) -> Result<()> {
    add_labels(doc, &[(RUN, run_id)])
}

/// Like [`label_run`] but with any set of labels (e.g. also `cc-ci.keep-until`).
pub fn add_labels(doc: &mut Value, labels: &[(&str, &str)]) -> Result<()> {
    if let Some(services) = top_mut(doc, "services")? {
        for (name, svc) in services.iter_mut() {
            let what = format!("service {}", name.as_str().unwrap_or("?"));
            let svc = entry_mapping(svc, &what)?;
            let container_labels = svc.entry(key("labels")).or_insert(Value::Null);
            for (k, v) in labels {
                set_label(container_labels, k, v, &what)?;
            }
            let deploy = entry_mapping(svc.entry(key("deploy")).or_insert(Value::Null), &what)?;
            let service_labels = deploy.entry(key("labels")).or_insert(Value::Null);
            for (k, v) in labels {
                set_label(service_labels, k, v, &what)?;
            }
        }
    }
    {
        let root = doc.as_mapping_mut().expect("checked by top_mut");
        let networks = root.entry(key("networks")).or_insert(Value::Null);
        let networks = entry_mapping(networks, "networks")?;
        networks.entry(key("default")).or_insert(Value::Null);
    }
    for section in ["networks", "volumes", "configs", "secrets"] {
        if let Some(entries) = top_mut(doc, section)? {
            for (name, entry) in entries.iter_mut() {
                if is_external(entry) {
                    continue;
                }
                let what = format!("{section} {}", name.as_str().unwrap_or("?"));
                let entry = entry_mapping(entry, &what)?;
                let l = entry.entry(key("labels")).or_insert(Value::Null);
                for (k, v) in labels {
                    set_label(l, k, v, &what)?;
                }
            }
        }
    }
    Ok(())
}

/// D7: set `deploy.endpoint_mode: dnsrr` on every service, so that a service name resolves to its
/// tasks' IPs (no virtual IP, which needs IPVS).
///
/// Docker rejects `dnsrr` together with ports published in the default `ingress` mode ("port
/// published with ingress mode can't be used with dnsrr mode"), so every published port is
/// **converted to `mode: host`** (published on the node running the task; the long syntax is
/// used, short forms like `"8080:80/udp"` and ranges are expanded). They are converted rather
/// than dropped so that a recipe that publishes a port still publishes it; the cost is that two
/// concurrent runs publishing the same host port cannot both be scheduled on one node.
pub fn use_dnsrr(doc: &mut Value) -> Result<()> {
    let Some(services) = top_mut(doc, "services")? else {
        return Ok(());
    };
    for (name, svc) in services.iter_mut() {
        let what = format!("service {}", name.as_str().unwrap_or("?"));
        let svc = entry_mapping(svc, &what)?;
        let deploy = entry_mapping(svc.entry(key("deploy")).or_insert(Value::Null), &what)?;
        deploy.insert(key("endpoint_mode"), key("dnsrr"));
        if let Some(ports) = svc.get_mut("ports") {
            *ports = Value::Sequence(host_mode_ports(ports, &what)?);
        }
    }
    Ok(())
}

fn host_mode_ports(ports: &Value, what: &str) -> Result<Vec<Value>> {
    let items = match ports {
        Value::Null => return Ok(Vec::new()),
        Value::Sequence(items) => items,
        _ => return Err(Error::InvalidDocument(format!("{what}: ports is not a list"))),
    };
    let mut out = Vec::new();
    for item in items {
        match item {
            Value::Mapping(m) => {
                let mut m = m.clone();
                m.insert(key("mode"), key("host"));
                out.push(Value::Mapping(m));
            }
            Value::Number(n) => out.push(long_port(n.as_u64(), None, "tcp", what)?),
            Value::String(s) => {
                for (published, target, protocol) in parse_short_port(s, what)? {
                    out.push(long_port(Some(target), published, &protocol, what)?);
                }
            }
            _ => return Err(Error::InvalidDocument(format!("{what}: bad port entry"))),
        }
    }
    Ok(out)
}

fn long_port(target: Option<u64>, published: Option<u64>, protocol: &str, what: &str) -> Result<Value> {
    let target = target.ok_or_else(|| Error::InvalidDocument(format!("{what}: bad port")))?;
    let mut m = Mapping::new();
    m.insert(key("target"), Value::Number(target.into()));
    if let Some(p) = published {
        m.insert(key("published"), Value::Number(p.into()));
    }
    m.insert(key("protocol"), key(protocol));
    m.insert(key("mode"), key("host"));
    Ok(Value::Mapping(m))
}

fn parse_range(s: &str, what: &str) -> Result<Vec<u64>> {
    let bad = || Error::InvalidDocument(format!("{what}: bad port `{s}`"));
    let (lo, hi) = match s.split_once('-') {
        Some((a, b)) => (a.parse::<u64>().map_err(|_| bad())?, b.parse::<u64>().map_err(|_| bad())?),
        None => {
            let p = s.parse::<u64>().map_err(|_| bad())?;
            (p, p)
        }
    };
    if hi < lo || hi - lo > 1000 {
        return Err(bad());
    }
    Ok((lo..=hi).collect())
}

/// Parse `[[ip:]published:]target[/protocol]` (with ranges) into (published, target, protocol).
fn parse_short_port(s: &str, what: &str) -> Result<Vec<(Option<u64>, u64, String)>> {
    let (spec, protocol) = match s.split_once('/') {
        Some((spec, proto)) => (spec, proto.to_string()),
        None => (s, "tcp".to_string()),
    };
    let parts: Vec<&str> = spec.rsplitn(3, ':').collect();
    let targets = parse_range(parts[0], what)?;
    let published = match parts.get(1) {
        Some(p) if !p.is_empty() => Some(parse_range(p, what)?),
        _ => None,
    };
    match published {
        None => Ok(targets.into_iter().map(|t| (None, t, protocol.clone())).collect()),
        Some(published) if published.len() == targets.len() => {
            Ok(published.into_iter().zip(targets).map(|(p, t)| (Some(p), t, protocol.clone())).collect())
        }
        Some(_) => Err(Error::InvalidDocument(format!("{what}: port ranges of different sizes in `{s}`"))),
    }
}

/// Escape every `$` in the document's string values as `$$`, so that `docker stack deploy`,
/// which interpolates again, yields the already-interpolated values literally. Keys are not
/// touched (Docker does not interpolate keys).
pub fn escape_dollars(doc: &mut Value) {
    match doc {
        Value::String(s) => {
            if s.contains('$') {
                *s = s.replace('$', "$$");
            }
        }
        Value::Sequence(items) => items.iter_mut().for_each(escape_dollars),
        Value::Mapping(m) => m.iter_mut().for_each(|(_, v)| escape_dollars(v)),
        Value::Tagged(t) => escape_dollars(&mut t.value),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// [`escape_dollars`] for a document held as `serde_json::Value`.
pub fn escape_dollars_json(doc: &mut serde_json::Value) {
    match doc {
        serde_json::Value::String(s) if s.contains('$') => *s = s.replace('$', "$$"),
        serde_json::Value::Array(items) => items.iter_mut().for_each(escape_dollars_json),
        serde_json::Value::Object(m) => m.values_mut().for_each(escape_dollars_json),
        _ => {}
    }
}

/// Make relative `file:` paths of configs and secrets absolute against `base` (the recipe
/// checkout), so the document can be written anywhere.
pub fn absolutize_files(doc: &mut Value, base: &Path) -> Result<()> {
    for section in ["configs", "secrets"] {
        if let Some(entries) = top_mut(doc, section)? {
            for (_, entry) in entries.iter_mut() {
                if let Some(Value::String(file)) = entry.get_mut("file") {
                    if Path::new(file.as_str()).is_relative() {
                        *file = base.join(&*file).to_string_lossy().into_owned();
                    }
                }
            }
        }
    }
    Ok(())
}

/// The `(service name, image)` of every service, in document order.
pub fn images(doc: &Value) -> Result<Vec<(String, String)>> {
    let Some(services) = doc.get("services").and_then(Value::as_mapping) else {
        return Ok(Vec::new());
    };
    services
        .iter()
        .map(|(name, svc)| {
            let name = name.as_str().unwrap_or("?").to_string();
            match svc.get("image").and_then(Value::as_str) {
                Some(image) => Ok((name, image.to_string())),
                None => Err(Error::InvalidDocument(format!("service {name} has no image"))),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(s: &str) -> Value {
        serde_norway::from_str(s).unwrap()
    }

    #[test]
    fn labels_everything_the_stack_creates_but_not_external_objects() {
        let mut d = doc(r#"
services:
  app:
    image: x:1
    labels: ["a=b"]
  db:
    image: y:1
    deploy: {labels: {keep: "1"}}
networks:
  proxy: {external: true}
  internal:
volumes:
  data:
configs:
  conf: {file: a.conf}
secrets:
  pw: {external: true}
"#);
        label_run(&mut d, "r1").unwrap();
        assert_eq!(d["services"]["app"]["labels"], doc(r#"["a=b", "cc-ci.run=r1"]"#));
        assert_eq!(d["services"]["app"]["deploy"]["labels"]["cc-ci.run"], key("r1"));
        assert_eq!(d["services"]["db"]["deploy"]["labels"]["keep"], key("1"));
        assert_eq!(d["services"]["db"]["labels"]["cc-ci.run"], key("r1"));
        assert!(d["networks"]["proxy"].get("labels").is_none());
        assert_eq!(d["networks"]["internal"]["labels"]["cc-ci.run"], key("r1"));
        assert_eq!(d["networks"]["default"]["labels"]["cc-ci.run"], key("r1"));
        assert_eq!(d["volumes"]["data"]["labels"]["cc-ci.run"], key("r1"));
        assert_eq!(d["configs"]["conf"]["labels"]["cc-ci.run"], key("r1"));
        assert!(d["secrets"]["pw"].get("labels").is_none());
    }

    #[test]
    fn relabelling_replaces_rather_than_duplicates() {
        let mut d = doc("services: {app: {image: x, labels: [\"cc-ci.run=old\"]}}");
        label_run(&mut d, "new").unwrap();
        assert_eq!(d["services"]["app"]["labels"], doc(r#"["cc-ci.run=new"]"#));
    }

    #[test]
    fn dnsrr_sets_endpoint_mode_and_moves_ports_to_host_mode() {
        let mut d = doc(r#"
services:
  app:
    image: x
    ports: ["8080:80", "53:53/udp", 9000, "7000-7001:8000-8001", {target: 443, published: 8443}]
"#);
        use_dnsrr(&mut d).unwrap();
        let app = &d["services"]["app"];
        assert_eq!(app["deploy"]["endpoint_mode"], key("dnsrr"));
        let expected = doc(r#"
- {target: 80, published: 8080, protocol: tcp, mode: host}
- {target: 53, published: 53, protocol: udp, mode: host}
- {target: 9000, protocol: tcp, mode: host}
- {target: 8000, published: 7000, protocol: tcp, mode: host}
- {target: 8001, published: 7001, protocol: tcp, mode: host}
- {target: 443, published: 8443, mode: host}
"#);
        assert_eq!(app["ports"], expected);
    }

    #[test]
    fn dollars_are_doubled_in_values_only() {
        let mut d = doc(r#"{services: {app: {environment: {"A$": "p$ss$$", N: 3}}}}"#);
        escape_dollars(&mut d);
        assert_eq!(d["services"]["app"]["environment"]["A$"], key("p$$ss$$$$"));
        assert_eq!(d["services"]["app"]["environment"]["N"], Value::Number(3.into()));
        let mut j = serde_json::json!({"a": ["x$y"]});
        escape_dollars_json(&mut j);
        assert_eq!(j, serde_json::json!({"a": ["x$$y"]}));
    }

    #[test]
    fn images_are_listed_and_a_missing_image_is_an_error() {
        let d = doc("services: {app: {image: 'a:1'}, db: {image: 'b:2'}}");
        assert_eq!(images(&d).unwrap(), vec![("app".into(), "a:1".into()), ("db".into(), "b:2".into())]);
        assert!(images(&doc("services: {app: {}}")).is_err());
    }

    #[test]
    fn relative_config_files_become_absolute() {
        let mut d = doc("configs: {c: {file: conf/x.conf}, d: {file: /abs}}");
        absolutize_files(&mut d, Path::new("/recipe")).unwrap();
        assert_eq!(d["configs"]["c"]["file"], key("/recipe/conf/x.conf"));
        assert_eq!(d["configs"]["d"]["file"], key("/abs"));
    }
}
