//! The snapshot the views draw: runs, per-run summaries and per-epoch curves of one study,
//! as plain data. Filled from the workspace by `client::load_snapshot`, from fixtures in tests.
//! Row-level statistics (the stacked table) are derived here from the per-run values so
//! that switching the statistic needs no reload.

use statrs::distribution::{ContinuousCDF, StudentsT};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RunState {
    Queued,
    Running,
    Done,
    Failed,
    Diverged,
    Cancelled,
    Interrupted,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Queued => "queued",
            RunState::Running => "running",
            RunState::Done => "done",
            RunState::Failed => "failed",
            RunState::Diverged => "diverged",
            RunState::Cancelled => "cancelled",
            RunState::Interrupted => "interrupted",
        }
    }
    /// Whether a run in this state can be queued again by `retry`.
    pub fn retryable(self) -> bool {
        matches!(
            self,
            RunState::Failed | RunState::Diverged | RunState::Cancelled | RunState::Interrupted
        )
    }
    pub fn active(self) -> bool {
        matches!(self, RunState::Queued | RunState::Running)
    }
}

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
    pub priority: i32,
    /// Per-run summary values under the study's summary rule (percent), once there is an epoch.
    pub summary_acc1: Option<f64>,
    pub summary_acc5: Option<f64>,
}

/// The per-epoch series of one run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunCurves {
    pub row: usize,
    pub seed: u64,
    /// (epoch, value); epochs are 1-based on the x axis, like torchvision's logs end at epoch E.
    pub val_acc1: Vec<(f64, f64)>,
    pub train_loss: Vec<(f64, f64)>,
    pub lr: Vec<(f64, f64)>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Snapshot {
    /// Row labels of the queued study ("Baseline", "+ TrivialAugment", ...), in row order.
    pub rows: Vec<String>,
    /// Seeds the study asks for per row (the table marks rows with fewer).
    pub seeds: u32,
    pub runs: Vec<RunView>,
    pub curves: Vec<RunCurves>,
}

impl Snapshot {
    /// Run ids that finished (reused when the same recipe and seed are queued again).
    pub fn done_ids(&self) -> impl Iterator<Item = &str> {
        self.runs
            .iter()
            .filter(|r| r.state == RunState::Done)
            .map(|r| r.id.as_str())
    }
}

/// How a row's seeds are summarised into one number (torchvision's post reports the best).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Stat {
    #[default]
    Best,
    Mean,
    Median,
}

impl Stat {
    pub fn next(self) -> Stat {
        match self {
            Stat::Best => Stat::Mean,
            Stat::Mean => Stat::Median,
            Stat::Median => Stat::Best,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Stat::Best => "best",
            Stat::Mean => "mean",
            Stat::Median => "median",
        }
    }
    pub fn apply(self, xs: &[f64]) -> Option<f64> {
        if xs.is_empty() {
            return None;
        }
        Some(match self {
            Stat::Best => xs.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
            Stat::Mean => mean(xs),
            Stat::Median => {
                let mut v = xs.to_vec();
                v.sort_by(|a, b| a.total_cmp(b));
                let m = v.len() / 2;
                if v.len() % 2 == 1 {
                    v[m]
                } else {
                    (v[m - 1] + v[m]) / 2.0
                }
            }
        })
    }
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Sample standard deviation (n-1); None below two values.
pub fn std_dev(xs: &[f64]) -> Option<f64> {
    if xs.len() < 2 {
        return None;
    }
    let m = mean(xs);
    Some((xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() - 1) as f64).sqrt())
}

/// Two-sided Welch t-test p-value of mean(a) != mean(b); None when either side has < 2 values
/// or both have zero variance.
pub fn welch_p(a: &[f64], b: &[f64]) -> Option<f64> {
    let (sa, sb) = (std_dev(a)?, std_dev(b)?);
    let (va, vb) = (sa * sa / a.len() as f64, sb * sb / b.len() as f64);
    let se2 = va + vb;
    if se2 <= 0.0 {
        return None;
    }
    let t = (mean(a) - mean(b)) / se2.sqrt();
    let df = se2 * se2 / (va * va / (a.len() - 1) as f64 + vb * vb / (b.len() - 1) as f64);
    let dist = StudentsT::new(0.0, 1.0, df).ok()?;
    Some(2.0 * (1.0 - dist.cdf(t.abs())))
}

/// One line of the stacked table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableRow {
    pub row: usize,
    pub label: String,
    /// Finished seeds, and seeds the study asks for.
    pub n: usize,
    pub seeds: u32,
    pub acc1: Option<f64>,
    pub acc5: Option<f64>,
    pub std: Option<f64>,
    /// vs the previous row / vs the baseline, under the chosen statistic.
    pub incr: Option<f64>,
    pub abs: Option<f64>,
    /// Welch p-value of the incremental difference (means over seeds).
    pub p_value: Option<f64>,
}

/// Significance threshold for colouring a difference as a gain or a loss.
pub const ALPHA: f64 = 0.05;

impl TableRow {
    /// +1 a gain beyond seed noise, -1 a loss beyond it, 0 not significant (or unknown).
    pub fn verdict(&self) -> i8 {
        match (self.incr, self.p_value) {
            (Some(d), Some(p)) if p < ALPHA && d > 0.0 => 1,
            (Some(d), Some(p)) if p < ALPHA && d < 0.0 => -1,
            _ => 0,
        }
    }
}

/// The stacked table: each row's statistic over its finished seeds, diffs to the previous
/// row and to the baseline.
pub fn table(snap: &Snapshot, stat: Stat) -> Vec<TableRow> {
    let per_row = |row: usize, f: fn(&RunView) -> Option<f64>| -> Vec<f64> {
        snap.runs
            .iter()
            .filter(|r| r.row == row && r.state == RunState::Done)
            .filter_map(f)
            .collect()
    };
    let acc1s: Vec<Vec<f64>> = (0..snap.rows.len())
        .map(|i| per_row(i, |r| r.summary_acc1))
        .collect();
    let mut out: Vec<TableRow> = Vec::new();
    for (i, label) in snap.rows.iter().enumerate() {
        let a1 = stat.apply(&acc1s[i]);
        let a5 = stat.apply(&per_row(i, |r| r.summary_acc5));
        let prev = i.checked_sub(1).and_then(|p| out[p].acc1);
        let base = out.first().and_then(|b| b.acc1);
        out.push(TableRow {
            row: i,
            label: label.clone(),
            n: acc1s[i].len(),
            seeds: snap.seeds,
            acc1: a1,
            acc5: a5,
            std: std_dev(&acc1s[i]),
            incr: a1.zip(prev).map(|(a, p)| a - p),
            abs: if i == 0 {
                None
            } else {
                a1.zip(base).map(|(a, b)| a - b)
            },
            p_value: if i == 0 {
                None
            } else {
                welch_p(&acc1s[i], &acc1s[i - 1])
            },
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_over_seeds() {
        let xs = [76.1, 76.4, 75.9];
        assert_eq!(Stat::Best.apply(&xs), Some(76.4));
        assert!((Stat::Mean.apply(&xs).unwrap() - 76.133_333_333).abs() < 1e-6);
        assert_eq!(Stat::Median.apply(&xs), Some(76.1));
        assert_eq!(Stat::Median.apply(&[1.0, 2.0, 4.0, 9.0]), Some(3.0));
        // numpy: np.std([76.1, 76.4, 75.9], ddof=1) = 0.2516611478423583
        assert!((std_dev(&xs).unwrap() - 0.251_661_147_842_358_3).abs() < 1e-9);
    }

    #[test]
    fn welch_matches_scipy() {
        // Welch: t = -2.611165, df = 6.980769; two-sided p = 0.0349388 (Simpson integration of
        // the Student-t pdf in Python; equals scipy.stats.ttest_ind(..., equal_var=False)).
        let p = welch_p(&[1.0, 2.0, 3.0, 4.0], &[3.0, 4.0, 5.0, 6.0, 7.0]).unwrap();
        assert!((p - 0.034_938_8).abs() < 1e-6, "{p}");
        assert_eq!(welch_p(&[1.0], &[2.0, 3.0]), None);
    }
}
