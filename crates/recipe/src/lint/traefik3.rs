//! Traefik labels that break on Traefik 3 (what the CI's proxy and current Co-op Cloud servers
//! run), each finding naming the router or label:
//!
//! - C005: router rules in Traefik 2 syntax. Traefik 3 parses rules with its v3 syntax unless told
//!   otherwise, and there a v2 rule stops matching: `HostRegexp(`{subdomain:\w+}.example.com`)`
//!   becomes a regular expression that matches no host, `Host(`a`, `b`)` is refused, `Headers(...)`
//!   is unknown (the proxy's `DEFAULT_RULE_SYNTAX=v2`, or the router's `ruleSyntax=v2`, restores
//!   the old syntax).
//! - C006: references to `<name>@docker`. Traefik 3 serves swarm services from its separate
//!   `swarm` provider, so a middleware or service named `@docker` does not exist and Traefik
//!   refuses the whole router (the app answers 404).

use super::{Ctx, Level, Report};

/// Matchers that take exactly one argument in v3 but a list in v2.
const SINGLE_ARGUMENT: &[&str] = &["Host", "HostRegexp", "Path", "PathPrefix"];
/// v2 matcher names renamed in v3.
const RENAMED: &[(&str, &str)] = &[("HeadersRegexp", "HeaderRegexp"), ("Headers", "Header")];

pub(super) fn check(ctx: &Ctx<'_>, report: &mut Report) {
    for cf in &ctx.recipe.compose_files {
        for (i, line) in cf.text.lines().enumerate() {
            if let Some(label) = docker_provider_reference(line) {
                report.add(
                    "C006",
                    Level::Warning,
                    &cf.path,
                    Some(i + 1),
                    format!("`{label}` refers to the `docker` provider; on Traefik 3 swarm services are in the `swarm` provider, so the router is refused"),
                    "drop the `@docker` suffix (a name without a provider is looked up in the router's own provider)",
                );
            }
            let Some((router, rule)) = router_rule(line) else {
                continue;
            };
            if cf.text.lines().any(|l| l.contains(&format!("routers.{router}.ruleSyntax")) && l.contains("v2")) {
                continue;
            }
            if let Some(why) = v2_only(rule) {
                report.add(
                    "C005",
                    Level::Warning,
                    &cf.path,
                    Some(i + 1),
                    format!("router `{router}` uses Traefik 2 rule syntax ({why}); Traefik 3 does not match it"),
                    "write the rule in Traefik 3 syntax (e.g. HostRegexp(`^[a-z0-9-]+\\.example\\.com$`), \
                     Host(`a`) || Host(`b`)), or add the label `traefik.http.routers.<router>.ruleSyntax=v2`",
                );
            }
        }
    }
}

/// `(router, rule)` of a compose line setting `traefik.{http,tcp}.routers.<router>.rule`, in list
/// form (`- "traefik....rule=Host(...)"`) or mapping form (`traefik....rule: Host(...)`).
fn router_rule(line: &str) -> Option<(&str, &str)> {
    let body = line.trim().trim_start_matches('-').trim().trim_matches(|c| c == '"' || c == '\'');
    let rest = body.strip_prefix("traefik.http.routers.").or_else(|| body.strip_prefix("traefik.tcp.routers."))?;
    let (router, value) = match rest.split_once(".rule=") {
        Some(split) => split,
        None => rest.split_once(".rule:")?,
    };
    Some((router, value.trim().trim_matches(|c| c == '"' || c == '\'')))
}

/// The label key of a compose line whose Traefik label value names something `@docker`.
fn docker_provider_reference(line: &str) -> Option<&str> {
    let body = line.trim().trim_start_matches('-').trim().trim_matches(|c| c == '"' || c == '\'');
    let (key, value) = body.split_once('=').or_else(|| body.split_once(':'))?;
    let key = key.trim();
    let mentions = value.split(',').any(|v| v.trim().trim_matches(|c| c == '"' || c == '\'').ends_with("@docker"));
    (key.starts_with("traefik.") && mentions).then_some(key)
}

/// Why `rule` only works in Traefik 2, if it does.
fn v2_only(rule: &str) -> Option<String> {
    for (old, new) in RENAMED {
        if !matcher_args(rule, old).is_empty() {
            return Some(format!("`{old}` is `{new}` in Traefik 3"));
        }
    }
    for name in SINGLE_ARGUMENT {
        for args in matcher_args(rule, name) {
            if args.len() > 1 {
                return Some(format!("`{name}` with {} arguments", args.len()));
            }
            if let Some(placeholder) = args.iter().find_map(|a| placeholder(a)) {
                return Some(format!("the placeholder `{placeholder}` in `{name}`"));
            }
        }
    }
    None
}

/// The backtick-quoted arguments of every call of matcher `name` in `rule`.
fn matcher_args<'a>(rule: &'a str, name: &str) -> Vec<Vec<&'a str>> {
    let call = format!("{name}(");
    rule.match_indices(&call)
        .filter_map(|(at, _)| {
            let before = rule[..at].chars().next_back();
            if before.is_some_and(|c| c.is_ascii_alphanumeric()) {
                return None;
            }
            let mut args = Vec::new();
            let mut rest = &rule[at + call.len()..];
            loop {
                rest = rest.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
                if let Some(quoted) = rest.strip_prefix('`') {
                    let end = quoted.find('`')?;
                    args.push(&quoted[..end]);
                    rest = &quoted[end + 1..];
                } else {
                    // `)` ends the call; anything else (an unquoted `${EXTRA_DOMAINS}`) ends our view.
                    return Some(args);
                }
            }
        })
        .collect()
}

/// A v2 placeholder `{name}` or `{name:regex}` in a matcher argument (not an env `${NAME}`).
fn placeholder(arg: &str) -> Option<&str> {
    for (at, _) in arg.match_indices('{') {
        if arg[..at].ends_with('$') {
            continue;
        }
        let inner = &arg[at + 1..];
        let end = inner.find('}')?;
        let name = inner[..end].split(':').next().unwrap_or("");
        let is_name = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if is_name && !name.chars().next().is_some_and(|c| c.is_ascii_digit()) {
            return Some(&arg[at..at + end + 2]);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_rules_are_recognised_and_v3_rules_are_not() {
        let v2 = [
            (
                "Host(`${DOMAIN}`) || HostRegexp(`{subdomain:\\\\w+}.${DOMAIN}`)",
                "the placeholder `{subdomain:\\\\w+}` in `HostRegexp`",
            ),
            ("Host(`docs.coopcloud.tech`, `www.docs.coopcloud.tech`)", "`Host` with 2 arguments"),
            ("Host(`a`) && Headers(`X-A`, `b`)", "`Headers` is `Header` in Traefik 3"),
            ("PathPrefix(`/api/{id}`)", "the placeholder `{id}` in `PathPrefix`"),
        ];
        for (rule, why) in v2 {
            assert_eq!(v2_only(rule).as_deref(), Some(why), "{rule}");
        }
        for rule in [
            "Host(`${DOMAIN}`${EXTRA_DOMAINS})",
            "Host(`${DOMAIN}`) || Host(`www.${DOMAIN}`)",
            "HostRegexp(`^[a-z]+\\.${DOMAIN}$`)",
            "Host(`a`) && Header(`X-A`, `b`) && PathPrefix(`/x{2}`)",
            "HostSNI(`*`)",
        ] {
            assert_eq!(v2_only(rule), None, "{rule}");
        }
    }

    #[test]
    fn docker_provider_references_are_found_in_traefik_labels_only() {
        let line =
            r#"        - "traefik.http.routers.${STACK_NAME}.middlewares=${STACK_NAME}-redirect-aliases@docker""#;
        assert_eq!(docker_provider_reference(line), Some("traefik.http.routers.${STACK_NAME}.middlewares"));
        assert_eq!(
            docker_provider_reference("traefik.http.routers.x.middlewares: a@file, b@docker"),
            Some("traefik.http.routers.x.middlewares")
        );
        assert_eq!(docker_provider_reference(r#"- "traefik.http.routers.x.middlewares=security@file""#), None);
        assert_eq!(docker_provider_reference(r#"- "other.label=a@docker""#), None);
    }

    #[test]
    fn router_rules_are_read_in_list_and_mapping_form() {
        assert_eq!(
            router_rule(r#"        - "traefik.http.routers.${STACK_NAME}.rule=Host(`${DOMAIN}`)""#),
            Some(("${STACK_NAME}", "Host(`${DOMAIN}`)"))
        );
        assert_eq!(
            router_rule("      traefik.tcp.routers.x-muxrpc.rule: HostSNI(`*`)"),
            Some(("x-muxrpc", "HostSNI(`*`)"))
        );
        assert_eq!(router_rule(r#"- "traefik.http.routers.x.entrypoints=web-secure""#), None);
    }
}
