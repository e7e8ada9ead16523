//! Registry credentials for pulls, read from a file in Docker's own `config.json` format (the
//! `auths` map: registry host → `{"auth": base64("user:password")}` or `username`/`password`),
//! so operators can reuse what `docker login` wrote. Credentials are never printed: `Debug` shows
//! only the registry names.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;
use bollard::auth::DockerCredentials;

/// Docker Hub's registry, as `docker login` names it in `config.json`, and its other spellings.
const DOCKER_HUB: &[&str] = &["https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io"];

/// A user and password for one registry.
#[derive(Clone, PartialEq, Eq)]
struct Credentials {
    username: String,
    password: String,
}

/// Credentials per registry host.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RegistryAuth {
    by_registry: BTreeMap<String, Credentials>,
}

impl std::fmt::Debug for RegistryAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryAuth").field("registries", &self.registries()).finish()
    }
}

impl RegistryAuth {
    /// Parse Docker's `config.json` text. Errors name the registry entry that is malformed and
    /// never quote a credential.
    pub fn from_docker_config(text: &str) -> Result<RegistryAuth, String> {
        let doc: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not JSON (line {}, column {})", e.line(), e.column()))?;
        let auths =
            doc.get("auths").and_then(|a| a.as_object()).ok_or("no `auths` object (Docker's config.json format)")?;
        let mut by_registry = BTreeMap::new();
        for (registry, entry) in auths {
            let field = |name: &str| entry.get(name).and_then(|v| v.as_str()).filter(|s| !s.is_empty());
            let credentials = match (field("auth"), field("username"), field("password")) {
                (Some(auth), _, _) => {
                    let decoded = base64::engine::general_purpose::STANDARD
                        .decode(auth.trim())
                        .ok()
                        .and_then(|b| String::from_utf8(b).ok())
                        .ok_or_else(|| format!("auths.{registry}.auth is not base64 of `user:password`"))?;
                    let (username, password) = decoded
                        .split_once(':')
                        .ok_or_else(|| format!("auths.{registry}.auth is not base64 of `user:password`"))?;
                    Credentials { username: username.into(), password: password.into() }
                }
                (None, Some(username), Some(password)) => {
                    Credentials { username: username.into(), password: password.into() }
                }
                _ => return Err(format!("auths.{registry} has neither `auth` nor `username` and `password`")),
            };
            by_registry.insert(normalise(registry), credentials);
        }
        Ok(RegistryAuth { by_registry })
    }

    /// Read and parse a `config.json`-format file; the error names the file.
    pub fn load(path: &Path) -> Result<RegistryAuth, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::from_docker_config(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The registries credentials are known for (normalised host names, Docker Hub as `docker.io`).
    pub fn registries(&self) -> Vec<&str> {
        self.by_registry.keys().map(String::as_str).collect()
    }

    /// The credentials for the registry `image` is pulled from, as the engine wants them.
    pub(crate) fn for_image(&self, image: &str) -> Option<DockerCredentials> {
        let registry = registry_of(image);
        self.by_registry.get(registry).map(|c| DockerCredentials {
            username: Some(c.username.clone()),
            password: Some(c.password.clone()),
            serveraddress: Some(registry.to_string()),
            ..Default::default()
        })
    }
}

/// `https://host:port/v1/` → `host:port`; every Docker Hub spelling → `docker.io`.
fn normalise(registry: &str) -> String {
    if DOCKER_HUB.contains(&registry) {
        return "docker.io".into();
    }
    let host = registry.trim_start_matches("https://").trim_start_matches("http://");
    host.split('/').next().unwrap_or(host).to_string()
}

/// The registry host of an image reference: its first path component when that looks like a host
/// (has a `.` or `:`, or is `localhost`), else Docker Hub.
pub(crate) fn registry_of(image: &str) -> &str {
    match image.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => first,
        _ => "docker.io",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_docker_config_auths_in_both_forms() {
        let text = r#"{"auths": {
            "127.0.0.1:5001": {"auth": "dXNlcjpwYXNz"},
            "https://index.docker.io/v1/": {"username": "hub", "password": "secret"}
        }}"#;
        let auth = RegistryAuth::from_docker_config(text).unwrap();
        assert_eq!(auth.registries(), vec!["127.0.0.1:5001", "docker.io"]);
        let local = auth.for_image("127.0.0.1:5001/app:1").unwrap();
        assert_eq!((local.username.as_deref(), local.password.as_deref()), (Some("user"), Some("pass")));
        assert_eq!(auth.for_image("traefik:v3.6.15").unwrap().username.as_deref(), Some("hub"));
        assert_eq!(auth.for_image("library/traefik:v3").unwrap().username.as_deref(), Some("hub"));
        assert!(auth.for_image("ghcr.io/x/y:1").is_none());
    }

    #[test]
    fn debug_and_errors_never_show_credentials() {
        let auth = RegistryAuth::from_docker_config(r#"{"auths": {"r.example": {"auth": "dXNlcjpwYXNz"}}}"#).unwrap();
        let shown = format!("{auth:?}");
        assert_eq!(shown, r#"RegistryAuth { registries: ["r.example"] }"#);
        let err = RegistryAuth::from_docker_config(r#"{"auths": {"r.example": {"auth": "c2VjcmV0"}}}"#).unwrap_err();
        assert!(!err.contains("c2VjcmV0") && !err.contains("secret"), "{err}");
        assert!(err.contains("auths.r.example.auth"), "{err}");
        assert!(RegistryAuth::from_docker_config("{}").unwrap_err().contains("auths"));
    }

    #[test]
    fn registry_hosts_of_image_references() {
        assert_eq!(registry_of("127.0.0.1:5000/ccci-testbed/busybox:1.35"), "127.0.0.1:5000");
        assert_eq!(registry_of("localhost/x:1"), "localhost");
        assert_eq!(registry_of("3wordchant/go-ssb-room:2.0.3"), "docker.io");
        assert_eq!(registry_of("traefik:v3.6.15"), "docker.io");
    }
}
