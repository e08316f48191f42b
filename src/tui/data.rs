//! The snapshot the views draw: runs, per-row inputs of the stacked table and per-epoch
//! curves of one study, as plain data. Filled from the workspace by `client::load_snapshot`,
//! from `fixture` in tests. The table itself is `crate::stats::row_table` over `inputs`, so
//! switching the statistic needs no reload.
use crate::stats::{row_table, Metric, RowInput, RowStats, Stat};
pub use crate::store::JobState as RunState;

/// One run (row, seed) as the Runs view shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunView {
    pub id: String,
    pub row: usize,
    pub seed: u64,
    pub state: RunState,
    pub device: String,
    /// Epochs finished so far and in total.
    pub epochs_done: i64,
    pub epochs: i64,
    pub last_loss: Option<f64>,
    /// Latest validation acc@1 (percent).
    pub acc1: Option<f64>,
    pub images_per_sec: Option<f64>,
    /// Mean wall time of its finished epochs.
    pub epoch_time_s: Option<f64>,
    pub eta_s: Option<f64>,
    pub priority: i64,
}

/// The per-epoch series of one run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunCurves {
    pub row: usize,
    pub seed: u64,
    /// (epoch, value); epochs are 1-based on the x axis: the last point is epoch E.
    pub val_acc1: Vec<(f64, f64)>,
    pub train_loss: Vec<(f64, f64)>,
    pub lr: Vec<(f64, f64)>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Snapshot {
    /// Row labels of the queued study ("Baseline", "+ TrivialAugment", ...), in row order.
    pub rows: Vec<String>,
    /// Seeds the study asks for per row.
    pub seeds: u32,
    pub runs: Vec<RunView>,
    pub curves: Vec<RunCurves>,
    /// Per row: finished values and counts of runs not in (the table's input).
    pub inputs: Vec<RowInput>,
    /// Every finished run id in the workspace: queueing them again reuses them.
    pub done_ids: std::collections::BTreeSet<String>,
}

/// The stacked table under `stat`, on acc@1 (acc@5 rides along in each row).
pub fn table(snap: &Snapshot, stat: Stat) -> Vec<RowStats> {
    row_table(&snap.inputs, stat, Metric::Acc1)
}

/// Significance threshold for colouring a difference as a gain or a loss.
pub const ALPHA: f64 = 0.05;

/// +1 a gain beyond seed noise (Welch p < ALPHA vs the row above), -1 such a loss,
/// 0 not significant or not testable (fewer than 2 seeds a side).
pub fn verdict(r: &RowStats) -> i8 {
    match r.incremental.and_then(|d| d.welch) {
        Some(w) if w.p < ALPHA && w.diff > 0.0 => 1,
        Some(w) if w.p < ALPHA && w.diff < 0.0 => -1,
        _ => 0,
    }
}

pub fn next_stat(s: Stat) -> Stat {
    match s {
        Stat::Best => Stat::Mean,
        Stat::Mean => Stat::Median,
        Stat::Median => Stat::Best,
    }
}
