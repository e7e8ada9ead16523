//! Reading Traefik's routing labels: which hosts a swarm service answers for, and on which port.
//!
//! Only what the testbed needs of Traefik's docker provider: `traefik.enable`, router `rule`s made of
//! `Host(...)` matchers (several hosts per matcher, or `||`-joined matchers), the router's `service`,
//! and `loadbalancer.server.port`. Other matchers (paths, headers) are ignored: they narrow a route,
//! and the testbed routes by host only.

use std::collections::BTreeMap;

/// One router of a service: the hosts it matches and the container port it forwards to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub router: String,
    pub hosts: Vec<String>,
    pub port: u16,
}

/// Port Traefik would use when a service declares no `loadbalancer.server.port` (it takes the single
/// exposed port of the image; the testbed cannot see that, so it assumes 80).
const DEFAULT_PORT: u16 = 80;

/// The routes a service's labels declare; empty unless `traefik.enable=true`.
pub fn routes_from_labels(labels: &BTreeMap<String, String>) -> Vec<Route> {
    if labels.get("traefik.enable").map(|v| v.trim()) != Some("true") {
        return Vec::new();
    }
    let ports = service_ports(labels);
    let mut routes = Vec::new();
    for (key, rule) in labels {
        let Some(router) = key.strip_prefix("traefik.http.routers.").and_then(|rest| rest.strip_suffix(".rule")) else {
            continue;
        };
        let hosts = hosts_in_rule(rule);
        if hosts.is_empty() {
            continue;
        }
        let explicit = labels.get(&format!("traefik.http.routers.{router}.service"));
        let port = match explicit {
            Some(service) => ports.get(service.trim()).copied(),
            None if ports.len() == 1 => ports.values().next().copied(),
            None if ports.is_empty() => Some(DEFAULT_PORT),
            None => ports.get(router).copied(),
        };
        if let Some(port) = port {
            routes.push(Route { router: router.to_string(), hosts, port });
        }
    }
    routes
}

/// `traefik.http.services.<name>.loadbalancer.server.port` labels, by service name.
fn service_ports(labels: &BTreeMap<String, String>) -> BTreeMap<String, u16> {
    labels
        .iter()
        .filter_map(|(key, value)| {
            let name = key.strip_prefix("traefik.http.services.")?.strip_suffix(".loadbalancer.server.port")?;
            Some((name.to_string(), value.trim().parse().ok()?))
        })
        .collect()
}

/// Every host named in the rule's `Host(...)` matchers, lower-cased.
///
/// Accepts Traefik v2's list form ``Host(`a`, `b`)`` and `||`-joined matchers; hosts may be quoted
/// with backticks or double quotes. `HostRegexp` and `HostSNI` are not host matchers here.
pub fn hosts_in_rule(rule: &str) -> Vec<String> {
    let mut hosts = Vec::new();
    let mut rest = rule;
    while let Some(at) = rest.find("Host(") {
        let preceded_by_word = rest[..at].chars().next_back().is_some_and(|c| c.is_ascii_alphanumeric());
        let args = &rest[at + "Host(".len()..];
        let end = args.find(')').unwrap_or(args.len());
        if !preceded_by_word {
            hosts.extend(quoted_strings(&args[..end]).map(|h| h.trim().to_ascii_lowercase()));
        }
        rest = &args[end..];
    }
    hosts.retain(|h| !h.is_empty());
    hosts
}

/// The contents of each backtick- or double-quote-delimited string in `args`.
fn quoted_strings(args: &str) -> impl Iterator<Item = &str> {
    let mut rest = args;
    std::iter::from_fn(move || {
        let start = rest.find(['`', '"'])?;
        let quote = rest[start..].chars().next()?;
        let body = &rest[start + 1..];
        let end = body.find(quote)?;
        rest = &body[end + 1..];
        Some(&body[..end])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn list_and_or_forms_of_host() {
        assert_eq!(hosts_in_rule("Host(`a.example`, `www.a.example`)"), ["a.example", "www.a.example"]);
        assert_eq!(hosts_in_rule("Host(`A.example`) || Host(\"b.example\")"), ["a.example", "b.example"]);
        assert_eq!(hosts_in_rule("Host(`a.example`) && PathPrefix(`/api`)"), ["a.example"]);
        assert!(hosts_in_rule("HostRegexp(`{sub:.+}.example`)").is_empty());
        assert!(hosts_in_rule("PathPrefix(`/`)").is_empty());
    }

    #[test]
    fn recipe_style_labels_route_to_the_declared_port() {
        let l = labels(&[
            ("traefik.enable", "true"),
            ("traefik.http.services.app_example.loadbalancer.server.port", "4000"),
            ("traefik.http.routers.app_example.rule", "Host(`app.example`)"),
            ("traefik.http.routers.app_example.entrypoints", "web-secure"),
        ]);
        assert_eq!(
            routes_from_labels(&l),
            [Route { router: "app_example".into(), hosts: vec!["app.example".into()], port: 4000 }]
        );
    }

    #[test]
    fn suffixed_routers_pick_their_service() {
        let l = labels(&[
            ("traefik.enable", "true"),
            ("traefik.http.services.s.loadbalancer.server.port", "80"),
            ("traefik.http.services.s-1.loadbalancer.server.port", "8080"),
            ("traefik.http.routers.s.rule", "Host(`a.example`)"),
            ("traefik.http.routers.s-1.rule", "Host(`b.example`)"),
            ("traefik.http.routers.s-1.service", "s-1"),
        ]);
        let routes = routes_from_labels(&l);
        let port_of = |h: &str| routes.iter().find(|r| r.hosts[0] == h).map(|r| r.port);
        assert_eq!(port_of("a.example"), Some(80));
        assert_eq!(port_of("b.example"), Some(8080));
    }

    #[test]
    fn disabled_services_have_no_routes() {
        let l = labels(&[("traefik.enable", "false"), ("traefik.http.routers.s.rule", "Host(`a.example`)")]);
        assert!(routes_from_labels(&l).is_empty());
    }
}
