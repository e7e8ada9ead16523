//! The server config's `[alerts]` section (SPEC I3, docs/operators.md): where alerts are pushed,
//! one `[[alerts.sinks]]` table per sink — a generic JSON `webhook` or an `ntfy` topic — each
//! with its URL (inline, or from a file or environment variable when the URL itself holds a
//! secret, as webhook URLs of chat services do) and an optional bearer token (from a file or the
//! environment, never inline). Parsed and validated here, printed masked by [`write_effective`],
//! turned into the alerts crate's sinks by [`AlertsConfig::sinks`].

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Deserialize;

use crate::config::{resolve_secret, write_secret, Secret};
use crate::infra_config::Invalid;

/// A sink's URL: written in the config, or a secret read from a file or variable.
#[derive(Debug, Clone)]
pub enum SinkUrl {
    Plain(String),
    Secret(Secret),
}

impl SinkUrl {
    fn value(&self) -> &str {
        match self {
            SinkUrl::Plain(url) => url,
            SinkUrl::Secret(secret) => secret.expose(),
        }
    }
}

/// One configured sink.
#[derive(Debug, Clone)]
pub struct SinkConfig {
    pub name: String,
    pub kind: alerts::SinkKind,
    pub url: SinkUrl,
    pub token: Option<Secret>,
}

/// `[alerts]`: the sinks alerts are pushed to (none: alerts are only recorded and shown).
#[derive(Debug, Clone, Default)]
pub struct AlertsConfig {
    pub sinks: Vec<SinkConfig>,
}

impl AlertsConfig {
    /// The sinks with their URLs and tokens, for the alerts crate.
    pub fn sinks(&self) -> Vec<alerts::Sink> {
        self.sinks
            .iter()
            .map(|s| alerts::Sink {
                name: s.name.clone(),
                kind: s.kind,
                url: s.url.value().to_string(),
                token: s.token.as_ref().map(|t| t.expose().to_string()),
            })
            .collect()
    }

    /// Every secret value of the sinks (URLs read from secrets, tokens), for the redactor.
    pub fn secrets(&self) -> Vec<&str> {
        let urls = self.sinks.iter().filter_map(|s| match &s.url {
            SinkUrl::Secret(secret) => Some(secret.expose()),
            SinkUrl::Plain(_) => None,
        });
        urls.chain(self.sinks.iter().filter_map(|s| s.token.as_ref().map(Secret::expose))).collect()
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAlerts {
    #[serde(default)]
    sinks: Vec<RawSink>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSink {
    name: Option<String>,
    kind: String,
    url: Option<String>,
    url_file: Option<PathBuf>,
    url_env: Option<String>,
    token_file: Option<PathBuf>,
    token_env: Option<String>,
    /// Accepted by the parser only to refuse it with a useful message.
    token: Option<toml::Value>,
}

pub(crate) fn parse(raw: RawAlerts, env: &dyn Fn(&str) -> Option<String>) -> Result<AlertsConfig, Invalid> {
    let mut sinks: Vec<SinkConfig> = Vec::new();
    for (i, s) in raw.sinks.into_iter().enumerate() {
        let key = |k: &str| format!("alerts.sinks[{i}].{k}");
        let kind = match s.kind.as_str() {
            "webhook" => alerts::SinkKind::Webhook,
            "ntfy" => alerts::SinkKind::Ntfy,
            other => return Err((key("kind"), format!("{other:?}: use \"webhook\" or \"ntfy\""))),
        };
        let name = s.name.unwrap_or_else(|| format!("{}-{}", s.kind, i + 1));
        if name.trim().is_empty() || sinks.iter().any(|o| o.name == name) {
            return Err((key("name"), format!("{name:?}: each sink needs a name of its own")));
        }
        if s.token.is_some() {
            return Err((
                key("token"),
                "a sink's token must not be written in the config file; set `token_file` or `token_env`".into(),
            ));
        }
        let url = match (s.url, s.url_file.is_some() || s.url_env.is_some()) {
            (Some(_), true) => return Err((key("url"), "set one of `url`, `url_file` or `url_env`".into())),
            (Some(url), false) => SinkUrl::Plain(url),
            (None, _) => {
                let secret =
                    resolve_secret("url_file", "url_env", s.url_file, s.url_env, env).map_err(|(k, m)| (key(k), m))?;
                SinkUrl::Secret(secret)
            }
        };
        let url_value = url.value();
        let rest = url_value.strip_prefix("https://").or_else(|| url_value.strip_prefix("http://"));
        if rest.is_none_or(|r| r.is_empty() || r.starts_with('/')) {
            let shown = match &url {
                SinkUrl::Plain(u) => format!("{u:?}"),
                SinkUrl::Secret(_) => "the URL read".into(),
            };
            return Err((key("url"), format!("{shown} is not an http(s) URL")));
        }
        let token = match (s.token_file.is_some(), s.token_env.is_some()) {
            (false, false) => None,
            _ => Some(
                resolve_secret("token_file", "token_env", s.token_file, s.token_env, env)
                    .map_err(|(k, m)| (key(k), m))?,
            ),
        };
        sinks.push(SinkConfig { name, kind, url, token });
    }
    Ok(AlertsConfig { sinks })
}

/// `[alerts]` as in force, secrets named by where they come from, never shown.
pub fn write_effective(out: &mut String, alerts: &AlertsConfig) {
    let q = |s: &str| toml::Value::String(s.to_string()).to_string();
    if alerts.sinks.is_empty() {
        let _ = writeln!(out, "\n# [[alerts.sinks]]: none (alerts are recorded and shown on the dashboard only)");
    }
    for s in &alerts.sinks {
        let kind = match s.kind {
            alerts::SinkKind::Webhook => "webhook",
            alerts::SinkKind::Ntfy => "ntfy",
        };
        let _ = writeln!(out, "\n[[alerts.sinks]]\nname = {}\nkind = {}", q(&s.name), q(kind));
        match &s.url {
            SinkUrl::Plain(url) => {
                let _ = writeln!(out, "url = {}", q(url));
            }
            SinkUrl::Secret(secret) => write_secret(out, "url", secret, &q),
        }
        if let Some(token) = &s.token {
            write_secret(out, "token", token, &q);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> RawAlerts {
        toml::from_str(text).unwrap()
    }

    fn env(name: &str) -> Option<String> {
        match name {
            "HOOK_URL" => Some("https://chat.example.org/hooks/s3cret-path".into()),
            "NTFY_TOKEN" => Some("tk_s3cret".into()),
            _ => None,
        }
    }

    #[test]
    fn sinks_take_urls_inline_or_as_secrets_and_tokens_only_as_secrets() {
        let a = parse(
            raw("[[sinks]]\nkind = \"ntfy\"\nurl = \"https://ntfy.example.org/cc-ci\"\ntoken_env = \"NTFY_TOKEN\"\n\
                 [[sinks]]\nname = \"chat\"\nkind = \"webhook\"\nurl_env = \"HOOK_URL\"\n"),
            &env,
        )
        .unwrap();
        let sinks = a.sinks();
        assert_eq!(sinks[0].name, "ntfy-1");
        assert_eq!((sinks[0].kind, sinks[0].token.as_deref()), (alerts::SinkKind::Ntfy, Some("tk_s3cret")));
        assert_eq!(sinks[1].url, "https://chat.example.org/hooks/s3cret-path");
        assert_eq!(a.secrets(), ["https://chat.example.org/hooks/s3cret-path", "tk_s3cret"]);
        let mut out = String::new();
        write_effective(&mut out, &a);
        assert!(out.contains("url_env = \"HOOK_URL\"") && out.contains("token_env = \"NTFY_TOKEN\""), "{out}");
        assert!(!out.contains("s3cret"), "{out}");
        assert!(toml::from_str::<toml::Value>(&out).is_ok(), "{out}");

        let inline = parse(raw("[[sinks]]\nkind = \"ntfy\"\nurl = \"https://n/x\"\ntoken = \"tk_1\"\n"), &env);
        let (key, message) = inline.unwrap_err();
        assert!(key == "alerts.sinks[0].token" && message.contains("token_file") && !message.contains("tk_1"));
        let bad = parse(raw("[[sinks]]\nkind = \"email\"\nurl = \"https://n/x\"\n"), &env).unwrap_err();
        assert_eq!(bad.0, "alerts.sinks[0].kind");
        let bad = parse(raw("[[sinks]]\nkind = \"webhook\"\nurl = \"ftp://n/x\"\n"), &env).unwrap_err();
        assert!(bad.1.contains("not an http(s) URL"), "{bad:?}");
        let unset = parse(raw("[[sinks]]\nkind = \"webhook\"\nurl_env = \"NOPE\"\n"), &env).unwrap_err();
        assert!(unset.0 == "alerts.sinks[0].url_env" && unset.1.contains("NOPE is not set"), "{unset:?}");
        let twice = "[[sinks]]\nname = \"a\"\nkind = \"ntfy\"\nurl = \"https://n/x\"\n";
        assert_eq!(parse(raw(&format!("{twice}{twice}")), &env).unwrap_err().0, "alerts.sinks[1].name");
    }
}
