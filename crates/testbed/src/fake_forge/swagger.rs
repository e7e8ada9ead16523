//! A focused reader and validator for Gitea's OpenAPI 2.0 (Swagger) description, for contract
//! tests: find an operation by method and path template, list its declared parameters, and check
//! a JSON answer against a response schema.
//!
//! The validator covers the subset Gitea's spec uses for the operations the CI calls: `$ref` into
//! `#/definitions` (and `#/responses`), `type` (object, array, string, integer, number, boolean),
//! `properties`, `items`, `required`, `enum`, `additionalProperties`, and `format: date-time`
//! (RFC 3339); other formats are not checked. Two deliberate choices:
//! - `null` is accepted for any property: Swagger 2.0 cannot say "nullable" and Gitea's spec has no
//!   `x-nullable`, yet Gitea sends `null` for unset pointers and nil slices.
//! - Object properties the schema does not declare are errors (unless `additionalProperties`
//!   allows them), so a fake cannot invent fields the real forge never sends.
//!
//! A general JSON Schema crate was not used: Swagger 2.0 schemas are not quite JSON Schema (refs
//! into `definitions`, no nullable), and these few rules are all the contract needs.

use std::path::PathBuf;

use serde_json::Value;

/// Where `shared/` is: `$CCCI_SHARED_DIR`, else `../shared` beside the repository.
pub fn shared_dir() -> PathBuf {
    match std::env::var_os("CCCI_SHARED_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    }
}

/// The path of Gitea's spec in `shared/`.
pub fn spec_path() -> PathBuf {
    shared_dir().join("forge/gitea-swagger.v1.json")
}

/// A loaded spec.
pub struct Swagger {
    doc: Value,
}

impl Swagger {
    /// Loads the spec at `path`.
    pub fn load(path: &std::path::Path) -> Result<Swagger, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
        let doc: Value = serde_json::from_str(&text).map_err(|e| format!("parsing {}: {e}", path.display()))?;
        if doc.get("swagger").and_then(Value::as_str) != Some("2.0") {
            return Err(format!("{} is not a Swagger 2.0 document", path.display()));
        }
        Ok(Swagger { doc })
    }

    /// The operation object for `method` (any case) on `path` (a template such as
    /// `/repos/{owner}/{repo}/pulls`).
    pub fn operation(&self, method: &str, path: &str) -> Option<&Value> {
        self.doc.get("paths")?.get(path)?.get(method.to_ascii_lowercase())
    }

    /// The operation's parameters, with path-level parameters merged in.
    pub fn parameters(&self, method: &str, path: &str) -> Vec<&Value> {
        let mut out: Vec<&Value> = Vec::new();
        let level = self.doc.get("paths").and_then(|p| p.get(path));
        for source in [level, self.operation(method, path)] {
            if let Some(params) = source.and_then(|s| s.get("parameters")).and_then(Value::as_array) {
                out.extend(params.iter().map(|p| self.resolve(p)));
            }
        }
        out
    }

    /// Names of the declared parameters `in` the given place (`query`, `path`, `body`...).
    pub fn parameter_names(&self, method: &str, path: &str, place: &str) -> Vec<String> {
        self.parameters(method, path)
            .into_iter()
            .filter(|p| p.get("in").and_then(Value::as_str) == Some(place))
            .filter_map(|p| p.get("name").and_then(Value::as_str).map(str::to_string))
            .collect()
    }

    /// The schema of the body parameter, if the operation takes one.
    pub fn body_schema(&self, method: &str, path: &str) -> Option<&Value> {
        self.parameters(method, path)
            .into_iter()
            .find(|p| p.get("in").and_then(Value::as_str) == Some("body"))
            .and_then(|p| p.get("schema"))
    }

    /// The response object declared for `status`, if any.
    pub fn response(&self, method: &str, path: &str, status: u16) -> Option<&Value> {
        let responses = self.operation(method, path)?.get("responses")?;
        responses.get(status.to_string()).map(|r| self.resolve(r))
    }

    /// A definition by name.
    pub fn definition(&self, name: &str) -> Option<&Value> {
        self.doc.get("definitions")?.get(name)
    }

    /// Follows `$ref` chains (`#/definitions/X`, `#/responses/X`) to the referenced object.
    pub fn resolve<'a>(&'a self, mut value: &'a Value) -> &'a Value {
        for _ in 0..32 {
            let Some(target) = value.get("$ref").and_then(Value::as_str) else { return value };
            let Some(pointer) = target.strip_prefix('#') else { return value };
            match self.doc.pointer(pointer) {
                Some(next) => value = next,
                None => return value,
            }
        }
        value
    }

    /// Checks `value` against `schema`; returns every violation as `path: problem`.
    pub fn validate(&self, schema: &Value, value: &Value) -> Vec<String> {
        let mut errors = Vec::new();
        self.check(schema, value, "$", &mut errors);
        errors
    }

    fn check(&self, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
        if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
            let resolved = self.resolve(schema);
            if std::ptr::eq(resolved, schema) {
                errors.push(format!("{at}: unresolvable $ref {target}"));
                return;
            }
            return self.check(resolved, value, at, errors);
        }
        if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
            for part in all {
                self.check(part, value, at, errors);
            }
        }
        if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
            if !allowed.contains(value) {
                errors.push(format!("{at}: {value} is not one of {}", Value::Array(allowed.clone())));
            }
        }
        let Some(kind) = schema.get("type").and_then(Value::as_str) else { return };
        let ok = match kind {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "file" => true,
            other => {
                errors.push(format!("{at}: schema type {other:?} not supported by this validator"));
                return;
            }
        };
        if !ok {
            errors.push(format!("{at}: expected {kind}, got {value}"));
            return;
        }
        if kind == "string" && schema.get("format").and_then(Value::as_str) == Some("date-time") {
            let text = value.as_str().expect("checked");
            if chrono::DateTime::parse_from_rfc3339(text).is_err() {
                errors.push(format!("{at}: {text:?} is not an RFC 3339 date-time"));
            }
        }
        match kind {
            "object" => self.check_object(schema, value.as_object().expect("checked"), at, errors),
            "array" => {
                if let Some(items) = schema.get("items") {
                    for (i, item) in value.as_array().expect("checked").iter().enumerate() {
                        self.check(items, item, &format!("{at}[{i}]"), errors);
                    }
                }
            }
            _ => {}
        }
    }

    fn check_object(
        &self,
        schema: &Value,
        object: &serde_json::Map<String, Value>,
        at: &str,
        errors: &mut Vec<String>,
    ) {
        let properties = schema.get("properties").and_then(Value::as_object);
        for name in schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
            if !object.contains_key(name) {
                errors.push(format!("{at}: required property {name:?} missing"));
            }
        }
        let additional = schema.get("additionalProperties");
        for (name, value) in object {
            let at = format!("{at}.{name}");
            match properties.and_then(|p| p.get(name)) {
                Some(_) if value.is_null() => {}
                Some(property) => self.check(property, value, &at, errors),
                None => match additional {
                    Some(Value::Bool(true)) => {}
                    Some(extra) if extra.is_object() => {
                        if !value.is_null() {
                            self.check(extra, value, &at, errors)
                        }
                    }
                    _ => errors.push(format!("{at}: property not declared in the schema")),
                },
            }
        }
    }
}
