//! What clients (the CLI, the TUI) do to the queue: they edit job files under the workspace's
//! job lock and start the scheduler when needed. No sockets: the scheduler re-reads the files.
use super::devices::QueueConfig;
use crate::plan::{Row, RunSpec};
use crate::recipe::Study;
use crate::store::{Job, JobState, StudyRecord, Workspace};
use anyhow::{bail, Context, Result};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct EnqueueReport {
    /// Newly queued run ids.
    pub queued: Vec<String>,
    /// Already known (queued, running, done, or unsuccessful: `retry` them) and left as is.
    pub existing: Vec<(String, JobState)>,
}

/// Records the study and queues its runs. Identical (recipe hash, seed) work is never queued
/// twice: a run another study already has is shared. Each new run gets a snapshot
/// `recipe.toml`, so later edits to a preset never leak into a queued run.
/// `runs` is `plan::runs(rows, seeds)`; runs of eval-only rows are not trained: the
/// previous row's runs get the sweep as a follow-up step instead.
pub fn enqueue_study(
    ws: &Workspace,
    study: &Study,
    study_toml: &str,
    rows: &[Row],
    runs: &[RunSpec],
    seeds: u32,
) -> Result<EnqueueReport> {
    let record = StudyRecord::from_plan(&study.name, study.summary, seeds, rows, runs);
    ws.save_study(&record, study_toml)?;
    let _g = ws.lock_jobs()?;
    let mut seq = ws.jobs().iter().map(|j| j.seq).max().unwrap_or(0);
    let mut report = EnqueueReport::default();
    let eval_only = |row: usize| {
        rows.iter()
            .any(|r| r.index == row && r.eval_sweep.is_some())
    };
    for spec in runs.iter().filter(|s| !eval_only(s.row)) {
        let id = spec.id();
        let sweeps: Vec<_> = record
            .rows
            .iter()
            .filter(|r| r.eval_sweep.is_some() && r.runs.iter().any(|x| x.id == id))
            .filter_map(|r| r.eval_sweep.clone())
            .collect();
        match ws.job(&id)? {
            Some(mut job) => {
                let mut changed = false;
                for sw in sweeps {
                    if !job.sweeps.contains(&sw) {
                        job.sweeps.push(sw);
                        changed = true;
                    }
                }
                // A done run that now needs a sweep goes back for the follow-up step only.
                if changed && job.state == JobState::Done {
                    job.requeue();
                    job.step = crate::store::Step::Sweep;
                }
                if changed {
                    ws.write_job(&job)?;
                }
                report.existing.push((id, job.state));
            }
            None => {
                let dir = ws.run_dir(&id);
                let recipe = toml::to_string(&spec.recipe).context("serialising a recipe")?;
                crate::store::atomic::write_atomic(&dir.join("recipe.toml"), recipe.as_bytes())
                    .with_context(|| format!("{}", dir.display()))?;
                seq += 1;
                let mut job = Job::new(id.clone(), spec.hash.clone(), spec.seed, seq);
                job.sweeps = sweeps;
                ws.write_job(&job)?;
                report.queued.push(id);
            }
        }
    }
    Ok(report)
}

/// Run ids named by `targets`: a run id, a unique prefix of one, a study name (all its
/// runs), or `all`. An unknown target is an error naming it.
pub fn resolve_targets(ws: &Workspace, targets: &[String]) -> Result<Vec<String>> {
    let ids = ws.run_ids();
    let mut out: Vec<String> = Vec::new();
    for t in targets {
        let found: Vec<String> = if t == "all" {
            ids.clone()
        } else if ids.contains(t) {
            vec![t.clone()]
        } else if let Ok(study) = ws.study(t) {
            study
                .rows
                .iter()
                .flat_map(|r| r.runs.iter().map(|x| x.id.clone()))
                .collect()
        } else {
            let m: Vec<String> = ids
                .iter()
                .filter(|i| i.starts_with(t.as_str()))
                .cloned()
                .collect();
            if m.len() > 1 {
                bail!(
                    "`{t}` matches {} runs ({}); give more of the id",
                    m.len(),
                    m.join(", ")
                );
            }
            m
        };
        if found.is_empty() {
            bail!(
                "`{t}` is neither a run id, a study nor `all` in workspace {}",
                ws.root.display()
            );
        }
        for id in found {
            if !out.contains(&id) {
                out.push(id);
            }
        }
    }
    Ok(out)
}

/// Cancels runs: queued ones at once; running ones get `cancel_requested` and the scheduler
/// sends SIGTERM to their process group. Returns (id, state after) for each run touched.
pub fn cancel(ws: &Workspace, ids: &[String]) -> Result<Vec<(String, JobState)>> {
    let mut out = Vec::new();
    for id in ids {
        let job = ws.update_job(id, |j| match j.state {
            JobState::Queued => {
                j.state = JobState::Cancelled;
                j.ended = Some(crate::store::time::now());
            }
            JobState::Running => j.cancel_requested = true,
            _ => {}
        })?;
        if let Some(j) = job {
            out.push((id.clone(), j.state));
        }
    }
    Ok(out)
}

/// Queues failed, diverged or cancelled runs again; they continue from their last checkpoint.
pub fn retry(ws: &Workspace, ids: &[String]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for id in ids {
        let mut touched = false;
        ws.update_job(id, |j| {
            if j.state.is_unsuccessful() {
                j.requeue();
                touched = true;
            }
        })?;
        if touched {
            out.push(id.clone());
        }
    }
    Ok(out)
}

/// Moves a study row's queued runs ahead of every other queued run.
pub fn raise_priority(ws: &Workspace, study: &str, row: usize) -> Result<usize> {
    let rec = ws.study(study)?;
    let Some(r) = rec.rows.iter().find(|r| r.index == row) else {
        bail!(
            "study `{study}` has rows 0..{}; no row {row}",
            rec.rows.len()
        );
    };
    let top = ws.jobs().iter().map(|j| j.priority).max().unwrap_or(0) + 1;
    let mut n = 0;
    for run in &r.runs {
        if ws.update_job(&run.id, |j| j.priority = top)?.is_some() {
            n += 1;
        }
    }
    Ok(n)
}

/// No new run starts while paused; running ones go on.
pub fn pause(ws: &Workspace) -> Result<()> {
    crate::store::atomic::write_atomic(&ws.paused_path(), b"paused\n")
        .with_context(|| format!("{}", ws.paused_path().display()))
}

pub fn unpause(ws: &Workspace) -> Result<()> {
    match std::fs::remove_file(ws.paused_path()) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
        _ => Ok(()),
    }
}

pub fn config_path(ws: &Workspace) -> std::path::PathBuf {
    ws.queue_dir().join("config.json")
}

pub fn read_config(ws: &Workspace) -> QueueConfig {
    std::fs::read(config_path(ws))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// The scheduler re-reads this on every pass: new slots take effect at once.
pub fn write_config(ws: &Workspace, cfg: &QueueConfig) -> Result<()> {
    crate::store::atomic::write_json_atomic(&config_path(ws), cfg)
        .with_context(|| format!("{}", config_path(ws).display()))
}

pub fn scheduler_running(ws: &Workspace) -> bool {
    matches!(
        crate::store::lock::try_lock(&ws.scheduler_lock_path()),
        Ok(None)
    )
}

/// Starts `ablate scheduler` detached (own session, stdio to `WS/scheduler.log`) unless one
/// holds the workspace's scheduler lock. Returns whether it started one.
pub fn ensure_scheduler(ws: &Workspace) -> Result<bool> {
    if scheduler_running(ws) {
        return Ok(false);
    }
    let exe = std::env::current_exe().context("cannot find the ablate binary")?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("scheduler").arg("--workspace").arg(&ws.root);
    super::process::spawn_detached(cmd, &ws.scheduler_log()).with_context(|| {
        format!(
            "cannot start the scheduler (log {})",
            ws.scheduler_log().display()
        )
    })?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn study(text: &str) -> (Study, Vec<Row>, Vec<RunSpec>) {
        let s = Study::from_toml_str(text, "test.toml").unwrap();
        let rows = crate::plan::expand(&s).unwrap();
        let runs = crate::plan::runs(&rows, s.seeds);
        (s, rows, runs)
    }

    #[test]
    fn enqueue_dedupes_shares_runs_and_edits_states() {
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::open(dir.path()).unwrap();
        let a = "name = \"a\"\nseeds = 2\n[baseline]\nepochs = 2\n\
                 [[ingredient]]\nname = \"LS\"\nset = { label_smoothing = 0.1 }\n";
        let (s, rows, runs) = study(a);
        let r = enqueue_study(&ws, &s, a, &rows, &runs, 2).unwrap();
        assert_eq!((r.queued.len(), r.existing.len()), (4, 0));
        // Queue order: seed 0 of both rows, then seed 1.
        let seeds: Vec<u64> = ws.jobs().iter().map(|j| j.seed).collect();
        assert_eq!(seeds, [0, 0, 1, 1]);
        // Another study with the same baseline shares its runs.
        let b = "name = \"b\"\nseeds = 2\n[baseline]\nepochs = 2\n";
        let (s, rows, runs) = study(b);
        let r = enqueue_study(&ws, &s, b, &rows, &runs, 2).unwrap();
        assert_eq!((r.queued.len(), r.existing.len()), (0, 2));
        assert_eq!(
            ws.run(&runs[0].id()).unwrap().rows.len(),
            2,
            "row of a and of b"
        );
        // The snapshot recipe is the resolved one.
        let ls_id = &ws.study("a").unwrap().rows[1].runs[0].id;
        assert_eq!(ws.recipe(ls_id).unwrap().label_smoothing, 0.1);

        assert_eq!(raise_priority(&ws, "a", 1).unwrap(), 2);
        let top: Vec<i64> = ws.jobs().iter().map(|j| j.priority).collect();
        assert_eq!(top, [0, 1, 0, 1]);
        assert!(raise_priority(&ws, "a", 9).is_err());

        let ids = resolve_targets(&ws, &["b".to_string()]).unwrap();
        assert_eq!(ids.len(), 2);
        let states = cancel(&ws, &ids).unwrap();
        assert!(states.iter().all(|(_, s)| *s == JobState::Cancelled));
        assert_eq!(retry(&ws, &ids).unwrap(), ids);
        assert!(ws.jobs().iter().all(|j| j.state == JobState::Queued));
        let err = resolve_targets(&ws, &["zzz".to_string()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("`zzz` is neither"), "{err}");

        pause(&ws).unwrap();
        assert!(ws.is_paused());
        unpause(&ws).unwrap();
        assert!(!ws.is_paused());
    }
}
