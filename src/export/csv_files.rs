//! `table.csv`, `runs.csv`, `curves.csv`: plain comma CSV, one header line, ISO 8601 UTC
//! times, empty cells for missing values (pandas `read_csv` loads them without options).
use super::collect::StudyData;
use crate::stats::{row_table, Diff, Metric, RowInput, RowStats, Stat};
use crate::store::time::iso;
use crate::store::Workspace;
use anyhow::{Context, Result};
use std::path::Path;

/// The columns of runs.csv before the recipe parameters (which follow, alphabetically).
pub const RUNS_FIXED_COLUMNS: &[&str] = &[
    "study",
    "row",
    "ingredient",
    "run_id",
    "hash",
    "seed",
    "state",
    "device",
    "attempts",
    "exit_code",
    "error",
    "enqueued",
    "started",
    "ended",
    "duration_s",
    "epochs_done",
    "epochs_total",
    "final_acc1",
    "final_acc5",
    "best_acc1",
    "best_acc5",
    "final_ema_acc1",
    "final_ema_acc5",
    "best_ema_acc1",
    "best_ema_acc5",
    "summary_acc1",
    "summary_acc5",
    "sweep_param",
    "sweep_value",
];

fn opt<T: ToString>(x: Option<T>) -> String {
    x.map(|v| v.to_string()).unwrap_or_default()
}

fn fnum(x: Option<f64>) -> String {
    match x {
        Some(v) if v.is_finite() => v.to_string(),
        _ => String::new(),
    }
}

/// A recipe parameter as a CSV cell (null → empty).
fn cell(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn recipe_columns() -> Vec<String> {
    let v = serde_json::to_value(crate::recipe::Recipe::default()).expect("recipe serialises");
    v.as_object()
        .map(|m| m.keys().filter(|k| *k != "seed").cloned().collect())
        .unwrap_or_default()
}

fn table_header() -> Vec<String> {
    let mut h: Vec<String> = [
        "row",
        "ingredient",
        "expected",
        "n",
        "queued",
        "running",
        "failed",
        "no_result",
    ]
    .map(String::from)
    .to_vec();
    for m in ["acc1", "acc5"] {
        for s in ["mean", "std", "se", "median", "min", "max", "best"] {
            h.push(format!("{m}_{s}"));
        }
        for kind in ["inc", "abs"] {
            for s in ["best", "mean", "median"] {
                h.push(format!("{m}_{kind}_diff_{s}"));
            }
            for s in ["ci_low", "ci_high", "p"] {
                h.push(format!("{m}_{kind}_{s}"));
            }
        }
    }
    h.extend(["sweep_param", "sweep_value", "sweep_mean_a", "sweep_mean_b"].map(String::from));
    h
}

fn table_lines(inputs: &[RowInput]) -> Vec<Vec<String>> {
    let per = |stat| {
        (
            row_table(inputs, stat, Metric::Acc1),
            row_table(inputs, stat, Metric::Acc5),
        )
    };
    let all = [per(Stat::Best), per(Stat::Mean), per(Stat::Median)];
    let get = |s: usize, m: Metric, i: usize| -> &RowStats {
        match m {
            Metric::Acc1 => &all[s].0[i],
            Metric::Acc5 => &all[s].1[i],
        }
    };
    (0..inputs.len())
        .map(|i| {
            let base = get(1, Metric::Acc1, i);
            let inp = &base.input;
            let mut l = vec![
                i.to_string(),
                inp.label.clone(),
                inp.expected.to_string(),
                base.n().to_string(),
                inp.queued.to_string(),
                inp.running.to_string(),
                inp.failed.to_string(),
                inp.no_result.to_string(),
            ];
            for m in [Metric::Acc1, Metric::Acc5] {
                let d = base.describe(m);
                let fields: [fn(&crate::stats::Describe) -> f64; 7] = [
                    |d| d.mean,
                    |d| d.std,
                    |d| d.se,
                    |d| d.median,
                    |d| d.min,
                    |d| d.max,
                    |d| d.best,
                ];
                for f in fields {
                    l.push(fnum(d.map(f)));
                }
                let diffs = |which: fn(&RowStats) -> Option<Diff>| -> Vec<String> {
                    let mut v: Vec<String> = (0..3)
                        .map(|s| fnum(which(get(s, m, i)).map(|d| d.delta)))
                        .collect();
                    let w = which(get(1, m, i)).and_then(|d| d.welch);
                    v.push(fnum(w.map(|w| w.ci_low)));
                    v.push(fnum(w.map(|w| w.ci_high)));
                    v.push(fnum(w.map(|w| w.p)));
                    v
                };
                l.extend(diffs(|r| r.incremental));
                l.extend(diffs(|r| r.absolute));
            }
            l
        })
        .collect()
}

fn write_csv(path: &Path, header: &[String], lines: &[Vec<String>]) -> Result<()> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header)?;
    for l in lines {
        w.write_record(l)?;
    }
    let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
    crate::store::atomic::write_atomic(path, &bytes).with_context(|| format!("{}", path.display()))
}

/// Writes the three files into `dir` (created if needed).
pub fn write_csvs(ws: &Workspace, data: &StudyData, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("{}", dir.display()))?;
    // table.csv
    let mut lines = table_lines(&data.row_inputs());
    for (l, rd) in lines.iter_mut().zip(&data.rows) {
        let sw = rd.row.eval_sweep.as_ref();
        l.push(opt(sw.map(|s| s.param.clone())));
        l.push(fnum(rd.sweep.as_ref().map(|c| c.value)));
        l.push(fnum(rd.sweep.as_ref().map(|c| c.mean_a)));
        l.push(fnum(rd.sweep.as_ref().map(|c| c.mean_b)));
    }
    write_csv(&dir.join("table.csv"), &table_header(), &lines)?;

    // runs.csv
    let params = recipe_columns();
    let mut header: Vec<String> = RUNS_FIXED_COLUMNS.iter().map(|s| s.to_string()).collect();
    header.extend(params.iter().cloned());
    let mut lines = Vec::new();
    for rd in &data.rows {
        for r in &rd.runs {
            let info = r.info.as_ref();
            let job = info.map(|i| &i.job);
            let (start, end) = (info.and_then(|i| i.started), info.and_then(|i| i.ended));
            let sweep_param = rd.row.eval_sweep.as_ref().map(|s| s.param.clone());
            let sweep_value = rd.sweep.as_ref().map(|c| c.value);
            let mut l = vec![
                data.record.name.clone(),
                rd.row.index.to_string(),
                rd.row.label.clone(),
                r.id.clone(),
                r.id.rsplit_once("-s")
                    .map(|(h, _)| h.to_string())
                    .unwrap_or_default(),
                r.seed.to_string(),
                opt(r.state()),
                opt(info.and_then(|i| i.device.clone())),
                opt(job.map(|j| j.attempts)),
                opt(job.and_then(|j| j.exit_code)),
                opt(job.and_then(|j| j.error.clone())),
                opt(job.map(|j| iso(j.enqueued))),
                opt(start.map(iso)),
                opt(end.map(iso)),
                fnum(start.zip(end).map(|(s, e)| (e - s).round())),
                opt(info.map(|i| i.epochs_done)),
                opt(info.map(|i| i.epochs_total)),
            ];
            for acc in [r.final_raw, r.best_raw, r.final_ema, r.best_ema, r.summary] {
                l.push(fnum(acc.map(|a| a.acc1)));
                l.push(fnum(acc.map(|a| a.acc5)));
            }
            l.push(opt(sweep_param.clone()));
            l.push(fnum(sweep_value));
            let mut recipe = ws
                .recipe(&r.id)
                .ok()
                .and_then(|rc| serde_json::to_value(rc).ok())
                .unwrap_or(serde_json::Value::Null);
            // An eval-only row's recipe is its source run's with the chosen eval value.
            if let (Some(p), Some(v), Some(obj)) =
                (&sweep_param, sweep_value, recipe.as_object_mut())
            {
                obj.insert(p.clone(), serde_json::json!(v as i64));
            }
            for p in &params {
                l.push(recipe.get(p).map(cell).unwrap_or_default());
            }
            lines.push(l);
        }
    }
    write_csv(&dir.join("runs.csv"), &header, &lines)?;

    // curves.csv (each run once, even when several rows share it)
    let mut seen = std::collections::BTreeSet::new();
    let mut lines = Vec::new();
    for r in data.rows.iter().flat_map(|rd| &rd.runs) {
        if !seen.insert(r.id.clone()) {
            continue;
        }
        for p in ws.curves(&r.id) {
            lines.push(vec![
                r.id.clone(),
                p.epoch.to_string(),
                p.split.into(),
                p.metric.into(),
                p.value.to_string(),
            ]);
        }
    }
    let header = ["run_id", "epoch", "split", "metric", "value"].map(String::from);
    write_csv(&dir.join("curves.csv"), &header, &lines)
}

/// Row inputs from an exported runs.csv: rows in `row` order, `summary_acc1/5` of done runs.
pub fn read_runs_csv(path: &Path) -> Result<Vec<RowInput>> {
    let ctx = || format!("{}", path.display());
    let mut rdr = csv::Reader::from_path(path).with_context(ctx)?;
    let headers = rdr.headers().with_context(ctx)?.clone();
    let col = |name: &str| {
        headers.iter().position(|h| h == name).ok_or_else(|| {
            anyhow::anyhow!(
                "{}: missing column `{name}` (an `ablate export` runs.csv has: {})",
                path.display(),
                RUNS_FIXED_COLUMNS.join(", ")
            )
        })
    };
    let (c_row, c_label, c_state, c1, c5) = (
        col("row")?,
        col("ingredient")?,
        col("state")?,
        col("summary_acc1")?,
        col("summary_acc5")?,
    );
    let mut rows: std::collections::BTreeMap<usize, RowInput> = Default::default();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.with_context(|| format!("{}: line {}", path.display(), i + 2))?;
        let row: usize = rec[c_row].parse().map_err(|_| {
            anyhow::anyhow!(
                "{}: line {}: column `row` must be a row index, got `{}`",
                path.display(),
                i + 2,
                &rec[c_row]
            )
        })?;
        let input = rows.entry(row).or_insert_with(|| RowInput {
            label: rec[c_label].to_string(),
            ..Default::default()
        });
        input.expected += 1;
        let parse = |c: usize| rec[c].parse::<f64>().ok();
        match (&rec[c_state], parse(c1), parse(c5)) {
            ("done", Some(a1), Some(a5)) => {
                input.acc1.push(a1);
                input.acc5.push(a5);
            }
            ("done", _, _) => input.no_result += 1,
            ("running", _, _) => input.running += 1,
            ("failed" | "diverged" | "cancelled", _, _) => input.failed += 1,
            _ => input.queued += 1,
        }
    }
    Ok(rows.into_values().collect())
}
