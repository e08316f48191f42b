//! Curve preparation for the Curves view: seeds aggregated per epoch (mean with min/max or
//! ±std), long series downsampled to the chart width, bounds computed (ratatui's Chart
//! never autoscales). Done once per change in `update`, never per frame.

pub type Series = Vec<(f64, f64)>;

/// Mean over seeds per x, and the band drawn around it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Aggregate {
    pub mean: Series,
    pub lo: Series,
    pub hi: Series,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Band {
    #[default]
    MinMax,
    Std,
}

/// Aggregates seeds point by point on their shared x values (epochs); an x that only some
/// seeds reached yet (live runs) uses those seeds.
pub fn aggregate(seeds: &[&Series], band: Band) -> Aggregate {
    let mut by_x: std::collections::BTreeMap<i64, Vec<f64>> = Default::default();
    for s in seeds {
        for &(x, y) in s.iter() {
            if y.is_finite() {
                // Epoch x values are integers; the key keeps them ordered without float keys.
                by_x.entry((x * 1000.0).round() as i64).or_default().push(y);
            }
        }
    }
    let mut out = Aggregate::default();
    for (k, ys) in by_x {
        let x = k as f64 / 1000.0;
        let n = ys.len() as f64;
        let m = ys.iter().sum::<f64>() / n;
        let (lo, hi) = match band {
            Band::MinMax => (
                ys.iter().cloned().fold(f64::INFINITY, f64::min),
                ys.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
            ),
            Band::Std => {
                // One seed has no spread (describe gives NaN): draw the band on the mean.
                let sd = crate::stats::describe(&ys).map_or(0.0, |d| d.std);
                let sd = if sd.is_nan() { 0.0 } else { sd };
                (m - sd, m + sd)
            }
        };
        out.mean.push((x, m));
        out.lo.push((x, lo));
        out.hi.push((x, hi));
    }
    out
}

/// Reduces a series to at most `2 * buckets` points, keeping each bucket's min and max
/// (in x order) so spikes survive. Short series are returned as they are.
pub fn downsample(s: &[(f64, f64)], buckets: usize) -> Series {
    let buckets = buckets.max(1);
    if s.len() <= 2 * buckets {
        return s.to_vec();
    }
    let mut out = Vec::with_capacity(2 * buckets);
    for b in 0..buckets {
        let (i0, i1) = (b * s.len() / buckets, (b + 1) * s.len() / buckets);
        let chunk = &s[i0..i1];
        if chunk.is_empty() {
            continue;
        }
        let (mut lo, mut hi) = (0, 0);
        for (i, p) in chunk.iter().enumerate() {
            if p.1 < chunk[lo].1 {
                lo = i;
            }
            if p.1 > chunk[hi].1 {
                hi = i;
            }
        }
        let (a, b) = if lo <= hi { (lo, hi) } else { (hi, lo) };
        out.push(chunk[a]);
        if b != a {
            out.push(chunk[b]);
        }
    }
    out
}

/// Bounds over all points with 5 % padding on y; a flat or empty series gets a unit range.
pub fn bounds<'a>(all: impl IntoIterator<Item = &'a Series>) -> ([f64; 2], [f64; 2]) {
    let (mut x0, mut x1, mut y0, mut y1) = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    for s in all {
        for &(x, y) in s {
            if y.is_finite() {
                x0 = x0.min(x);
                x1 = x1.max(x);
                y0 = y0.min(y);
                y1 = y1.max(y);
            }
        }
    }
    if !x0.is_finite() {
        return ([0.0, 1.0], [0.0, 1.0]);
    }
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    let pad = if y1 > y0 {
        (y1 - y0) * 0.05
    } else {
        y0.abs().max(1.0) * 0.05
    };
    ([x0, x1], [y0 - pad, y1 + pad])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregate_mean_and_band() {
        let a = vec![(1.0, 10.0), (2.0, 20.0), (3.0, 30.0)];
        let b = vec![(1.0, 14.0), (2.0, 22.0)];
        let g = aggregate(&[&a, &b], Band::MinMax);
        assert_eq!(g.mean, vec![(1.0, 12.0), (2.0, 21.0), (3.0, 30.0)]);
        assert_eq!(g.lo, vec![(1.0, 10.0), (2.0, 20.0), (3.0, 30.0)]);
        assert_eq!(g.hi, vec![(1.0, 14.0), (2.0, 22.0), (3.0, 30.0)]);
        let s = aggregate(&[&a, &b], Band::Std);
        // std(10, 14, ddof=1) = 2.8284271
        assert!((s.hi[0].1 - (12.0 + 2.828_427_1)).abs() < 1e-6);
        assert_eq!(s.lo[2], (3.0, 30.0));
    }

    #[test]
    fn downsample_keeps_spikes() {
        let mut s: Series = (0..600).map(|i| (i as f64, 1.0)).collect();
        s[301].1 = 9.0;
        s[450].1 = -5.0;
        let d = downsample(&s, 50);
        assert!(d.len() <= 100);
        assert!(d.contains(&(301.0, 9.0)));
        assert!(d.contains(&(450.0, -5.0)));
        assert!(d.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(downsample(&s[..10], 50).len(), 10);
    }

    #[test]
    fn bounds_pad_and_flat() {
        let s = vec![(1.0, 10.0), (5.0, 20.0)];
        assert_eq!(bounds([&s]), ([1.0, 5.0], [9.5, 20.5]));
        let flat = vec![(1.0, 2.0)];
        assert_eq!(bounds([&flat]), ([1.0, 2.0], [1.9, 2.1]));
    }
}
