//! Where a workspace lives, its layout, and reading/writing its jobs, runs and studies.
use super::job::Job;
use super::run::{CurvePoint, RunInfo, RunRow};
use super::study::StudyRecord;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// `--workspace`/`ABLATE_HOME` (clap merges both), else the user's data directory.
pub fn resolve(explicit: Option<&Path>) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    directories::ProjectDirs::from("org", "ablate", "ablate")
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".ablate"))
}

/// User settings (`settings.toml` in the user's config directory); command-line flags win.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Concurrent runs per GPU (or CPU runs without CUDA).
    pub per_device: Option<u32>,
    /// GPUs to use, e.g. `[0, 2, 3]`.
    pub devices: Option<Vec<u32>>,
    /// `local` (default), `slurm` or `torchrun` (see docs/slurm.md).
    pub backend: Option<String>,
    /// `[slurm]`: sbatch settings of the Slurm backend.
    pub slurm: Option<crate::queue::slurm::SlurmSettings>,
    /// A checkout of torchvision's `references/classification` (the torchrun backend).
    pub torchvision_references: Option<PathBuf>,
}

impl Settings {
    pub fn path() -> Option<PathBuf> {
        directories::ProjectDirs::from("org", "ablate", "ablate")
            .map(|d| d.config_dir().join("settings.toml"))
    }
    /// Missing file: defaults. A malformed file is an error naming the file and the key.
    pub fn load() -> Result<Settings> {
        match Self::path() {
            Some(p) => Self::load_from(&p),
            None => Ok(Settings::default()),
        }
    }
    pub fn load_from(path: &Path) -> Result<Settings> {
        match std::fs::read_to_string(path) {
            Ok(text) => toml::from_str(&text).map_err(|e| {
                anyhow::anyhow!(
                    "{}: {e}(allowed keys: per_device = N, devices = [0, 1, ...], backend = \"local\"|\"slurm\"|\"torchrun\", torchvision_references = PATH, [slurm] partition/account/qos/time/gpus/cpus/mem/extra_args/job_name/check_shared_fs/max_attempts)",
                    path.display()
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Settings::default()),
            Err(e) => Err(anyhow::anyhow!("{}: {e}", path.display())),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Workspace {
    pub root: PathBuf,
}

impl Workspace {
    /// Opens (creating if needed) the workspace at `root`.
    pub fn open(root: &Path) -> Result<Workspace> {
        for d in ["runs", "studies", "queue"].map(|d| root.join(d)) {
            std::fs::create_dir_all(&d)
                .with_context(|| format!("cannot create workspace directory {}", d.display()))?;
        }
        // Absolute, so the run directories children get as arguments identify them
        // (adoption matches process command lines against them).
        let root = std::fs::canonicalize(root).with_context(|| format!("{}", root.display()))?;
        Ok(Workspace { root })
    }
    pub fn runs_dir(&self) -> PathBuf {
        self.root.join("runs")
    }
    pub fn run_dir(&self, id: &str) -> PathBuf {
        self.runs_dir().join(id)
    }
    pub fn studies_dir(&self) -> PathBuf {
        self.root.join("studies")
    }
    pub fn study_dir(&self, name: &str) -> PathBuf {
        self.studies_dir().join(name)
    }
    pub fn queue_dir(&self) -> PathBuf {
        self.root.join("queue")
    }
    pub fn scheduler_log(&self) -> PathBuf {
        self.root.join("scheduler.log")
    }
    pub fn scheduler_lock_path(&self) -> PathBuf {
        self.queue_dir().join("scheduler.lock")
    }
    pub fn paused_path(&self) -> PathBuf {
        self.queue_dir().join("paused")
    }
    pub fn is_paused(&self) -> bool {
        self.paused_path().exists()
    }

    /// Holds the job lock: every read-modify-write of a job.json happens under it.
    pub fn lock_jobs(&self) -> Result<super::lock::FileLock> {
        let p = self.queue_dir().join("jobs.lock");
        super::lock::lock(&p).with_context(|| format!("cannot lock {}", p.display()))
    }

    pub fn job_path(&self, id: &str) -> PathBuf {
        self.run_dir(id).join("job.json")
    }
    /// `Ok(None)` when the run has no job; an unreadable job.json is an error naming the file.
    pub fn job(&self, id: &str) -> Result<Option<Job>> {
        let p = self.job_path(id);
        match std::fs::read(&p) {
            Ok(b) => serde_json::from_slice(&b)
                .map(Some)
                .with_context(|| format!("{}: not a valid job file", p.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(anyhow::anyhow!("{}: {e}", p.display())),
        }
    }
    /// Writes a job (caller holds [`Self::lock_jobs`]).
    pub fn write_job(&self, job: &Job) -> Result<()> {
        let p = self.job_path(&job.id);
        super::atomic::write_json_atomic(&p, job).with_context(|| format!("{}", p.display()))
    }
    /// Read-modify-write of one job under the job lock; returns the job as written.
    pub fn update_job(&self, id: &str, f: impl FnOnce(&mut Job)) -> Result<Option<Job>> {
        let _g = self.lock_jobs()?;
        let Some(mut job) = self.job(id)? else {
            return Ok(None);
        };
        f(&mut job);
        self.write_job(&job)?;
        Ok(Some(job))
    }
    /// Every job; unreadable job files are skipped (a run directory may be mid-creation).
    pub fn jobs(&self) -> Vec<Job> {
        let mut out: Vec<Job> = self
            .run_ids()
            .iter()
            .filter_map(|id| self.job(id).ok().flatten())
            .collect();
        out.sort_by_key(|j| j.seq);
        out
    }
    pub fn run_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = std::fs::read_dir(self.runs_dir())
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().is_dir())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        ids.sort();
        ids
    }

    /// The snapshot recipe of a run (`runs/<id>/recipe.toml`).
    pub fn recipe(&self, id: &str) -> Result<crate::recipe::Recipe> {
        let p = self.run_dir(id).join("recipe.toml");
        let text = std::fs::read_to_string(&p).with_context(|| format!("{}", p.display()))?;
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))
    }
    pub fn events(&self, id: &str) -> Vec<super::metrics::MetricEvent> {
        // read_events skips corrupt lines; an unreadable file reads as empty.
        super::metrics::read_events(&self.run_dir(id).join("metrics.jsonl")).unwrap_or_default()
    }
    pub fn sweep_events(&self, id: &str) -> Vec<super::metrics::MetricEvent> {
        super::metrics::read_events(&self.run_dir(id).join("sweep.jsonl")).unwrap_or_default()
    }

    /// One run's info, `None` if it has no job.
    pub fn run(&self, id: &str) -> Option<RunInfo> {
        let job = self.job(id).ok().flatten()?;
        let epochs = self.recipe(id).map(|r| r.epochs).unwrap_or(0);
        let mut info = super::run::progress(job, &self.events(id), epochs);
        info.rows = self.rows_of(id);
        Some(info)
    }
    /// Every run with a job, in queue order.
    pub fn runs(&self) -> Vec<RunInfo> {
        let studies = self.studies();
        self.jobs()
            .into_iter()
            .map(|job| {
                let id = job.id.clone();
                let epochs = self.recipe(&id).map(|r| r.epochs).unwrap_or(0);
                let mut info = super::run::progress(job, &self.events(&id), epochs);
                info.rows = rows_in(&studies, &id);
                info
            })
            .collect()
    }
    fn rows_of(&self, id: &str) -> Vec<RunRow> {
        rows_in(&self.studies(), id)
    }
    pub fn curves(&self, id: &str) -> Vec<CurvePoint> {
        super::run::curves(&self.events(id))
    }

    pub fn save_study(&self, rec: &StudyRecord, study_toml: &str) -> Result<()> {
        let dir = self.study_dir(&rec.name);
        super::atomic::write_atomic(&dir.join("study.toml"), study_toml.as_bytes())
            .with_context(|| format!("{}", dir.display()))?;
        super::atomic::write_json_atomic(&dir.join("study.json"), rec)
            .with_context(|| format!("{}", dir.display()))
    }
    pub fn study(&self, name: &str) -> Result<StudyRecord> {
        let p = self.study_dir(name).join("study.json");
        let bytes = std::fs::read(&p).map_err(|_| {
            let known: Vec<String> = self.studies().into_iter().map(|s| s.name).collect();
            anyhow::anyhow!(
                "no study `{name}` in workspace {} (known: {})",
                self.root.display(),
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            )
        })?;
        serde_json::from_slice(&bytes)
            .with_context(|| format!("{}: not a study record", p.display()))
    }
    /// Every readable study, by name.
    pub fn studies(&self) -> Vec<StudyRecord> {
        let mut out: Vec<StudyRecord> = std::fs::read_dir(self.studies_dir())
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| std::fs::read(e.path().join("study.json")).ok())
            .filter_map(|b| serde_json::from_slice(&b).ok())
            .collect();
        out.sort_by(|a: &StudyRecord, b| a.name.cmp(&b.name));
        out
    }
}

fn rows_in(studies: &[StudyRecord], id: &str) -> Vec<RunRow> {
    studies
        .iter()
        .flat_map(|s| {
            s.rows
                .iter()
                .filter(|r| r.runs.iter().any(|x| x.id == id))
                .map(|r| RunRow {
                    study: s.name.clone(),
                    row: r.index,
                    label: r.label.clone(),
                })
        })
        .collect()
}
