//! `ablate run --backend local|slurm|torchrun` (owner: slurm). `local` and `slurm` both go
//! through the queue (the backend is recorded in the workspace for the scheduler);
//! `torchrun` trains one row in the foreground with torchvision's own script.
use super::{queue_cmds, Command, PresetArgs};
use crate::queue::{client, slurm, torchrun};
use crate::store::{JobState, Settings, Workspace};
use anyhow::{bail, Context, Result};
use std::path::Path;

pub fn run(workspace: &Path, cmd: Command) -> Result<i32> {
    let Command::Run {
        preset,
        backend,
        row,
        ..
    } = &cmd
    else {
        bail!("internal: {cmd:?} is not `run`");
    };
    let settings = Settings::load()?;
    let backend = backend
        .clone()
        .or_else(|| settings.backend.clone())
        .unwrap_or_else(|| "local".into());
    if row.is_some() && backend != "torchrun" {
        bail!("--row applies to --backend torchrun only (local and slurm queue every row)");
    }
    let ws = Workspace::open(workspace)?;
    match backend.as_str() {
        "local" => {
            if slurm::has_live(&ws) {
                bail!(
                    "runs of workspace {} are still in Slurm's hands; wait for them or `ablate cancel` them \
                     before switching this workspace to the local backend",
                    ws.root.display()
                );
            }
            slurm::set_backend(&ws, None)?;
            queue_cmds::dispatch(workspace, cmd)
        }
        "slurm" => {
            let s = settings.slurm.clone().unwrap_or_default();
            let local_running = ws
                .jobs()
                .iter()
                .any(|j| j.state == JobState::Running && j.slurm_job.is_none());
            if local_running {
                bail!(
                    "runs of workspace {} are running on this machine; wait for them or cancel them \
                     before switching this workspace to the Slurm backend",
                    ws.root.display()
                );
            }
            slurm::preflight(&ws, &s)?;
            slurm::set_backend(&ws, Some(&s))?;
            queue_cmds::dispatch(workspace, cmd)
        }
        "torchrun" => {
            let Some(row) = *row else {
                bail!("--backend torchrun trains one row: add --row N (see `ablate plan`)");
            };
            torchrun_row(&ws, preset, row, &settings)
        }
        other => bail!("--backend `{other}`: allowed values are local, slurm and torchrun"),
    }
}

/// Trains one row with torchvision's script as study `<name>-torchvision-r<N>`; the run id
/// carries a `tv` suffix so it never shares ablate's own run of the same recipe.
fn torchrun_row(
    ws: &Workspace,
    preset: &PresetArgs,
    row: usize,
    settings: &Settings,
) -> Result<i32> {
    let python = std::env::var("ABLATE_PYTHON").unwrap_or_else(|_| "python3".into());
    let refs = torchrun::check_available(settings.torchvision_references.as_deref(), &python)?;
    let refs = refs
        .parent()
        .context("train.py has a directory")?
        .to_path_buf();
    let mut study = crate::recipe::resolve_study(preset)?;
    let rows = crate::plan::expand(&study)?;
    let Some(r) = rows.iter().find(|r| r.index == row).cloned() else {
        bail!(
            "study `{}` has rows 0..{}; no row {row}",
            study.name,
            rows.len()
        );
    };
    study.name = format!("{}-torchvision-r{row}", study.name);
    study.seeds = 1;
    let mut one = r.clone();
    one.index = 0;
    let mut runs = crate::plan::runs(std::slice::from_ref(&one), 1);
    for spec in &mut runs {
        spec.hash = format!("{}tv", spec.hash);
    }
    let text = toml::to_string(&study).context("serialising the study")?;
    client::enqueue_study(ws, &study, &text, &[one], &runs, 1)?;
    let id = runs[0].id();
    // Claim it at once so that no local scheduler starts ablate's trainer on it.
    let mut claimed = false;
    ws.update_job(&id, |j| {
        if j.state == JobState::Queued || j.state.is_unsuccessful() {
            j.requeue();
            claimed = true;
            j.state = JobState::Running;
            j.device = Some("torchrun".into());
            j.pid = Some(std::process::id() as i32);
            j.attempts += 1;
            j.started.get_or_insert(crate::store::time::now());
        }
    })?;
    if !claimed {
        println!(
            "run {id} of study `{}` is already running or done",
            study.name
        );
        return Ok(0);
    }
    let dir = ws.run_dir(&id);
    println!(
        "training row {row} ({}) with torchvision's train.py in {}; log: {}",
        r.label,
        refs.display(),
        dir.join("log.txt").display()
    );
    let code = torchrun::train(&r.recipe, &refs, &dir, 0);
    let now = crate::store::time::now();
    let tail = crate::queue::scheduler::log_tail(&dir.join("log.txt"), 20);
    ws.update_job(&id, |j| {
        j.pid = None;
        j.ended = Some(now);
        match &code {
            Ok(0) => j.state = JobState::Done,
            Ok(c) => {
                j.state = JobState::Failed;
                j.exit_code = Some(*c);
                j.error = Some(format!("torchrun exited with code {c}"));
                j.log_tail = tail.clone();
            }
            Err(e) => {
                j.state = JobState::Failed;
                j.error = Some(format!("{e:#}"));
            }
        }
    })?;
    let code = code?;
    println!(
        "{}: {} (study `{}`; `ablate table {}`)",
        id,
        if code == 0 { "done" } else { "failed" },
        study.name,
        study.name
    );
    Ok(if code == 0 { 0 } else { 1 })
}
