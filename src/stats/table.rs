//! The stacked ablation table: per row statistics over seeds, the incremental diff (vs the
//! previous row) and the absolute diff (vs the baseline, row 0).
use super::{describe, welch, Describe, Welch};

/// Which per-row statistic the table shows and diffs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Stat {
    /// The best seed, like torchvision's post (one run per row there).
    #[default]
    Best,
    Mean,
    Median,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Metric {
    #[default]
    Acc1,
    Acc5,
}

impl std::str::FromStr for Stat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "best" => Ok(Stat::Best),
            "mean" => Ok(Stat::Mean),
            "median" => Ok(Stat::Median),
            _ => Err(format!("unknown --stat `{s}`; allowed: best, mean, median")),
        }
    }
}

impl std::str::FromStr for Metric {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "acc1" => Ok(Metric::Acc1),
            "acc5" => Ok(Metric::Acc5),
            _ => Err(format!("unknown --metric `{s}`; allowed: acc1, acc5")),
        }
    }
}

impl Stat {
    pub fn as_str(self) -> &'static str {
        match self {
            Stat::Best => "best",
            Stat::Mean => "mean",
            Stat::Median => "median",
        }
    }
    pub fn of(self, d: &Describe) -> f64 {
        match self {
            Stat::Best => d.best,
            Stat::Mean => d.mean,
            Stat::Median => d.median,
        }
    }
}

impl Metric {
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Acc1 => "acc1",
            Metric::Acc5 => "acc5",
        }
    }
}

/// One row's finished-run values and how many of its runs are not (yet) in.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RowInput {
    pub label: String,
    /// Runs the study wants for this row (its seed count).
    pub expected: usize,
    /// Per finished run (same order in both).
    pub acc1: Vec<f64>,
    pub acc5: Vec<f64>,
    pub queued: usize,
    pub running: usize,
    /// Failed, diverged or cancelled.
    pub failed: usize,
    /// Done, but no readable result (e.g. a corrupt metrics log).
    pub no_result: usize,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Diff {
    /// Difference of the chosen statistic (this row minus the other row).
    pub delta: f64,
    /// Welch test and 95 % CI of the difference of *means* (None with fewer than 2 seeds a side).
    pub welch: Option<Welch>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RowStats {
    pub input: RowInput,
    pub acc1: Option<Describe>,
    pub acc5: Option<Describe>,
    pub incremental: Option<Diff>,
    pub absolute: Option<Diff>,
}

impl RowStats {
    /// Finished runs in this row.
    pub fn n(&self) -> usize {
        self.input.acc1.len()
    }
    pub fn describe(&self, metric: Metric) -> Option<&Describe> {
        match metric {
            Metric::Acc1 => self.acc1.as_ref(),
            Metric::Acc5 => self.acc5.as_ref(),
        }
    }
}

fn diff(a: &RowInput, b: &RowInput, stat: Stat, metric: Metric) -> Option<Diff> {
    let pick = |r: &RowInput| match metric {
        Metric::Acc1 => r.acc1.clone(),
        Metric::Acc5 => r.acc5.clone(),
    };
    let (xa, xb) = (pick(a), pick(b));
    let delta = stat.of(&describe(&xa)?) - stat.of(&describe(&xb)?);
    Some(Diff {
        delta,
        welch: welch(&xa, &xb),
    })
}

/// Rows in study order; row 0 is the baseline. Rows without a finished run get no statistics
/// and no diffs, but stay in the table with their counts.
pub fn row_table(rows: &[RowInput], stat: Stat, metric: Metric) -> Vec<RowStats> {
    rows.iter()
        .enumerate()
        .map(|(i, r)| RowStats {
            input: r.clone(),
            acc1: describe(&r.acc1),
            acc5: describe(&r.acc5),
            incremental: (i > 0)
                .then(|| diff(r, &rows[i - 1], stat, metric))
                .flatten(),
            absolute: (i > 0).then(|| diff(r, &rows[0], stat, metric)).flatten(),
        })
        .collect()
}
