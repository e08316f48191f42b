//! What a study wants (`studies/<name>/study.json`): its rows and, per row, its runs.
//! Runs live in `runs/` and are shared by every study that wants the same (recipe, seed).
use crate::recipe::{EvalSweep, Summary};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyRecord {
    pub version: u32,
    pub name: String,
    pub seeds: u32,
    pub summary: Summary,
    pub rows: Vec<StudyRow>,
    pub created: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyRow {
    pub index: usize,
    pub label: String,
    pub hash: String,
    /// Set on an eval-only row: its runs are the previous row's, re-evaluated over the sweep.
    #[serde(default)]
    pub eval_sweep: Option<EvalSweep>,
    pub runs: Vec<StudyRun>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyRun {
    pub id: String,
    pub seed: u64,
}

impl StudyRecord {
    /// Builds the record from a plan: `runs` are `plan::runs(rows, seeds)`. An eval-only row
    /// trains nothing: it points at the previous row's runs.
    pub fn from_plan(
        name: &str,
        summary: Summary,
        seeds: u32,
        rows: &[crate::plan::Row],
        runs: &[crate::plan::RunSpec],
    ) -> StudyRecord {
        let mut out: Vec<StudyRow> = Vec::new();
        for row in rows {
            let source = match (&row.eval_sweep, out.last()) {
                (Some(_), Some(prev)) => prev.index,
                _ => row.index,
            };
            let row_runs: Vec<StudyRun> = runs
                .iter()
                .filter(|r| r.row == source)
                .map(|r| StudyRun {
                    id: r.id(),
                    seed: r.seed,
                })
                .collect();
            out.push(StudyRow {
                index: row.index,
                label: row.label.clone(),
                hash: crate::plan::recipe_hash(&row.recipe),
                eval_sweep: row.eval_sweep.clone(),
                runs: row_runs,
            });
        }
        StudyRecord {
            version: 1,
            name: name.to_string(),
            seeds,
            summary,
            rows: out,
            created: super::time::now(),
        }
    }
}
