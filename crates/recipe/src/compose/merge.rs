//! Overlay merge exactly as Docker's stack loader does it (mergo with override and appended
//! slices, plus Docker's special cases): scalars are overridden by a non-empty overlay value,
//! lists append, maps merge by key, ports/secrets/configs/volumes are unioned by published port,
//! source and target and come out sorted, `command`/`entrypoint` are replaced, logging merges
//! options only for the same driver. Top-level networks/volumes/secrets/configs are replaced
//! whole, by name.

use serde_norway::{Mapping, Value};

use super::normalise::key;
use super::spec::{Field, Ty};

/// Merge the normalised service `src` into `dst`.
pub fn service(dst: &Mapping, src: &Mapping, fields: &[Field]) -> Mapping {
    let mut out = struct_fields(dst, src, fields);
    for (k, v) in src.iter().filter(|(k, _)| k.as_str().is_some_and(|k| k.starts_with("x-"))) {
        let merged = match out.get(k) {
            Some(d) => any(d, v),
            None => v.clone(),
        };
        out.insert(k.clone(), merged);
    }
    out
}

fn struct_fields(dst: &Mapping, src: &Mapping, fields: &[Field]) -> Mapping {
    let mut out = dst.clone();
    for (name, ty) in fields {
        let merged = field(dst.get(*name), src.get(*name), *ty);
        match merged {
            Some(v) => out.insert(key(name), v),
            None => out.remove(*name),
        };
    }
    out
}

/// An untyped (`x-`) value: mappings merge by key, anything else is replaced.
fn any(dst: &Value, src: &Value) -> Value {
    match (dst, src) {
        (Value::Mapping(d), Value::Mapping(s)) => {
            let mut out = d.clone();
            for (k, v) in s {
                let merged = match out.get(k) {
                    Some(dv) => any(dv, v),
                    None => v.clone(),
                };
                out.insert(k.clone(), merged);
            }
            Value::Mapping(out)
        }
        _ => src.clone(),
    }
}

fn seq(v: &Value) -> &[Value] {
    v.as_sequence().map(Vec::as_slice).unwrap_or_default()
}

fn map(v: &Value) -> Mapping {
    v.as_mapping().cloned().unwrap_or_default()
}

fn is_empty_str(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        _ => false,
    }
}

fn field(dst: Option<&Value>, src: Option<&Value>, ty: Ty) -> Option<Value> {
    let (d, s) = match (dst, src) {
        (None, None) => return None,
        (None, Some(s)) => return Some(s.clone()),
        (Some(d), None) => return Some(keyed_sort(d, ty)),
        (Some(d), Some(s)) => (d, s),
    };
    Some(match ty {
        Ty::List | Ty::StringList | Ty::NumList | Ty::HealthTest | Ty::Hosts | Ty::ListOf(_) => {
            Value::Sequence(seq(d).iter().chain(seq(s)).cloned().collect())
        }
        Ty::Command => s.clone(),
        Ty::BoolPtr | Ty::U32Ptr | Ty::DurationPtr => {
            let zero = matches!(s, Value::Bool(false)) || s.as_i64() == Some(0) || s.as_str() == Some("0s");
            if zero {
                d.clone()
            } else {
                s.clone()
            }
        }
        Ty::Environment => {
            let mut out = map(d);
            for (k, v) in map(s) {
                if !is_empty_str(Some(&v)) || is_empty_str(out.get(&k)) {
                    out.insert(k, v);
                }
            }
            Value::Mapping(out)
        }
        Ty::Labels | Ty::StrMap | Ty::Ulimits => {
            let mut out = map(d);
            out.extend(map(s));
            Value::Mapping(out)
        }
        Ty::Networks => {
            let mut out = map(d);
            for (k, v) in map(s) {
                match (out.get(&k).cloned(), &v) {
                    (None | Some(Value::Null), _) => {
                        out.insert(k, v);
                    }
                    (Some(_), Value::Null) => {}
                    (Some(Value::Mapping(mut existing)), Value::Mapping(new)) => {
                        match new.get("aliases") {
                            Some(a) => existing.insert(key("aliases"), a.clone()),
                            None => existing.remove("aliases"),
                        };
                        for addr in ["ipv4_address", "ipv6_address"] {
                            if let Some(a) = new.get(addr) {
                                existing.insert(key(addr), a.clone());
                            }
                        }
                        out.insert(k, Value::Mapping(existing));
                    }
                    _ => {}
                }
            }
            Value::Mapping(out)
        }
        Ty::Struct(fields) | Ty::Ptr(fields) => Value::Mapping(struct_fields(&map(d), &map(s), fields)),
        Ty::Logging => logging(d, s),
        Ty::Ports | Ty::FileRefs | Ty::Volumes => {
            let both = Value::Sequence(seq(d).iter().chain(seq(s)).cloned().collect());
            keyed_sort(&both, ty)
        }
        // Scalars: an overlay's value is non-empty (empty ones were omitted), so it wins.
        _ => s.clone(),
    })
}

/// Docker's `mergeLoggingConfig`: same (or unset) driver → options merged, else replaced.
fn logging(d: &Value, s: &Value) -> Value {
    let (dm, sm) = (map(d), map(s));
    let (dd, sd) = (dm.get("driver").and_then(Value::as_str), sm.get("driver").and_then(Value::as_str));
    if dd.is_some() && sd.is_some() && dd != sd {
        return s.clone();
    }
    let mut out = dm.clone();
    if dd.is_none() {
        if let Some(driver) = sm.get("driver") {
            out.insert(key("driver"), driver.clone());
        }
    }
    // Docker merges into a copy of the options map header: options reach the result only when
    // the base already had some.
    if let (Some(Value::Mapping(base)), Some(Value::Mapping(new))) = (dm.get("options"), sm.get("options")) {
        let mut options = base.clone();
        options.extend(new.clone());
        out.insert(key("options"), Value::Mapping(options));
    }
    Value::Mapping(out)
}

/// Docker's union-by-key for ports (published), secrets/configs (source) and volumes
/// (target): later entries win, the result is sorted by that key. Other types pass through.
fn keyed_sort(v: &Value, ty: Ty) -> Value {
    let (field, numeric) = match ty {
        Ty::Ports => ("published", true),
        Ty::FileRefs => ("source", false),
        Ty::Volumes => ("target", false),
        _ => return v.clone(),
    };
    let mut by_key: Vec<(Value, Value)> = Vec::new();
    for item in seq(v) {
        let k = item.get(field).cloned().unwrap_or(if numeric { Value::Number(0.into()) } else { key("") });
        match by_key.iter_mut().find(|(existing, _)| *existing == k) {
            Some(slot) => slot.1 = item.clone(),
            None => by_key.push((k, item.clone())),
        }
    }
    by_key.sort_by(|(a, _), (b, _)| match (a.as_u64(), b.as_u64()) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => a.as_str().unwrap_or_default().cmp(b.as_str().unwrap_or_default()),
    });
    Value::Sequence(by_key.into_iter().map(|(_, item)| item).collect())
}
