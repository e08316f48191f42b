//! `run`, `status`, `cancel`, `retry`, `resume`, `table`, `export`, `scheduler` (owner: queue/store/stats).
use super::{Command, PresetArgs};
use crate::export::{render_table, StudyData};
use crate::queue::{client, QueueConfig};
use crate::stats::{row_table, Metric, Stat};
use crate::store::time::iso;
use crate::store::{JobState, RunInfo, Settings, Workspace};
use anyhow::{anyhow, bail, Context, Result};
use std::path::Path;

/// Handles every queue/store/stats command; `cmd` is one of those variants.
pub fn dispatch(workspace: &Path, cmd: Command) -> Result<i32> {
    let ws = Workspace::open(workspace)?;
    match cmd {
        Command::Run {
            preset,
            seeds,
            devices,
            per_device,
            detach,
            force,
            ..
        } => run(
            &ws,
            &preset,
            seeds,
            devices.as_deref(),
            per_device,
            detach,
            force,
        ),
        Command::Status { study } => status(&ws, study.as_deref()),
        Command::Cancel { targets } => {
            let ids = client::resolve_targets(&ws, &need(targets, "cancel")?)?;
            for (id, state) in client::cancel(&ws, &ids)? {
                let what = if state == JobState::Running {
                    "cancelling (SIGTERM sent by the scheduler)"
                } else {
                    state.as_str()
                };
                println!("{id}: {what}");
            }
            Ok(0)
        }
        Command::Retry { targets } => {
            let ids = client::resolve_targets(&ws, &need(targets, "retry")?)?;
            let again = client::retry(&ws, &ids)?;
            println!("queued again: {} run(s){}", again.len(), list(&again));
            start_scheduler(&ws)?;
            Ok(0)
        }
        Command::Resume { targets } => {
            client::unpause(&ws)?;
            if !targets.is_empty() {
                let ids = client::resolve_targets(&ws, &targets)?;
                let again = client::retry(&ws, &ids)?;
                println!("queued again: {} run(s){}", again.len(), list(&again));
            }
            println!("queue resumed");
            start_scheduler(&ws)?;
            Ok(0)
        }
        Command::Table {
            study,
            stat,
            metric,
            markdown,
            runs,
        } => {
            let stat: Stat = stat.parse().map_err(|e: String| anyhow!(e))?;
            let metric: Metric = metric.parse().map_err(|e: String| anyhow!(e))?;
            let (inputs, note) = match runs {
                Some(path) => (
                    crate::export::read_runs_csv(&path)?,
                    format!("Source: {}.", path.display()),
                ),
                None => {
                    let data = StudyData::load(&ws, &pick_study(&ws, study)?)?;
                    let s = data.record.summary;
                    let note = format!(
                        "Per-run value: {} epoch, {} model.",
                        toml_word(&s.epoch),
                        toml_word(&s.model)
                    );
                    (data.row_inputs(), note)
                }
            };
            let rows = row_table(&inputs, stat, metric);
            print!("{}", render_table(&rows, stat, metric, markdown, &note));
            Ok(0)
        }
        Command::Export { study, out } => {
            let data = StudyData::load(&ws, &study)?;
            crate::export::write_csvs(&ws, &data, &out)?;
            for f in ["table.csv", "runs.csv", "curves.csv"] {
                println!("{}", out.join(f).display());
            }
            Ok(0)
        }
        Command::Scheduler { .. } => crate::queue::scheduler::run(&ws),
        other => bail!("internal: {other:?} is not a queue command"),
    }
}

fn toml_word<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

fn need(targets: Vec<String>, cmd: &str) -> Result<Vec<String>> {
    if targets.is_empty() {
        bail!("`ablate {cmd}` needs run ids, a study name or `all`");
    }
    Ok(targets)
}

fn list(ids: &[String]) -> String {
    if ids.is_empty() {
        String::new()
    } else {
        format!(": {}", ids.join(", "))
    }
}

fn pick_study(ws: &Workspace, study: Option<String>) -> Result<String> {
    if let Some(s) = study {
        return Ok(s);
    }
    let names: Vec<String> = ws.studies().into_iter().map(|s| s.name).collect();
    match names.as_slice() {
        [one] => Ok(one.clone()),
        [] => bail!(
            "no study in workspace {}; queue one with `ablate run PRESET`",
            ws.root.display()
        ),
        _ => bail!(
            "several studies in workspace {}: {}; name one",
            ws.root.display(),
            names.join(", ")
        ),
    }
}

fn start_scheduler(ws: &Workspace) -> Result<()> {
    if client::ensure_scheduler(ws)? {
        println!("scheduler started (log: {})", ws.scheduler_log().display());
    }
    Ok(())
}

/// The study to queue and its TOML snapshot (`--set`/`--data` applied).
fn resolve_study(p: &PresetArgs) -> Result<(crate::recipe::Study, String)> {
    let study = crate::recipe::resolve_study(p)?;
    let text = toml::to_string(&study).context("serialising the study")?;
    Ok((study, text))
}

/// `ablate check`'s errors refuse the study (unless --force); warnings are printed.
fn check(study: &crate::recipe::Study, force: bool) -> Result<()> {
    use crate::check::{check_study, CheckContext, Severity};
    let cuda = !crate::queue::devices::detect_gpus().is_empty();
    let ctx = CheckContext::for_dataset(&study.baseline_dataset(), cuda);
    let findings = check_study(study, &ctx);
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    for f in findings.iter().filter(|f| f.severity != Severity::Note) {
        println!(
            "check: row {} {} {}: {}",
            f.row,
            f.severity.as_str(),
            f.code,
            f.message
        );
    }
    if errors > 0 && !force {
        bail!(
            "`ablate check` found {errors} error(s) in study `{}`; fix them or queue with --force",
            study.name
        );
    }
    Ok(())
}

fn run(
    ws: &Workspace,
    preset: &PresetArgs,
    seeds: Option<u32>,
    devices: Option<&str>,
    per_device: Option<u32>,
    detach: bool,
    force: bool,
) -> Result<i32> {
    let (mut study, text) = resolve_study(preset)?;
    if let Some(n) = seeds {
        study.seeds = n;
    }
    check(&study, force)?;
    let settings = Settings::load()?;
    let cfg = QueueConfig {
        devices: match devices {
            Some(d) => Some(crate::queue::devices::parse_devices(d)?),
            None => settings.devices.clone(),
        },
        per_device: per_device.or(settings.per_device),
    };
    // Refuse impossible device requests now rather than in the scheduler's log.
    crate::queue::devices::capacity(&cfg, &crate::queue::devices::detect_gpus())?;
    let rows = crate::plan::expand(&study)?;
    let runs = crate::plan::runs(&rows, study.seeds);
    client::write_config(ws, &cfg)?;
    let report = client::enqueue_study(ws, &study, &text, &rows, &runs, study.seeds)?;
    println!(
        "study `{}`: {} row(s) x {} seed(s); queued {} new run(s), {} already in the workspace",
        study.name,
        rows.len(),
        study.seeds,
        report.queued.len(),
        report.existing.len()
    );
    let retry: Vec<&String> = report
        .existing
        .iter()
        .filter(|(_, s)| s.is_unsuccessful())
        .map(|(id, _)| id)
        .collect();
    if !retry.is_empty() {
        println!(
            "  {} earlier run(s) failed, diverged or were cancelled: `ablate retry {}`",
            retry.len(),
            study.name
        );
    }
    start_scheduler(ws)?;
    if detach {
        return Ok(0);
    }
    follow(ws, &study.name)
}

fn run_line(r: &RunInfo) -> String {
    let rows: Vec<String> = r
        .rows
        .iter()
        .map(|x| format!("{}:{}", x.row, x.label))
        .collect();
    format!(
        "{} [{}] seed {}: {} {} epoch {}/{}{}{}",
        r.id,
        rows.join(" "),
        r.seed,
        r.state,
        r.device.as_deref().unwrap_or("-"),
        r.epochs_done,
        r.epochs_total,
        r.acc1.map(|a| format!(" acc1 {a:.2}")).unwrap_or_default(),
        r.job
            .error
            .as_deref()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default()
    )
}

/// Prints a line whenever a run of the study changes state or finishes an epoch, then the
/// table once nothing is queued or running.
fn follow(ws: &Workspace, study: &str) -> Result<i32> {
    let wanted: std::collections::BTreeSet<String> = ws
        .study(study)?
        .rows
        .iter()
        .flat_map(|r| r.runs.iter().map(|x| x.id.clone()))
        .collect();
    let mut last: std::collections::BTreeMap<String, (JobState, i64)> = Default::default();
    loop {
        let runs: Vec<RunInfo> = ws
            .runs()
            .into_iter()
            .filter(|r| wanted.contains(&r.id))
            .collect();
        for r in &runs {
            let key = (r.state, r.epochs_done);
            if last.get(&r.id) != Some(&key) {
                println!("{} {}", iso(crate::store::time::now()), run_line(r));
                last.insert(r.id.clone(), key);
            }
        }
        if runs.iter().all(|r| r.state.is_finished()) {
            let data = StudyData::load(ws, study)?;
            let rows = row_table(&data.row_inputs(), Stat::Best, Metric::Acc1);
            println!();
            print!(
                "{}",
                render_table(&rows, Stat::Best, Metric::Acc1, false, "")
            );
            return Ok(if runs.iter().any(|r| r.state != JobState::Done) {
                1
            } else {
                0
            });
        }
        if !client::scheduler_running(ws) && !ws.is_paused() {
            // It may have exited on idle just before our enqueue landed.
            client::ensure_scheduler(ws)?;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

fn status(ws: &Workspace, study: Option<&str>) -> Result<i32> {
    let runs: Vec<RunInfo> = match study {
        Some(name) => {
            let rec = ws.study(name)?;
            let ids: std::collections::BTreeSet<String> = rec
                .rows
                .iter()
                .flat_map(|r| r.runs.iter().map(|x| x.id.clone()))
                .collect();
            ws.runs()
                .into_iter()
                .filter(|r| ids.contains(&r.id))
                .collect()
        }
        None => ws.runs(),
    };
    println!(
        "workspace {}: scheduler {}{}",
        ws.root.display(),
        if client::scheduler_running(ws) {
            "running"
        } else {
            "not running"
        },
        if ws.is_paused() { ", queue paused" } else { "" }
    );
    println!(
        "{:<20} {:<24} {:>4} {:<9} {:<7} {:>7} {:>9} {:>8} {:>7} {:>8} {:>8}  note",
        "run", "row", "seed", "state", "device", "pid", "epochs", "loss", "acc1", "img/s", "eta",
    );
    let f = |x: Option<f64>, p: usize| x.map(|v| format!("{v:.p$}")).unwrap_or_else(|| "-".into());
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    for r in &runs {
        *counts.entry(r.state.as_str()).or_default() += 1;
        let rows: Vec<String> = r
            .rows
            .iter()
            .map(|x| format!("{}:{}", x.row, x.label))
            .collect();
        let note = r.job.error.clone().unwrap_or_else(|| {
            if r.job.cancel_requested {
                "cancel requested".into()
            } else {
                String::new()
            }
        });
        println!(
            "{:<20} {:<24} {:>4} {:<9} {:<7} {:>7} {:>9} {:>8} {:>7} {:>8} {:>8}  {}",
            r.id,
            rows.join(" "),
            r.seed,
            r.state.as_str(),
            r.device.as_deref().unwrap_or("-"),
            r.pid.map(|p| p.to_string()).unwrap_or_else(|| "-".into()),
            format!("{}/{}", r.epochs_done, r.epochs_total),
            f(r.last_loss, 4),
            f(r.acc1, 2),
            f(r.images_per_sec, 0),
            r.eta_s
                .map(|s| format!("{}s", s.round()))
                .unwrap_or_else(|| "-".into()),
            note
        );
    }
    let summary: Vec<String> = counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
    println!("{} run(s): {}", runs.len(), summary.join(", "));
    Ok(0)
}
