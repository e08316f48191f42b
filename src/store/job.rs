//! The queue state of one run (`runs/<id>/job.json`, written atomically).
use crate::recipe::EvalSweep;
use serde::{Deserialize, Serialize};

pub const JOB_FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Queued,
    Running,
    Done,
    Failed,
    Diverged,
    Cancelled,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
            JobState::Diverged => "diverged",
            JobState::Cancelled => "cancelled",
        }
    }
    /// Failed, diverged or cancelled: `retry` applies.
    pub fn is_unsuccessful(self) -> bool {
        matches!(
            self,
            JobState::Failed | JobState::Diverged | JobState::Cancelled
        )
    }
    pub fn is_finished(self) -> bool {
        !matches!(self, JobState::Queued | JobState::Running)
    }
}

impl std::fmt::Display for JobState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the job's process is doing: training, then (for runs an eval-only row reuses) the
/// `evaluate --sweep` follow-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Step {
    #[default]
    Train,
    Sweep,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub version: u32,
    /// `<recipe hash>-s<seed>` (plan::RunSpec::id).
    pub id: String,
    pub hash: String,
    pub seed: u64,
    pub state: JobState,
    #[serde(default)]
    pub step: Step,
    /// Higher runs first; ties in `seq` (enqueue) order.
    #[serde(default)]
    pub priority: i64,
    pub seq: u64,
    /// Processes started for this job (a resume after a crash is another attempt).
    #[serde(default)]
    pub attempts: u32,
    /// `cuda:K` (K = the physical GPU index the scheduler pinned) or `cpu`.
    #[serde(default)]
    pub device: Option<String>,
    #[serde(default)]
    pub pid: Option<i32>,
    /// Unix times (seconds).
    pub enqueued: f64,
    #[serde(default)]
    pub started: Option<f64>,
    #[serde(default)]
    pub ended: Option<f64>,
    #[serde(default)]
    pub exit_code: Option<i32>,
    #[serde(default)]
    pub signal: Option<i32>,
    /// Why it failed / diverged, one line.
    #[serde(default)]
    pub error: Option<String>,
    /// The last lines of `log.txt` when it failed.
    #[serde(default)]
    pub log_tail: Option<String>,
    /// Set by a client; the scheduler sends SIGTERM to the process group.
    #[serde(default)]
    pub cancel_requested: bool,
    /// Eval-only sweeps to run on the finished checkpoint.
    #[serde(default)]
    pub sweeps: Vec<EvalSweep>,
    /// Slurm backend: the job id of the current submission, what Slurm says of it
    /// (`pending (Priority)`, `running on node07`...), and the node it last ran on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slurm_job: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slurm_state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}

impl Job {
    pub fn new(id: String, hash: String, seed: u64, seq: u64) -> Job {
        Job {
            version: JOB_FORMAT_VERSION,
            id,
            hash,
            seed,
            state: JobState::Queued,
            step: Step::Train,
            priority: 0,
            seq,
            attempts: 0,
            device: None,
            pid: None,
            enqueued: super::time::now(),
            started: None,
            ended: None,
            exit_code: None,
            signal: None,
            error: None,
            log_tail: None,
            cancel_requested: false,
            sweeps: Vec::new(),
            slurm_job: None,
            slurm_state: None,
            node: None,
        }
    }

    /// Back to the queue (retry / resume): keeps attempts, times of the first start, outputs.
    pub fn requeue(&mut self) {
        self.state = JobState::Queued;
        self.step = Step::Train;
        self.pid = None;
        self.ended = None;
        self.exit_code = None;
        self.signal = None;
        self.error = None;
        self.log_tail = None;
        self.cancel_requested = false;
        self.slurm_job = None;
    }
}
