//! Interpolation of a whole compose document the way Docker's loader does it: every string value
//! (not keys) goes through the Docker dialect, and a value that changed is cast to the type of
//! known typed fields (ports, counts, booleans), so `"${PORT:-80}"` becomes the integer 80.

use std::collections::BTreeMap;

use serde_norway::{Mapping, Number, Value};

use crate::interpolate::{substitute, Dialect, InterpolateError};

#[derive(Clone, Copy)]
enum Cast {
    Int,
    Float,
    Bool,
}

const SERVICE_CASTS: &[(&str, Cast)] = &[
    ("configs.[].mode", Cast::Int),
    ("secrets.[].mode", Cast::Int),
    ("healthcheck.retries", Cast::Int),
    ("healthcheck.disable", Cast::Bool),
    ("deploy.replicas", Cast::Int),
    ("deploy.update_config.parallelism", Cast::Int),
    ("deploy.update_config.max_failure_ratio", Cast::Float),
    ("deploy.rollback_config.parallelism", Cast::Int),
    ("deploy.rollback_config.max_failure_ratio", Cast::Float),
    ("deploy.restart_policy.max_attempts", Cast::Int),
    ("deploy.placement.max_replicas_per_node", Cast::Int),
    ("ports.[].target", Cast::Int),
    ("ports.[].published", Cast::Int),
    ("ulimits.*", Cast::Int),
    ("ulimits.*.hard", Cast::Int),
    ("ulimits.*.soft", Cast::Int),
    ("privileged", Cast::Bool),
    ("read_only", Cast::Bool),
    ("stdin_open", Cast::Bool),
    ("tty", Cast::Bool),
    ("volumes.[].read_only", Cast::Bool),
    ("volumes.[].volume.nocopy", Cast::Bool),
];

const TOP_CASTS: &[(&str, Cast)] = &[
    ("networks.*.external", Cast::Bool),
    ("networks.*.internal", Cast::Bool),
    ("networks.*.attachable", Cast::Bool),
    ("volumes.*.external", Cast::Bool),
    ("secrets.*.external", Cast::Bool),
    ("configs.*.external", Cast::Bool),
];

/// Interpolate every string of `doc` with `env` only. Errors name the dotted path.
pub fn interpolate_doc(doc: &Mapping, env: &BTreeMap<String, String>) -> Result<Mapping, String> {
    let mut out = Mapping::new();
    for (k, v) in doc {
        let key = k.as_str().unwrap_or_default();
        out.insert(k.clone(), walk(v, &mut vec![key.to_string()], env)?);
    }
    Ok(out)
}

fn walk(value: &Value, path: &mut Vec<String>, env: &BTreeMap<String, String>) -> Result<Value, String> {
    match value {
        Value::String(s) => {
            let new = substitute(s, env, Dialect::DockerStack).map_err(|e| error(path, e))?;
            if &new == s {
                return Ok(value.clone());
            }
            match cast_for(path) {
                None => Ok(Value::String(new)),
                Some(cast) => apply(cast, &new).ok_or_else(|| {
                    format!(
                        "error while interpolating {}: failed to cast to expected type: invalid value {new:?}",
                        path.join(".")
                    )
                }),
            }
        }
        Value::Mapping(m) => {
            let mut out = Mapping::new();
            for (k, v) in m {
                path.push(k.as_str().unwrap_or_default().to_string());
                out.insert(k.clone(), walk(v, path, env)?);
                path.pop();
            }
            Ok(Value::Mapping(out))
        }
        Value::Sequence(items) => {
            path.push("[]".into());
            let out = items.iter().map(|v| walk(v, path, env)).collect::<Result<Vec<_>, _>>();
            path.pop();
            Ok(Value::Sequence(out?))
        }
        other => Ok(other.clone()),
    }
}

fn error(path: &[String], e: InterpolateError) -> String {
    match e {
        InterpolateError::Invalid { template } => format!(
            "invalid interpolation format for {}: {template:?}; you may need to escape any $ with another $",
            path.join(".")
        ),
        required => format!("invalid interpolation format for {}: {required}", path.join(".")),
    }
}

fn cast_for(path: &[String]) -> Option<Cast> {
    let (table, rest): (&[(&str, Cast)], &[String]) = match path {
        [s, _, rest @ ..] if s == "services" => (SERVICE_CASTS, rest),
        _ => (TOP_CASTS, path),
    };
    table.iter().find(|(pattern, _)| matches(pattern, rest)).map(|(_, c)| *c)
}

fn matches(pattern: &str, path: &[String]) -> bool {
    let parts: Vec<&str> = pattern.split('.').collect();
    parts.len() == path.len() && parts.iter().zip(path).all(|(p, s)| *p == "*" || p == s)
}

fn apply(cast: Cast, s: &str) -> Option<Value> {
    match cast {
        Cast::Int => s.parse::<i64>().ok().map(|i| Value::Number(Number::from(i))),
        Cast::Float => s.parse::<f64>().ok().filter(|f| f.is_finite()).map(|f| Value::Number(Number::from(f))),
        Cast::Bool => match s.to_ascii_lowercase().as_str() {
            "y" | "yes" | "true" | "on" => Some(Value::Bool(true)),
            "n" | "no" | "false" | "off" => Some(Value::Bool(false)),
            _ => None,
        },
    }
}
