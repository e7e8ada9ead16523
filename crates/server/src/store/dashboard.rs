//! Read-only queries for the dashboard, badges and metrics (SPEC V6): the latest result of each
//! recipe per mode, counts per state and outcome, run durations, and a cheap liveness probe.
//! A run has a *result* once it ended `finished` or `error`; `superseded` runs never ran.

use std::collections::HashMap;

use rusqlite::{params, OptionalExtension};

use super::runs::{read_run, Read, COLUMNS};
use super::{Mode, Run, RunState, Store, StoreError};

/// One recipe as the recipes page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipeSummary {
    pub recipe: String,
    /// How many runs of it the store holds, in any state.
    pub runs: u64,
    /// Its latest cold and quick runs that ended (`finished` or `error`), most recently ended first.
    pub cold: Option<Run>,
    pub quick: Option<Run>,
}

/// Durations of the runs of one recipe and mode that ended `finished` (started and finished).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationStat {
    pub recipe: String,
    pub mode: String,
    pub count: u64,
    /// Sum of `finished_at - started_at`, milliseconds.
    pub sum_ms: i64,
    /// The duration of the one that finished last, milliseconds.
    pub last_ms: i64,
}

impl Store {
    /// Every recipe with runs, by name, with its latest result per mode.
    pub fn recipe_summaries(&self) -> Result<Vec<RecipeSummary>, StoreError> {
        let conn = self.conn();
        let mut summaries: Vec<RecipeSummary> = {
            let mut stmt = conn
                .prepare("SELECT recipe, COUNT(*) FROM runs GROUP BY recipe ORDER BY recipe")
                .map_err(|e| self.sqlite(e))?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(RecipeSummary { recipe: r.get(0)?, runs: r.get::<_, i64>(1)? as u64, cold: None, quick: None })
                })
                .map_err(|e| self.sqlite(e))?;
            rows.collect::<rusqlite::Result<_>>().map_err(|e| self.sqlite(e))?
        };
        let latest: Vec<Read<Run>> = {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {COLUMNS} FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY recipe, mode \
                     ORDER BY finished_at DESC, id DESC) AS nth FROM runs WHERE state IN ('finished', 'error')) \
                     WHERE nth = 1"
                ))
                .map_err(|e| self.sqlite(e))?;
            let rows = stmt.query_map([], read_run).map_err(|e| self.sqlite(e))?;
            rows.collect::<rusqlite::Result<_>>().map_err(|e| self.sqlite(e))?
        };
        let index: HashMap<String, usize> = summaries.iter().enumerate().map(|(i, s)| (s.recipe.clone(), i)).collect();
        for run in latest {
            let run = run?;
            if let Some(&i) = index.get(&run.recipe) {
                let slot = match run.mode {
                    // A seed is a cold run (that may also re-seed the canonical copy).
                    Mode::Cold | Mode::Seed => &mut summaries[i].cold,
                    Mode::Quick => &mut summaries[i].quick,
                };
                if slot.as_ref().is_none_or(|had| (had.finished_at, had.id) < (run.finished_at, run.id)) {
                    *slot = Some(run);
                }
            }
        }
        Ok(summaries)
    }

    /// The latest run of `recipe` in `mode` that ended (`finished` or `error`), by when it ended.
    pub fn latest_result(&self, recipe: &str, mode: Mode) -> Result<Option<Run>, StoreError> {
        self.conn()
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM runs WHERE recipe = ?1 AND mode = ?2 AND state IN ('finished', 'error') \
                     ORDER BY finished_at DESC, id DESC LIMIT 1"
                ),
                params![recipe, mode.as_str()],
                read_run,
            )
            .optional()
            .map_err(|e| self.sqlite(e))?
            .transpose()
    }

    /// How many runs are in each state; every state is listed, zero or not.
    pub fn count_by_state(&self) -> Result<Vec<(RunState, u64)>, StoreError> {
        let counts = self.counts("SELECT state, COUNT(*) FROM runs GROUP BY state")?;
        Ok(RunState::ALL.into_iter().map(|s| (s, counts.get(s.as_str()).copied().unwrap_or(0))).collect())
    }

    /// How many runs ended (`finished` or `error`) with each outcome, by outcome name.
    pub fn count_by_outcome(&self) -> Result<HashMap<String, u64>, StoreError> {
        self.counts(
            "SELECT outcome, COUNT(*) FROM runs WHERE state IN ('finished', 'error') AND outcome IS NOT NULL \
             GROUP BY outcome",
        )
    }

    /// Durations of finished runs per recipe and mode, by recipe then mode.
    pub fn duration_stats(&self) -> Result<Vec<DurationStat>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(
                "SELECT recipe, mode, COUNT(*), SUM(finished_at - started_at), \
                   (SELECT l.finished_at - l.started_at FROM runs l WHERE l.recipe = r.recipe AND l.mode = r.mode \
                      AND l.state = 'finished' AND l.started_at IS NOT NULL AND l.finished_at IS NOT NULL \
                    ORDER BY l.finished_at DESC, l.id DESC LIMIT 1) \
                 FROM runs r WHERE state = 'finished' AND started_at IS NOT NULL AND finished_at IS NOT NULL \
                 GROUP BY recipe, mode ORDER BY recipe, mode",
            )
            .map_err(|e| self.sqlite(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(DurationStat {
                    recipe: r.get(0)?,
                    mode: r.get(1)?,
                    count: r.get::<_, i64>(2)? as u64,
                    sum_ms: r.get(3)?,
                    last_ms: r.get(4)?,
                })
            })
            .map_err(|e| self.sqlite(e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| self.sqlite(e))
    }

    /// Whether the store answers a query on its runs table (for `/healthz`).
    pub fn ping(&self) -> Result<(), StoreError> {
        self.conn()
            .query_row("SELECT COUNT(*) FROM (SELECT 1 FROM runs LIMIT 1)", [], |_| Ok(()))
            .map_err(|e| self.sqlite(e))
    }

    /// `SELECT key, COUNT(*) …` as a map.
    fn counts(&self, sql: &str) -> Result<HashMap<String, u64>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(sql).map_err(|e| self.sqlite(e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64)))
            .map_err(|e| self.sqlite(e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| self.sqlite(e))
    }
}
