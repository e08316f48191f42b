//! What clients read about one run: queue state (job.json) + progress (metrics.jsonl).
use super::job::{Job, JobState};
use super::metrics::{Eval, MetricEvent};

/// A row of a study that wants this run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRow {
    pub study: String,
    pub row: usize,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RunInfo {
    pub id: String,
    pub seed: u64,
    pub rows: Vec<RunRow>,
    pub state: JobState,
    pub job: Job,
    /// `cuda:K` or `cpu`.
    pub device: Option<String>,
    pub pid: Option<i32>,
    pub started: Option<f64>,
    pub ended: Option<f64>,
    pub epochs_done: i64,
    pub epochs_total: i64,
    /// Last logged training loss (step or epoch).
    pub last_loss: Option<f64>,
    /// Validation acc1 of the raw model at the last finished epoch.
    pub acc1: Option<f64>,
    pub images_per_sec: Option<f64>,
    /// Seconds left, from the mean epoch time of the current process.
    pub eta_s: Option<f64>,
    /// Step of divergence, if it diverged.
    pub diverged_step: Option<i64>,
}

/// One point of a curve (long format, like curves.csv).
#[derive(Debug, Clone, PartialEq)]
pub struct CurvePoint {
    pub epoch: i64,
    /// `train`, `val` or `val_ema`.
    pub split: &'static str,
    /// `loss`, `acc1`, `acc5` or `lr`.
    pub metric: &'static str,
    pub value: f64,
}

/// Progress fields of a run from its metrics events.
pub(crate) fn progress(job: Job, events: &[MetricEvent], recipe_epochs: i64) -> RunInfo {
    let mut info = RunInfo {
        id: job.id.clone(),
        seed: job.seed,
        rows: Vec::new(),
        state: job.state,
        device: job.device.clone(),
        pid: job.pid,
        started: job.started,
        ended: job.ended,
        epochs_done: 0,
        epochs_total: recipe_epochs,
        last_loss: None,
        acc1: None,
        images_per_sec: None,
        eta_s: None,
        diverged_step: None,
        job,
    };
    let mut epoch_times = Vec::new();
    for ev in events {
        match ev {
            MetricEvent::Start { epochs, .. } => {
                info.epochs_total = *epochs;
                epoch_times.clear();
            }
            MetricEvent::Step {
                loss,
                images_per_sec,
                ..
            } => {
                info.last_loss = Some(*loss);
                info.images_per_sec = Some(*images_per_sec);
            }
            MetricEvent::Epoch {
                epoch,
                train_loss,
                val,
                epoch_time_s,
                images_per_sec,
                ..
            } => {
                info.epochs_done = epoch + 1;
                info.last_loss = Some(*train_loss);
                info.acc1 = Some(val.acc1);
                info.images_per_sec = Some(*images_per_sec);
                epoch_times.push(*epoch_time_s);
            }
            MetricEvent::Diverged { global_step, .. } => info.diverged_step = Some(*global_step),
            _ => {}
        }
    }
    if info.state == JobState::Running && !epoch_times.is_empty() {
        let mean = epoch_times.iter().sum::<f64>() / epoch_times.len() as f64;
        info.eta_s = Some(mean * (info.epochs_total - info.epochs_done).max(0) as f64);
    }
    info
}

/// Curves in long format; a resumed run's re-logged epoch replaces the earlier log.
pub(crate) fn curves(events: &[MetricEvent]) -> Vec<CurvePoint> {
    let mut by_epoch = std::collections::BTreeMap::new();
    for ev in events {
        if let MetricEvent::Epoch { epoch, .. } = ev {
            by_epoch.insert(*epoch, ev);
        }
    }
    let mut out = Vec::new();
    for ev in by_epoch.values() {
        let MetricEvent::Epoch {
            epoch,
            lr,
            train_loss,
            train_acc1,
            train_acc5,
            val,
            ema,
            ..
        } = ev
        else {
            continue;
        };
        let mut push = |split, metric, value| {
            out.push(CurvePoint {
                epoch: *epoch,
                split,
                metric,
                value,
            })
        };
        push("train", "lr", *lr);
        push("train", "loss", *train_loss);
        push("train", "acc1", *train_acc1);
        push("train", "acc5", *train_acc5);
        let mut eval = |split, e: &Eval| {
            push(split, "loss", e.loss);
            push(split, "acc1", e.acc1);
            push(split, "acc5", e.acc5);
        };
        eval("val", val);
        if let Some(e) = ema {
            eval("val_ema", e);
        }
    }
    out
}
