//! Image rules: R003 (every image has a tag), R004 (no unstable tags), R005 (semver-like tags)
//! on each `image:` as written, interpolated with the sample env; C002 (the CI's pre-flight: every
//! image of every rendered combination names a tag or digest, so the deploy is reproducible).

use std::collections::BTreeSet;

use serde_norway::Value;

use super::structure::raw_services;
use super::{Ctx, Level, Report};
use crate::interpolate::{self, Dialect};

/// Tags that move: deploying one twice can give two different apps.
pub const UNSTABLE_TAGS: &[&str] =
    &["latest", "main", "master", "dev", "develop", "nightly", "edge", "testing", "unstable"];

/// An image reference split into repository, tag and digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef<'a> {
    pub repository: &'a str,
    pub tag: Option<&'a str>,
    pub digest: Option<&'a str>,
}

/// Split `registry:port/name:tag@sha256:...`; a `:` before the last `/` is a registry port.
pub fn parse_image(image: &str) -> ImageRef<'_> {
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (image, None),
    };
    let slash = rest.rfind('/').map_or(0, |i| i + 1);
    match rest[slash..].rfind(':') {
        Some(i) => ImageRef { repository: &rest[..slash + i], tag: Some(&rest[slash + i + 1..]), digest },
        None => ImageRef { repository: rest, tag: None, digest },
    }
}

/// Whether a tag looks like a version: optional `v`, a number, then anything (`1.19.2`,
/// `8.0-fpm-alpine3.13`, `17-3.5`).
pub fn is_semver_like(tag: &str) -> bool {
    let body = tag.strip_prefix('v').unwrap_or(tag);
    let digits = body.chars().take_while(char::is_ascii_digit).count();
    digits > 0 && body[digits..].chars().all(|c| c.is_ascii_alphanumeric() || "._-+".contains(c))
}

pub(super) fn check(ctx: &Ctx<'_>, report: &mut Report) {
    for s in raw_services(ctx) {
        let Some(raw) = s.def.get("image").and_then(Value::as_str) else {
            continue;
        };
        let image = match interpolate::substitute(raw, &ctx.env, Dialect::DockerStack) {
            Ok(image) => image,
            Err(_) if raw.contains('$') => continue,
            Err(_) => raw.to_string(),
        };
        let line = super::line_of(s.text, &["services", s.name, "image"]);
        let parsed = parse_image(&image);
        match parsed.tag {
            None if parsed.digest.is_none() => report.add(
                "R003",
                Level::Warning,
                s.file,
                line,
                format!("image `{image}` of service `{}` has no tag", s.name),
                format!("pin a version: `{image}:<version>`"),
            ),
            None => {}
            Some(tag) => {
                if UNSTABLE_TAGS.contains(&tag) {
                    report.add(
                        "R004",
                        Level::Warning,
                        s.file,
                        line,
                        format!("image `{image}` of service `{}` uses the unstable tag `{tag}`", s.name),
                        "use a released version tag instead of a moving one",
                    );
                }
                if !is_semver_like(tag) {
                    report.add(
                        "R005",
                        Level::Warning,
                        s.file,
                        line,
                        format!("image tag `{tag}` of service `{}` is not semver-like", s.name),
                        "use a version tag such as `1.2.3` (suffixes like `-alpine` are fine)",
                    );
                }
            }
        }
    }
    rendered_tags(ctx, report);
}

/// C002 on the rendered combinations.
fn rendered_tags(ctx: &Ctx<'_>, report: &mut Report) {
    let mut seen = BTreeSet::new();
    for combo in &ctx.renders {
        let Some(services) = combo.doc.get("services").and_then(Value::as_mapping) else {
            continue;
        };
        for (name, def) in services {
            let Some(name) = name.as_str() else { continue };
            let image = def.get("image").and_then(Value::as_str).unwrap_or("");
            let parsed = parse_image(image);
            let untagged = parsed.digest.is_none() && parsed.tag.is_none_or(str::is_empty);
            if image.is_empty() || !untagged || !seen.insert((name.to_string(), image.to_string())) {
                continue;
            }
            let (file, line) = ctx.locate_in(&combo.combination.files, &["services", name, "image"]);
            report.add(
                "C002",
                Level::Error,
                file,
                line,
                format!(
                    "service `{name}` deploys image `{image}` without a tag (COMPOSE_FILE={})",
                    combo.combination.files.join(":")
                ),
                "pin the image to a tag (or digest) so every run deploys the same image",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references_split() {
        assert_eq!(parse_image("mariadb").tag, None);
        assert_eq!(parse_image("mariadb:10.6").tag, Some("10.6"));
        let r = parse_image("registry:5000/org/app");
        assert_eq!((r.repository, r.tag), ("registry:5000/org/app", None));
        let r = parse_image("ghcr.io/x/y:1.2@sha256:abc");
        assert_eq!((r.repository, r.tag, r.digest), ("ghcr.io/x/y", Some("1.2"), Some("sha256:abc")));
    }

    #[test]
    fn semver_like_tags() {
        for ok in ["1.19.2", "v2.4.8", "8.0-fpm-alpine3.13", "17-3.5", "1.0.6-social-amd64"] {
            assert!(is_semver_like(ok), "{ok}");
        }
        for bad in ["latest", "testing", "", "v", "stable-1"] {
            assert!(!is_semver_like(bad), "{bad}");
        }
    }
}
