//! Welch's unequal-variance t-test and confidence interval for a difference of means.
use statrs::distribution::{ContinuousCDF, StudentsT};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Welch {
    /// mean(a) - mean(b)
    pub diff: f64,
    pub t: f64,
    /// Welch–Satterthwaite degrees of freedom.
    pub df: f64,
    /// Two-sided p-value.
    pub p: f64,
    /// 95 % confidence interval of mean(a) - mean(b).
    pub ci_low: f64,
    pub ci_high: f64,
}

/// `None` unless both samples have at least 2 values (no variance estimate otherwise).
/// Two samples with zero variance give an infinite t (p = 0) unless the means are equal (p = 1).
pub fn welch(a: &[f64], b: &[f64]) -> Option<Welch> {
    let da = super::describe(a)?;
    let db = super::describe(b)?;
    if da.n < 2 || db.n < 2 {
        return None;
    }
    let (va, vb) = (da.std.powi(2) / da.n as f64, db.std.powi(2) / db.n as f64);
    let diff = da.mean - db.mean;
    let se = (va + vb).sqrt();
    if se == 0.0 {
        let p = if diff == 0.0 { 1.0 } else { 0.0 };
        let t = if diff == 0.0 {
            0.0
        } else {
            diff.signum() * f64::INFINITY
        };
        return Some(Welch {
            diff,
            t,
            df: f64::NAN,
            p,
            ci_low: diff,
            ci_high: diff,
        });
    }
    let df = (va + vb).powi(2) / (va.powi(2) / (da.n - 1) as f64 + vb.powi(2) / (db.n - 1) as f64);
    let t = diff / se;
    let dist = StudentsT::new(0.0, 1.0, df).ok()?;
    let p = 2.0 * (1.0 - dist.cdf(t.abs()));
    let q = dist.inverse_cdf(0.975);
    Some(Welch {
        diff,
        t,
        df,
        p,
        ci_low: diff - q * se,
        ci_high: diff + q * se,
    })
}
