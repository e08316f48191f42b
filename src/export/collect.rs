//! Gathers a study's runs from the workspace, with the study's per-run summary number.
use crate::recipe::SummaryModel;
use crate::stats::{run_summary, select_sweep, RowInput, RunAcc, SweepChoice, SweepPoint};
use crate::store::metrics::MetricEvent;
use crate::store::{JobState, RunInfo, StudyRecord, StudyRow, Workspace};

#[derive(Debug, Clone)]
pub struct RunEntry {
    pub id: String,
    pub seed: u64,
    /// `None`: the run was never queued (or its job file is unreadable).
    pub info: Option<RunInfo>,
    /// Raw/EMA x final/best, for runs.csv.
    pub final_raw: Option<RunAcc>,
    pub best_raw: Option<RunAcc>,
    pub final_ema: Option<RunAcc>,
    pub best_ema: Option<RunAcc>,
    /// The number the table uses (study summary; eval-only rows: the sweep's "all" accuracy).
    pub summary: Option<RunAcc>,
}

impl RunEntry {
    pub fn state(&self) -> Option<JobState> {
        self.info.as_ref().map(|i| i.state)
    }
}

#[derive(Debug, Clone)]
pub struct RowData {
    pub row: StudyRow,
    pub runs: Vec<RunEntry>,
    /// Eval-only rows: the chosen value.
    pub sweep: Option<SweepChoice>,
}

#[derive(Debug, Clone)]
pub struct StudyData {
    pub record: StudyRecord,
    pub rows: Vec<RowData>,
}

fn sweep_points(events: &[MetricEvent], param: &str, model: &str) -> [Vec<SweepPoint>; 3] {
    let mut out: [Vec<SweepPoint>; 3] = Default::default();
    for ev in events {
        if let MetricEvent::Sweep {
            param: p,
            value,
            half,
            model: m,
            eval,
        } = ev
        {
            let slot = match half.as_str() {
                "a" => 0,
                "b" => 1,
                "all" => 2,
                _ => continue,
            };
            if p == param && m == model {
                out[slot].push(SweepPoint {
                    value: *value,
                    acc1: eval.acc1,
                    acc5: eval.acc5,
                });
            }
        }
    }
    out
}

impl StudyData {
    pub fn load(ws: &Workspace, name: &str) -> anyhow::Result<StudyData> {
        use crate::recipe::{Summary, SummaryEpoch as E, SummaryModel as M};
        let record = ws.study(name)?;
        let s = |epoch, model| Summary { epoch, model };
        let mut rows = Vec::new();
        for row in &record.rows {
            let mut runs: Vec<RunEntry> = row
                .runs
                .iter()
                .map(|r| {
                    let ev = ws.events(&r.id);
                    RunEntry {
                        id: r.id.clone(),
                        seed: r.seed,
                        info: ws.run(&r.id),
                        final_raw: run_summary(&ev, s(E::Final, M::Raw)),
                        best_raw: run_summary(&ev, s(E::Best, M::Raw)),
                        final_ema: run_summary(&ev, s(E::Final, M::Ema)),
                        best_ema: run_summary(&ev, s(E::Best, M::Ema)),
                        summary: run_summary(&ev, record.summary),
                    }
                })
                .collect();
            let mut sweep = None;
            if let Some(sw) = &row.eval_sweep {
                // The study's summary model; "better": whichever model wins on half "a"
                // (selection never looks at half "b" or "all").
                let models: &[&str] = match record.summary.model {
                    SummaryModel::Raw => &["raw"],
                    SummaryModel::Ema => &["ema"],
                    SummaryModel::Better => &["raw", "ema"],
                };
                for model in models {
                    let points: Vec<_> = runs
                        .iter()
                        .map(|r| sweep_points(&ws.sweep_events(&r.id), &sw.param, model))
                        .collect();
                    if let Some(c) = select_sweep(&points) {
                        if sweep
                            .as_ref()
                            .is_none_or(|b: &SweepChoice| c.mean_a > b.mean_a)
                        {
                            sweep = Some(c);
                        }
                    }
                }
                for (i, r) in runs.iter_mut().enumerate() {
                    r.summary = sweep.as_ref().and_then(|c| c.per_run[i]);
                }
            }
            rows.push(RowData {
                row: row.clone(),
                runs,
                sweep,
            });
        }
        Ok(StudyData { record, rows })
    }

    /// Per row: finished values and counts of runs not in.
    pub fn row_inputs(&self) -> Vec<RowInput> {
        self.rows
            .iter()
            .map(|rd| {
                let mut input = RowInput {
                    label: rd.row.label.clone(),
                    expected: rd.runs.len(),
                    ..Default::default()
                };
                for r in &rd.runs {
                    match (r.state(), r.summary) {
                        (Some(JobState::Done), Some(acc)) => {
                            input.acc1.push(acc.acc1);
                            input.acc5.push(acc.acc5);
                        }
                        (Some(JobState::Done), None) => input.no_result += 1,
                        (Some(JobState::Running), _) => input.running += 1,
                        (Some(s), _) if s.is_unsuccessful() => input.failed += 1,
                        _ => input.queued += 1,
                    }
                }
                input
            })
            .collect()
    }
}
