//! Descriptive statistics of one sample (a row's per-seed accuracies).

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Describe {
    pub n: usize,
    pub mean: f64,
    /// Sample standard deviation (n-1); NaN when n < 2.
    pub std: f64,
    /// std / sqrt(n); NaN when n < 2.
    pub se: f64,
    pub median: f64,
    pub min: f64,
    pub max: f64,
    /// The best run: accuracies are "higher is better", so this is `max`.
    pub best: f64,
}

/// `None` for an empty sample: a row with no finished seed has no statistics.
pub fn describe(xs: &[f64]) -> Option<Describe> {
    let n = xs.len();
    if n == 0 {
        return None;
    }
    let mean = xs.iter().sum::<f64>() / n as f64;
    let std = if n < 2 {
        f64::NAN
    } else {
        (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
    };
    let mut sorted = xs.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    };
    Some(Describe {
        n,
        mean,
        std,
        se: std / (n as f64).sqrt(),
        median,
        min: sorted[0],
        max: sorted[n - 1],
        best: sorted[n - 1],
    })
}
