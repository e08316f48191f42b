//! Eval-only rows (e.g. the inference-resize grid): choose the value on half "a" of the
//! validation set, report the "all" accuracy at that value, confirm on half "b".

/// One point of one run's sweep (from `MetricEvent::Sweep`, already filtered to one model).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SweepPoint {
    pub value: f64,
    pub acc1: f64,
    pub acc5: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SweepChoice {
    /// The value maximising the mean acc1 on half "a" over the row's runs.
    pub value: f64,
    /// Mean acc1 on half "a" at `value` (the selection criterion).
    pub mean_a: f64,
    /// Mean acc1 on half "b" at `value` (the confirmation); NaN when no run has half "b".
    pub mean_b: f64,
    /// Per run (same order as the input): the "all" accuracy at `value`, if measured.
    pub per_run: Vec<Option<super::RunAcc>>,
}

/// `runs[i]` = (half "a", half "b", "all") points of run i. `None` when no run has half "a".
/// Ties go to the smaller value (the cheaper resize).
pub fn select_sweep(runs: &[[Vec<SweepPoint>; 3]]) -> Option<SweepChoice> {
    let mean_at = |half: usize, value: f64| {
        let xs: Vec<f64> = runs
            .iter()
            .filter_map(|r| r[half].iter().find(|p| p.value == value).map(|p| p.acc1))
            .collect();
        super::describe(&xs).map_or(f64::NAN, |d| d.mean)
    };
    let mut values: Vec<f64> = runs
        .iter()
        .flat_map(|r| r[0].iter().map(|p| p.value))
        .collect();
    values.sort_by(|a, b| a.total_cmp(b));
    values.dedup();
    let mut best: Option<(f64, f64)> = None;
    for v in values {
        let m = mean_at(0, v);
        if best.is_none_or(|(_, bm)| m > bm) {
            best = Some((v, m));
        }
    }
    let (value, mean_a) = best?;
    let per_run = runs
        .iter()
        .map(|r| {
            r[2].iter()
                .find(|p| p.value == value)
                .map(|p| super::RunAcc {
                    acc1: p.acc1,
                    acc5: p.acc5,
                })
        })
        .collect();
    Some(SweepChoice {
        value,
        mean_a,
        mean_b: mean_at(1, value),
        per_run,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pts(v: &[(f64, f64)]) -> Vec<SweepPoint> {
        v.iter()
            .map(|&(value, acc1)| SweepPoint {
                value,
                acc1,
                acc5: acc1 + 1.0,
            })
            .collect()
    }

    #[test]
    fn selects_on_half_a_reports_all_and_b() {
        // Half a: 232 has mean (80+78)/2 = 79 vs 224: 78.5, 256: 77; "all" at 232: 79.5, 79.
        let runs = vec![
            [
                pts(&[(224.0, 78.0), (232.0, 80.0), (256.0, 77.0)]),
                pts(&[(224.0, 79.0), (232.0, 78.5)]),
                pts(&[(224.0, 78.5), (232.0, 79.5)]),
            ],
            [
                pts(&[(224.0, 79.0), (232.0, 78.0), (256.0, 77.0)]),
                pts(&[(232.0, 77.5)]),
                pts(&[(232.0, 79.0)]),
            ],
        ];
        let c = select_sweep(&runs).unwrap();
        assert_eq!(c.value, 232.0);
        assert_eq!(c.mean_a, 79.0);
        assert_eq!(c.mean_b, 78.0);
        assert_eq!(c.per_run[0].unwrap().acc1, 79.5);
        assert_eq!(c.per_run[1].unwrap().acc5, 80.0);
        assert!(select_sweep(&[]).is_none());
    }
}
