//! Recipe lint (SPEC R5): abra's rules R001–R015 and the CI's own pre-flight checks C001–C006,
//! each finding with its rule, level, `file:line`, message and how to fix it.
//!
//! One module per rule family; each exposes `check(&Ctx, &mut Report)`. The rules read the raw
//! files of a [`Recipe`] (for positions) and, where meaning depends on interpolation, the
//! rendered documents of [`Ctx`].
//!
//! | id | level | rule |
//! |---|---|---|
//! | R001 | warning | compose files declare `version: "3.8"` |
//! | R002 | warning | every service has a healthcheck |
//! | R003 | warning | every image has a tag |
//! | R004 | warning | no unstable image tags (`latest`, `main`, ...) |
//! | R005 | warning | image tags are semver-like |
//! | R006 | warning | a published (annotated, conforming) release exists |
//! | R007 | warning | README metadata block filled in |
//! | R008 | error | `.env.sample` present |
//! | R009 | error | a service named `app` |
//! | R010 | error | traefik enabled on some service (skippable with `--skip R010`) |
//! | R011 | error | every service has an image |
//! | R012 | error | config versions vendored in `abra.sh` |
//! | R013 | — | recipe repository exists upstream: always skipped (needs the network) |
//! | R014 | error | only annotated tags |
//! | R015 | error | secret names fit Docker's 64 characters under abra's longest stack name |
//! | C001 | error | every Docker name fits its limit under the CI's domain scheme |
//! | C002 | error | every rendered image names a tag |
//! | C003 | error | every file named in a `COMPOSE_FILE` of `.env.sample` exists |
//! | C004 | error | every config `file:` exists in the recipe |
//! | C005 | warning | router rules are in Traefik 3 syntax (a v2 rule matches nothing on Traefik 3) |
//! | C006 | warning | no `<name>@docker` references (Traefik 3 serves swarm services from the `swarm` provider) |

mod ci_names;
mod context;
mod files_rules;
mod images;
mod locate;
mod structure;
mod tags;
mod traefik3;

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

pub use context::{Ctx, RenderedCombo};
pub use locate::{exact_line_of, line_in_block, line_of};

use crate::recipe::Recipe;
use crate::Result;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Error,
    Warning,
    Info,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Error => "ERROR",
            Level::Warning => "WARNING",
            Level::Info => "INFO",
        })
    }
}

/// One problem found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub level: Level,
    /// The file, relative to the recipe directory.
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    pub message: String,
    /// How to fix it.
    pub fix: String,
}

impl Finding {
    /// `file:line: LEVEL RULE message (fix: ...)`.
    pub fn to_line(&self) -> String {
        let place = match self.line {
            Some(line) => format!("{}:{line}", self.file.display()),
            None => self.file.display().to_string(),
        };
        format!("{place}: {} {} {} (fix: {})", self.level, self.rule, self.message, self.fix)
    }
}

/// A rule that was not applied, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub rule: &'static str,
    pub reason: String,
}

/// The result of linting one recipe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub recipe: String,
    pub findings: Vec<Finding>,
    pub skipped: Vec<Skipped>,
}

impl Report {
    pub(crate) fn add(
        &mut self,
        rule: &'static str,
        level: Level,
        file: impl Into<PathBuf>,
        line: Option<usize>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.findings.push(Finding { rule, level, file: file.into(), line, message: message.into(), fix: fix.into() });
    }

    pub(crate) fn skip(&mut self, rule: &'static str, reason: impl Into<String>) {
        self.skipped.push(Skipped { rule, reason: reason.into() });
    }

    /// Whether any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.level == Level::Error)
    }

    /// Findings of one rule.
    pub fn of_rule(&self, rule: &str) -> Vec<&Finding> {
        self.findings.iter().filter(|f| f.rule == rule).collect()
    }
}

/// Options of a lint run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LintOptions {
    /// Rules not to apply (e.g. `R010` for a recipe that is not served through traefik).
    pub skip: Vec<String>,
    /// The CI's base domain for C001; `None` assumes the worst case (see [`ci_names`]).
    pub base_domain: Option<String>,
}

/// Lint a loaded recipe. Fails only when the recipe cannot be read at all (e.g. its compose
/// files do not interpolate with the sample env); every rule violation is a finding.
pub fn lint(recipe: &Recipe, options: &LintOptions) -> Result<Report> {
    let ctx = Ctx::new(recipe, options)?;
    let mut report = Report { recipe: recipe.name.clone(), findings: Vec::new(), skipped: Vec::new() };
    structure::check(&ctx, &mut report);
    images::check(&ctx, &mut report);
    tags::check(&ctx, &mut report);
    files_rules::check(&ctx, &mut report);
    ci_names::check(&ctx, &mut report);
    traefik3::check(&ctx, &mut report);
    if let Some(reason) = ctx.render_skip_reason() {
        for rule in ["C001", "C002"] {
            report.skip(rule, reason.clone());
        }
    }
    report.findings.retain(|f| !options.skip.iter().any(|s| s == f.rule));
    for rule in &options.skip {
        if let Some(id) = ALL_RULES.iter().find(|r| *r == rule) {
            report.skip(id, "skipped on request");
        }
    }
    report.findings.sort_by(|a, b| (&a.file, a.line, a.rule).cmp(&(&b.file, b.line, b.rule)));
    report.skipped.sort_by(|a, b| a.rule.cmp(b.rule));
    report.skipped.dedup_by(|a, b| a.rule == b.rule);
    Ok(report)
}

/// Every rule id, in order.
pub const ALL_RULES: &[&str] = &[
    "R001", "R002", "R003", "R004", "R005", "R006", "R007", "R008", "R009", "R010", "R011", "R012", "R013", "R014",
    "R015", "C001", "C002", "C003", "C004", "C005", "C006",
];
