//! Statistics against scipy 1.17.1 / numpy 2.4. Expected values were computed with:
//!
//! ```python
//! import numpy as np
//! from scipy import stats
//! a = np.array([76.13, 76.45, 75.98]); b = np.array([77.02, 76.71, 77.35]); c = np.array([77.50, 77.10])
//! for x in (a, b, c): print(x.mean(), x.std(ddof=1), stats.sem(x), np.median(x))
//! for x, y in ((b, a), (c, b), (c, a)):
//!     r = stats.ttest_ind(x, y, equal_var=False); ci = r.confidence_interval(0.95)
//!     print(r.statistic, r.df, r.pvalue, ci.low, ci.high)
//! ```
use ablate::stats::{describe, row_table, welch, Metric, RowInput, Stat};

const A: [f64; 3] = [76.13, 76.45, 75.98];
const B: [f64; 3] = [77.02, 76.71, 77.35];
const C: [f64; 2] = [77.50, 77.10];

fn close(got: f64, want: f64, tol: f64) {
    assert!((got - want).abs() <= tol, "got {got}, want {want}");
}

#[test]
fn describe_matches_numpy() {
    let d = describe(&A).unwrap();
    assert_eq!(d.n, 3);
    close(d.mean, 76.18666666666667, 1e-12);
    close(d.std, 0.24006943440041156, 1e-12);
    close(d.se, 0.13860415257527883, 1e-12);
    assert_eq!(d.median, 76.13);
    assert_eq!((d.min, d.max, d.best), (75.98, 76.45, 76.45));
    let d = describe(&B).unwrap();
    close(d.std, 0.3200520790954708, 1e-12);
    close(d.se, 0.18478215402046946, 1e-12);
    let d = describe(&C).unwrap();
    close(d.mean, 77.3, 1e-12);
    close(d.std, 0.28284271247462306, 1e-12);
    close(d.median, 77.3, 1e-12);
    let one = describe(&[70.0]).unwrap();
    assert!(one.std.is_nan() && one.se.is_nan());
    assert!(describe(&[]).is_none());
}

#[test]
fn welch_matches_scipy() {
    // (x, y, t, df, p, ci_low, ci_high)
    let cases: [(&[f64], &[f64], [f64; 5]); 3] = [
        (
            &B,
            &A,
            [
                3.6365491603879083,
                3.7094234028297812,
                0.025072968017715563,
                0.17836672500839168,
                1.5016332749915868,
            ],
        ),
        (
            &C,
            &B,
            [
                1.0038140960345243,
                2.5183674874047934,
                0.40197019298427783,
                -0.6949661019803912,
                1.2416327686470723,
            ],
        ),
        (
            &C,
            &A,
            [
                4.575342465753364,
                1.9646343905438837,
                0.04611437370011903,
                0.04808477212504947,
                2.17858189454161,
            ],
        ),
    ];
    for (x, y, [t, df, p, lo, hi]) in cases {
        let w = welch(x, y).unwrap();
        close(w.t, t, 1e-9);
        close(w.df, df, 1e-9);
        close(w.p, p, 1e-8);
        close(w.ci_low, lo, 1e-8);
        close(w.ci_high, hi, 1e-8);
    }
    assert!(
        welch(&A, &[77.0]).is_none(),
        "one seed has no variance estimate"
    );
}

#[test]
fn row_table_diffs_and_counts() {
    let row = |label: &str, xs: &[f64], queued, running, failed| RowInput {
        label: label.into(),
        expected: 3,
        acc1: xs.to_vec(),
        acc5: xs.iter().map(|x| x + 15.0).collect(),
        queued,
        running,
        failed,
        no_result: 0,
    };
    let rows = vec![
        row("Baseline", &A, 0, 0, 0),
        row("+ LR opt", &B, 0, 0, 0),
        row("+ TA", &C, 0, 1, 0),
        row("+ Long", &[], 1, 0, 2),
    ];
    let t = row_table(&rows, Stat::Mean, Metric::Acc1);
    assert_eq!(t.len(), 4, "rows without results stay in the table");
    assert!(t[0].incremental.is_none() && t[0].absolute.is_none());
    let inc = t[1].incremental.unwrap();
    close(inc.delta, 77.02666666666666 - 76.18666666666667, 1e-12);
    close(inc.welch.unwrap().p, 0.025072968017715563, 1e-8);
    let abs2 = t[2].absolute.unwrap();
    close(abs2.welch.unwrap().ci_low, 0.04808477212504947, 1e-8);
    assert_eq!(t[2].n(), 2);
    assert_eq!(t[2].input.running, 1);
    assert!(t[3].acc1.is_none() && t[3].incremental.is_none());
    assert_eq!((t[3].input.queued, t[3].input.failed), (1, 2));
    // "best" diffs the best seeds: 77.35 - 76.45; median: 77.3 - 77.02 on acc5 too.
    let t = row_table(&rows, Stat::Best, Metric::Acc1);
    close(t[1].incremental.unwrap().delta, 0.9, 1e-9);
    let t = row_table(&rows, Stat::Median, Metric::Acc5);
    close(t[2].incremental.unwrap().delta, 0.28, 1e-9);
}
