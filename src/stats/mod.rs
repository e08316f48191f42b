//! Statistics over seeds (pure: plain numbers in, plain numbers out; no I/O, no libtorch).
//!
//! Public API (the TUI and `export` use these):
//! - [`describe`]: n, mean, sample std, standard error, median, min, max, best of a sample.
//! - [`welch`]: difference of means with a 95 % Welch confidence interval and two-sided p-value.
//! - [`run_summary`]: one run's number per the study's `Summary` (final/best epoch, raw/EMA/better).
//! - [`select_sweep`]: an eval-only row's selected value (best mean acc1 on half "a").
//! - [`row_table`]: the stacked table: per row statistics, incremental and absolute diffs.
mod describe;
mod run;
mod sweep;
mod table;
mod welch;

pub use describe::{describe, Describe};
pub use run::{run_summary, RunAcc};
pub use sweep::{select_sweep, SweepChoice, SweepPoint};
pub use table::{row_table, Diff, Metric, RowInput, RowStats, Stat};
pub use welch::{welch, Welch};
