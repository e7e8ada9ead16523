//! Reading one field into Docker's normalised form, driven by [`Ty`]: short syntaxes expanded,
//! values typed and checked (the schema errors Docker would give), zero values omitted as Go's
//! `omitempty` does when Docker prints the document.

use serde_norway::{Mapping, Number, Value};

use super::golang::{format_duration, parse_duration, ram_in_bytes, shlex_split, sprint};
use super::short;
use super::spec::{Field, Ty, BUILD, FILE_REF, LOGGING, PORT, SERVICE_NETWORK, VOLUME};

type Res<T> = Result<T, String>;

pub fn key(k: &str) -> Value {
    Value::String(k.to_string())
}

fn type_error(path: &str, expected: &str) -> String {
    format!("{path} must be a {expected}")
}

fn string(v: &Value, path: &str) -> Res<String> {
    v.as_str().map(str::to_string).ok_or_else(|| type_error(path, "string"))
}

fn strings(v: &Value, path: &str) -> Res<Vec<Value>> {
    let items = v.as_sequence().ok_or_else(|| type_error(path, "list"))?;
    items.iter().map(|i| string(i, path).map(Value::String)).collect()
}

fn non_empty_list(items: Vec<Value>) -> Option<Value> {
    (!items.is_empty()).then_some(Value::Sequence(items))
}

fn non_empty_map(m: Mapping) -> Option<Value> {
    (!m.is_empty()).then_some(Value::Mapping(m))
}

fn integer(v: &Value, path: &str) -> Res<i64> {
    v.as_i64().ok_or_else(|| type_error(path, "integer"))
}

fn scalar_text(v: &Value, path: &str) -> Res<String> {
    match v {
        Value::Mapping(_) | Value::Sequence(_) | Value::Bool(_) => {
            Err(format!("{path} must be a string, number or null"))
        }
        other => Ok(sprint(other)),
    }
}

fn duration(v: &Value, path: &str) -> Res<i64> {
    let s = string(v, path)?;
    parse_duration(&s).ok_or_else(|| format!("{path} Does not match format 'duration'"))
}

/// `K=V` list or mapping into a mapping; `bare` is the value of a key without `=`.
fn mapping_or_list(v: &Value, path: &str, bare: Value) -> Res<Mapping> {
    let mut out = Mapping::new();
    match v {
        Value::Mapping(m) => {
            for (k, val) in m {
                let val = match val {
                    Value::Null => bare.clone(),
                    other => Value::String(scalar_text(other, &format!("{path}.{}", sprint(k)))?),
                };
                out.insert(Value::String(sprint(k)), val);
            }
        }
        Value::Sequence(items) => {
            for item in items {
                let s = string(item, path)?;
                match s.split_once('=') {
                    Some((k, val)) => out.insert(key(k), Value::String(val.to_string())),
                    None => out.insert(key(&s), bare.clone()),
                };
            }
        }
        _ => return Err(type_error(path, "mapping or list")),
    }
    Ok(out)
}

/// Read `v` as a value of type `ty`; `None` when Docker would omit it.
pub fn value(v: &Value, ty: Ty, path: &str) -> Res<Option<Value>> {
    let out = match ty {
        Ty::Str => Some(string(v, path)?).filter(|s| !s.is_empty()).map(Value::String),
        Ty::NumStr => Some(scalar_text(v, path)?).filter(|s| !s.is_empty() && s != "<nil>").map(Value::String),
        Ty::Bool => match v {
            Value::Bool(true) => Some(Value::Bool(true)),
            Value::Bool(false) => None,
            _ => return Err(type_error(path, "boolean")),
        },
        Ty::BoolPtr => Some(Value::Bool(v.as_bool().ok_or_else(|| type_error(path, "boolean"))?)),
        Ty::Int => Some(integer(v, path)?).filter(|i| *i != 0).map(|i| Value::Number(i.into())),
        Ty::U64Ptr | Ty::U32Ptr => {
            let i = integer(v, path)?;
            if i < 0 {
                return Err(format!("{path} must be greater than or equal to 0"));
            }
            Some(Value::Number(i.into()))
        }
        Ty::Float => {
            let f = v.as_f64().ok_or_else(|| type_error(path, "number"))?;
            (f != 0.0).then(|| Value::Number(Number::from(f)))
        }
        Ty::Duration => Some(duration(v, path)?).filter(|d| *d != 0).map(|d| Value::String(format_duration(d))),
        Ty::DurationPtr => Some(Value::String(format_duration(duration(v, path)?))),
        Ty::Bytes => {
            let n = match v {
                Value::Number(_) => integer(v, path)?,
                Value::String(s) => ram_in_bytes(s).ok_or_else(|| format!("{path}: invalid size: '{s}'"))?,
                _ => return Err(type_error(path, "string or number")),
            };
            (n != 0).then(|| Value::String(n.to_string()))
        }
        Ty::List => non_empty_list(strings(v, path)?),
        Ty::StringList => match v {
            Value::String(s) => Some(Value::Sequence(vec![Value::String(s.clone())])),
            _ => non_empty_list(strings(v, path)?),
        },
        Ty::NumList => {
            let items = v.as_sequence().ok_or_else(|| type_error(path, "list"))?;
            non_empty_list(items.iter().map(|i| scalar_text(i, path).map(Value::String)).collect::<Res<_>>()?)
        }
        Ty::Command => match v {
            Value::String(s) => non_empty_list(
                shlex_split(s).map_err(|e| format!("{path}: {e}"))?.into_iter().map(Value::String).collect(),
            ),
            Value::Null => None,
            _ => non_empty_list(strings(v, path)?),
        },
        Ty::HealthTest => match v {
            Value::String(s) => Some(Value::Sequence(vec![key("CMD-SHELL"), Value::String(s.clone())])),
            _ => non_empty_list(strings(v, path)?),
        },
        Ty::Environment => non_empty_map(mapping_or_list(v, path, Value::Null)?),
        Ty::Labels => non_empty_map(mapping_or_list(v, path, Value::String(String::new()))?),
        Ty::StrMap => match v {
            Value::Mapping(_) => non_empty_map(mapping_or_list(v, path, Value::String(String::new()))?),
            _ => return Err(type_error(path, "mapping")),
        },
        Ty::Hosts => match v {
            Value::Mapping(m) => {
                let mut items: Vec<String> = m
                    .iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| format!("{}:{}", sprint(k), sprint(v)))
                    .collect();
                items.sort();
                non_empty_list(items.into_iter().map(Value::String).collect())
            }
            _ => non_empty_list(strings(v, path)?),
        },
        Ty::Struct(fields) => match v {
            Value::Null => None,
            _ => non_empty_map(self::fields(v, fields, path)?),
        },
        Ty::Ptr(fields) => match v {
            Value::Null => None,
            _ => Some(Value::Mapping(self::fields(v, fields, path)?)),
        },
        Ty::Logging => value(v, Ty::Ptr(LOGGING), path)?,
        Ty::ListOf(fields) => {
            let items = v.as_sequence().ok_or_else(|| type_error(path, "list"))?;
            non_empty_list(items.iter().map(|i| self::fields(i, fields, path).map(Value::Mapping)).collect::<Res<_>>()?)
        }
        Ty::Ports => {
            let items = v.as_sequence().ok_or_else(|| type_error(path, "list"))?;
            let mut out = Vec::new();
            for item in items {
                match item {
                    Value::Number(_) | Value::String(_) => {
                        out.extend(short::ports(&sprint(item)).map_err(|e| format!("{path}: {e}"))?)
                    }
                    Value::Mapping(_) => out.push(Value::Mapping(fields(item, PORT, path)?)),
                    _ => return Err(format!("{path} contains an invalid type, it should be a number, or an object")),
                }
            }
            non_empty_list(out)
        }
        Ty::FileRefs => {
            let items = v.as_sequence().ok_or_else(|| type_error(path, "list"))?;
            let mut out = Vec::new();
            for item in items {
                let m = match item {
                    Value::String(s) => Mapping::from_iter([(key("source"), Value::String(s.clone()))]),
                    Value::Mapping(_) => fields(item, FILE_REF, path)?,
                    _ => return Err(format!("{path} contains an invalid type, it should be a string, or an object")),
                };
                out.push(Value::Mapping(m));
            }
            non_empty_list(out)
        }
        Ty::Volumes => {
            let items = v.as_sequence().ok_or_else(|| type_error(path, "list"))?;
            let mut out = Vec::new();
            for item in items {
                let m = match item {
                    Value::String(s) => short::volume(s).map_err(|e| format!("{path}: {e}"))?,
                    Value::Mapping(_) => fields(item, VOLUME, path)?,
                    _ => return Err(format!("{path} contains an invalid type, it should be a string, or an object")),
                };
                out.push(Value::Mapping(m));
            }
            non_empty_list(out)
        }
        Ty::Networks => {
            let mut out = Mapping::new();
            match v {
                Value::Sequence(_) => {
                    for name in strings(v, path)? {
                        out.insert(name, Value::Null);
                    }
                }
                Value::Mapping(m) => {
                    for (name, cfg) in m {
                        let cfg = match cfg {
                            Value::Null => Value::Null,
                            _ => Value::Mapping(fields(cfg, SERVICE_NETWORK, &format!("{path}.{}", sprint(name)))?),
                        };
                        out.insert(Value::String(sprint(name)), cfg);
                    }
                }
                _ => return Err(type_error(path, "list or mapping")),
            }
            non_empty_map(out)
        }
        Ty::Ulimits => {
            let m = v.as_mapping().ok_or_else(|| type_error(path, "mapping"))?;
            let mut out = Mapping::new();
            for (name, limit) in m {
                let p = format!("{path}.{}", sprint(name));
                let limit = match limit {
                    Value::Number(_) => Value::Number(integer(limit, &p)?.into()),
                    Value::Mapping(_) => Value::Mapping(fields(limit, &[("soft", Ty::Int), ("hard", Ty::Int)], &p)?),
                    _ => return Err(format!("{p} must be a integer or mapping")),
                };
                out.insert(Value::String(sprint(name)), limit);
            }
            non_empty_map(out)
        }
        Ty::Build => match v {
            Value::String(s) => Some(Value::Mapping(Mapping::from_iter([(key("context"), Value::String(s.clone()))])))
                .filter(|_| !s.is_empty()),
            _ => non_empty_map(fields(v, BUILD, path)?),
        },
    };
    Ok(out)
}

/// Read a mapping of known `fields`; `x-` keys are skipped (callers keep them where Docker
/// does), any other unknown key is an error.
pub fn fields(v: &Value, fields: &[Field], path: &str) -> Res<Mapping> {
    let m = match v {
        Value::Mapping(m) => m,
        Value::Null => return Ok(Mapping::new()),
        _ => return Err(type_error(path, "mapping")),
    };
    for k in m.keys() {
        let name = k.as_str().unwrap_or_default();
        if !name.starts_with("x-") && !fields.iter().any(|(f, _)| *f == name) {
            return Err(format!("{path} Additional property {name} is not allowed"));
        }
    }
    let mut out = Mapping::new();
    for (name, ty) in fields {
        if let Some(raw) = m.get(*name) {
            if let Some(v) = value(raw, *ty, &format!("{path}.{name}"))? {
                out.insert(key(name), v);
            }
        }
    }
    Ok(out)
}

/// The `x-` keys of a mapping, as given.
pub fn extras(v: &Value) -> Mapping {
    v.as_mapping()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| k.as_str().is_some_and(|k| k.starts_with("x-")))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}
