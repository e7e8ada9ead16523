//! A sweep's report (SPEC S2): per recipe what happened and why — the mirror sync, the newest
//! release, the canonical copy's version, the decision and, for a cold run, its run and outcome —
//! plus the infrastructure step, the wait for runs in flight and the clean-up. Stored as JSON with
//! the sweep, shown on the dashboard's sweeps page and printed by `ccci sweep [--json]`.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::infra::InfraReport;
use super::mirror::MirrorReport;
use crate::disk::cleanup::CleanupReport;

/// What the sweep did for one recipe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Not decided yet (the sweep is still going).
    Pending,
    /// Nothing to do; `why` says why ("no new version: …", "never released: …").
    Skipped { why: String },
    /// A cold run of `tag` (run `run`): promoted on green, the old canonical kept otherwise.
    Tested { tag: String, run: i64, outcome: String, promoted: bool, why: String, notice: String },
    /// The sweep could not do its work for this recipe (mirror sync, forge, run start).
    Failed { error: String },
}

/// One recipe's line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipeReport {
    pub recipe: String,
    /// `owner/name` of its mirror on the forge.
    pub repo: String,
    pub mirror: Option<MirrorReport>,
    /// The newest annotated release tag after the sync.
    pub newest_release: Option<String>,
    /// The canonical copy's version before the sweep acted.
    pub canonical: Option<String>,
    #[serde(flatten)]
    pub action: Action,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepReport {
    pub id: i64,
    /// `schedule` or `hand`.
    pub trigger: String,
    /// Unix milliseconds.
    pub started_at: i64,
    pub finished_at: Option<i64>,
    /// Runs that were in flight when the sweep started (it waited for them), and how long.
    pub waited_for_runs: u64,
    pub waited_ms: u64,
    pub infra: Option<InfraReport>,
    pub recipes: Vec<RecipeReport>,
    pub cleanup: Option<CleanupReport>,
    /// Why the sweep stopped early, if it did.
    pub error: Option<String>,
}

impl SweepReport {
    /// Whether anything needs a person: a red or failed recipe, a failed infra step, an error.
    pub fn needs_attention(&self) -> bool {
        self.error.is_some()
            || matches!(&self.infra, Some(InfraReport::Failed { .. }))
            || matches!(&self.infra, Some(InfraReport::Updated { steps }) if steps.iter().any(|s| !s.ok))
            || self.recipes.iter().any(|r| match &r.action {
                Action::Failed { .. } => true,
                Action::Tested { promoted, .. } => !promoted,
                _ => false,
            })
    }

    /// The run ids the sweep started.
    pub fn runs(&self) -> Vec<i64> {
        self.recipes
            .iter()
            .filter_map(|r| if let Action::Tested { run, .. } = r.action { Some(run) } else { None })
            .collect()
    }

    /// The report for a terminal: one line per step and recipe, runs as dashboard links.
    pub fn text(&self, public_url: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "sweep #{} ({})", self.id, self.trigger);
        if self.waited_for_runs > 0 {
            let _ = writeln!(
                out,
                "waited {:.1} s for {} run(s) in flight",
                self.waited_ms as f64 / 1000.0,
                self.waited_for_runs
            );
        }
        if let Some(infra) = &self.infra {
            let _ = writeln!(out, "infra: {}", infra.summary());
        }
        for r in &self.recipes {
            let _ = writeln!(out, "{}: {}", r.recipe, r.action_line(public_url));
            if let Some(m) = &r.mirror {
                let _ = writeln!(out, "  mirror: {}", m.summary());
            }
        }
        if let Some(cleanup) = &self.cleanup {
            let _ = writeln!(out, "clean-up: {}", cleanup.summary());
        }
        if let Some(error) = &self.error {
            let _ = writeln!(out, "error: {error}");
        }
        out
    }
}

impl RecipeReport {
    /// What was done and why, in one line.
    pub fn action_line(&self, public_url: &str) -> String {
        match &self.action {
            Action::Pending => "pending".into(),
            Action::Skipped { why } => format!("skipped: {why}"),
            Action::Tested { tag, run, outcome, promoted, why, notice } => {
                let verdict = if *promoted { "promoted".to_string() } else { format!("not promoted ({notice})") };
                format!(
                    "{why}: cold run {}/runs/{run} of {tag}: {outcome}, {verdict}",
                    public_url.trim_end_matches('/')
                )
            }
            Action::Failed { error } => format!("failed: {error}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::infra::InfraStep;

    fn report(recipes: Vec<Action>, infra: InfraReport) -> SweepReport {
        SweepReport {
            id: 3,
            trigger: "hand".into(),
            started_at: 0,
            finished_at: Some(1),
            waited_for_runs: 1,
            waited_ms: 2_500,
            infra: Some(infra),
            recipes: recipes
                .into_iter()
                .enumerate()
                .map(|(i, action)| RecipeReport {
                    recipe: format!("r{i}"),
                    repo: format!("o/r{i}"),
                    mirror: None,
                    newest_release: None,
                    canonical: None,
                    action,
                })
                .collect(),
            cleanup: None,
            error: None,
        }
    }

    fn tested(promoted: bool) -> Action {
        Action::Tested {
            tag: "1.1.0+1.36".into(),
            run: 7,
            outcome: if promoted { "pass" } else { "fail" }.into(),
            promoted,
            why: "new release 1.1.0+1.36".into(),
            notice: if promoted { "promoted: …" } else { "not promoted: the run did not pass" }.into(),
        }
    }

    #[test]
    fn what_needs_a_person_is_a_red_run_a_failed_recipe_or_an_infra_step_that_is_not_ok() {
        let skipped = Action::Skipped { why: "no new version".into() };
        let fine = report(vec![tested(true), skipped.clone()], InfraReport::NotConfigured);
        assert!(!fine.needs_attention());
        assert_eq!(fine.runs(), [7]);
        assert!(report(vec![tested(false)], InfraReport::NotConfigured).needs_attention());
        assert!(
            report(vec![Action::Failed { error: "push refused".into() }], InfraReport::NotConfigured).needs_attention()
        );
        let held = InfraStep { app: "proxy".into(), summary: "held: major bump".into(), ok: false };
        assert!(report(vec![skipped], InfraReport::Updated { steps: vec![held] }).needs_attention());
    }

    #[test]
    fn the_text_names_each_step_and_links_runs() {
        let text = report(vec![tested(true)], InfraReport::NotConfigured).text("https://ci.example.org/");
        assert_eq!(
            text,
            "sweep #3 (hand)\nwaited 2.5 s for 1 run(s) in flight\ninfra: not configured\n\
             r0: new release 1.1.0+1.36: cold run https://ci.example.org/runs/7 of 1.1.0+1.36: pass, promoted\n"
        );
    }
}
