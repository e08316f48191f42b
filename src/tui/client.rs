//! The TUI's only door to the rest of the crate: loading and checking the study (recipe-core),
//! reading the workspace into a `Snapshot` and executing effects (queue-store). Runs on the
//! runtime's worker thread, never in `update`.
use super::app::Finding;
use super::data::{RunCurves, RunState, RunView, Snapshot};
use super::update::{Effect, Msg};
use crate::export::StudyData;
use crate::recipe::{EnvMode, Study};
use crate::store::Workspace;
use anyhow::{Context, Result};
use std::path::Path;

/// A preset (embedded name or file), or a study already queued in the workspace; none opens
/// the default study.
pub fn load_study(workspace: &Path, target: Option<&str>) -> Result<(Study, String)> {
    let name = target.unwrap_or(crate::recipe::presets::DEFAULT);
    let args = |preset: String| crate::cli::PresetArgs {
        preset,
        ..Default::default()
    };
    match crate::recipe::resolve_unvalidated(&args(name.to_string()), EnvMode::Lenient) {
        Ok(s) => Ok((s, name.to_string())),
        Err(e) => {
            // A study queued earlier (`ablate run`, or from this UI) keeps its TOML snapshot.
            let queued = Workspace::open(workspace)?
                .study_dir(name)
                .join("study.toml");
            if queued.is_file() {
                let p = queued.to_string_lossy().to_string();
                let s = crate::recipe::resolve_unvalidated(&args(p.clone()), EnvMode::Lenient)?;
                return Ok((s, p));
            }
            Err(e)
        }
    }
}

/// `check_study`'s findings (notes left out), with row labels; the dataset size comes from
/// what is known without opening the data. Pure: `update` calls it on every edit.
pub fn check(study: &Study, cuda: bool) -> Vec<Finding> {
    use crate::check::{check_study, CheckContext, Severity};
    let ctx = CheckContext::for_dataset(&study.baseline_dataset(), cuda);
    let labels: Vec<String> = crate::plan::expand_unvalidated(study)
        .map(|rows| rows.into_iter().map(|r| r.label).collect())
        .unwrap_or_default();
    check_study(study, &ctx)
        .into_iter()
        .filter(|f| f.severity != Severity::Note)
        .map(|f| Finding {
            error: f.severity == Severity::Error,
            row: labels.get(f.row).cloned().unwrap_or_default(),
            message: match &f.fix {
                Some((k, v)) => format!("{} (fix: {k}={v})", f.message),
                None => f.message,
            },
        })
        .collect()
}

/// Whether this machine has a CUDA GPU (`nvidia-smi -L`, or ABLATE_GPUS): the UI process
/// never loads libtorch.
pub fn cuda_present() -> bool {
    !crate::queue::devices::detect_gpus().is_empty()
}

/// Reads the workspace's view of `study`. A study not queued yet shows its planned rows and
/// no runs.
pub fn load_snapshot(workspace: &Path, study: &Study) -> Result<Snapshot> {
    let ws = Workspace::open(workspace)?;
    let done_ids = ws
        .jobs()
        .into_iter()
        .filter(|j| j.state == RunState::Done)
        .map(|j| j.id)
        .collect();
    if ws.study(&study.name).is_err() {
        let rows = crate::plan::expand_unvalidated(study).unwrap_or_default();
        return Ok(Snapshot {
            rows: rows.into_iter().map(|r| r.label).collect(),
            seeds: study.seeds,
            done_ids,
            ..Default::default()
        });
    }
    let data = StudyData::load(&ws, &study.name)?;
    let mut snap = Snapshot {
        rows: data.rows.iter().map(|r| r.row.label.clone()).collect(),
        seeds: data.record.seeds,
        inputs: data.row_inputs(),
        done_ids,
        ..Default::default()
    };
    let mut seen = std::collections::HashSet::new();
    for rd in &data.rows {
        for entry in &rd.runs {
            // An eval-only row reuses the previous row's runs: list each run once.
            if !seen.insert(entry.id.clone()) {
                continue;
            }
            let Some(info) = &entry.info else { continue };
            let epoch_time_s = match (info.started, info.ended) {
                (Some(s), Some(e)) if info.epochs_done > 0 => {
                    Some((e - s) / info.epochs_done as f64)
                }
                _ => info
                    .eta_s
                    .zip((info.epochs_total > info.epochs_done).then_some(()))
                    .map(|(eta, _)| eta / (info.epochs_total - info.epochs_done) as f64),
            };
            snap.runs.push(RunView {
                id: info.id.clone(),
                row: rd.row.index,
                seed: info.seed,
                state: info.state,
                device: info.device.clone().unwrap_or_default(),
                epochs_done: info.epochs_done,
                epochs: info.epochs_total,
                last_loss: info.last_loss,
                acc1: info.acc1,
                images_per_sec: info.images_per_sec,
                epoch_time_s,
                eta_s: info.eta_s,
                priority: info.job.priority,
            });
            let mut c = RunCurves {
                row: rd.row.index,
                seed: info.seed,
                ..Default::default()
            };
            for p in ws.curves(&entry.id) {
                let x = (p.epoch + 1) as f64;
                match (p.split, p.metric) {
                    ("val", "acc1") => c.val_acc1.push((x, p.value)),
                    ("train", "loss") => c.train_loss.push((x, p.value)),
                    ("train", "lr") => c.lr.push((x, p.value)),
                    _ => {}
                }
            }
            if !c.val_acc1.is_empty() {
                snap.curves.push(c);
            }
        }
    }
    Ok(snap)
}

/// Runs one effect; the outcome comes back as a message-line text.
pub fn execute(workspace: &Path, effect: Effect) -> Msg {
    match try_execute(workspace, effect) {
        Ok(msg) => msg,
        Err(e) => Msg::Error(format!("{e:#}")),
    }
}

fn try_execute(workspace: &Path, effect: Effect) -> Result<Msg> {
    use crate::queue::client;
    let ws = Workspace::open(workspace)?;
    Ok(match effect {
        Effect::Queue { study, force } => {
            let rows = crate::plan::expand(&study)?;
            if study.baseline_dataset().contains("${") {
                anyhow::bail!(
                    "dataset `{}`: set the variable before queueing",
                    study.baseline_dataset()
                );
            }
            let runs = crate::plan::runs(&rows, study.seeds);
            let text = toml::to_string(&*study).context("serialising the study")?;
            let report = client::enqueue_study(&ws, &study, &text, &rows, &runs, study.seeds)?;
            client::ensure_scheduler(&ws)?;
            Msg::Info(format!(
                "queued {}: {} new run(s), {} reused{}",
                study.name,
                report.queued.len(),
                report.existing.len(),
                if force { " (check errors forced)" } else { "" }
            ))
        }
        Effect::Cancel(id) => {
            let out = client::cancel(&ws, std::slice::from_ref(&id))?;
            let state = out.first().map(|(_, s)| s.as_str()).unwrap_or("unknown");
            Msg::Info(format!("{id}: {state} (a running run stops at SIGTERM)"))
        }
        Effect::Retry(id) => {
            let again = client::retry(&ws, std::slice::from_ref(&id))?;
            client::ensure_scheduler(&ws)?;
            Msg::Info(format!("{id}: queued again ({} run)", again.len()))
        }
        Effect::Raise { study, row } => {
            let n = client::raise_priority(&ws, &study, row)?;
            Msg::Info(format!(
                "row {row}: {n} run(s) moved to the front of the queue"
            ))
        }
        Effect::LoadLog(id) => {
            let path = ws.run_dir(&id).join("log.txt");
            let text = crate::queue::scheduler::log_tail(&path, 200)
                .unwrap_or_else(|| format!("(no log yet at {})", path.display()));
            Msg::LogTail { id, text }
        }
        Effect::Export { study } => {
            let data = StudyData::load(&ws, &study)?;
            let dir = ws.root.join("exports").join(&study);
            crate::export::write_csvs(&ws, &data, &dir)?;
            Msg::Info(format!(
                "exported table.csv, runs.csv, curves.csv to {}",
                dir.display()
            ))
        }
    })
}
