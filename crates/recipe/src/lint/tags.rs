//! Release rules from git tags: R006 (a published version exists), R014 (only annotated tags;
//! non-conforming tag names are reported here too) and R013 (recipe repository exists upstream),
//! which needs the network and is always reported as skipped. Findings about tags point at `.`
//! (the recipe as a whole): a tag has no file.

use super::{Ctx, Level, Report};
use crate::recipe::VersionInfo;
use crate::versions::TagNoteKind;

pub(super) fn check(ctx: &Ctx<'_>, report: &mut Report) {
    report.skip("R013", "needs the network: whether the recipe repository exists upstream is not checked offline");
    let versions = match &ctx.recipe.versions {
        VersionInfo::Known(v) => v,
        VersionInfo::Unknown { reason } => {
            for rule in ["R006", "R014"] {
                report.skip(rule, format!("versions unknown: {reason}"));
            }
            return;
        }
    };
    if versions.releases.is_empty() {
        report.add(
            "R006",
            Level::Warning,
            ".",
            None,
            "no published version: the recipe has no annotated `<semver>+<app-version>` tag",
            "release with an annotated tag, e.g. `git tag -a 1.0.0+<app-version> -m 1.0.0+<app-version>`",
        );
    }
    for note in &versions.notes {
        let (rule, level, fix) = match &note.kind {
            TagNoteKind::Lightweight => (
                "R014",
                Level::Error,
                format!("recreate it annotated: `git tag -d {0} && git tag -a {0} -m {0}`", note.tag),
            ),
            TagNoteKind::NonConforming { .. } => (
                "R014",
                Level::Warning,
                "name release tags `<recipe-semver>+<app-version>`, e.g. `1.0.0+2.3.4`".to_string(),
            ),
            TagNoteKind::VPrefixed => {
                ("R006", Level::Info, "drop the `v` prefix on future releases; abra's tags have none".to_string())
            }
        };
        report.add(rule, level, ".", None, note.message(), fix);
    }
}
