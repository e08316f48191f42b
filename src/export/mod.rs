//! Study results out of the workspace: per-row inputs for the statistics, the stacked diff
//! table (text / Markdown), and the three CSV files.
//!
//! Public API:
//! - [`StudyData::load`]`(ws, name)`: a study's rows and, per row, its runs with their state
//!   and summary accuracy (eval-only rows: the sweep value chosen on half "a").
//! - [`StudyData::row_inputs`]` -> Vec<stats::RowInput>` (feed to `stats::row_table`).
//! - [`render_table`]`(rows, stat, metric, markdown, note)`: torchvision-post layout.
//! - [`write_csvs`]`(data, dir)`: `table.csv`, `runs.csv`, `curves.csv`;
//!   [`read_runs_csv`]`(path)`: the row inputs back from an exported `runs.csv`.
mod collect;
mod csv_files;
mod render;

pub use collect::{RowData, RunEntry, StudyData};
pub use csv_files::{read_runs_csv, write_csvs, RUNS_FIXED_COLUMNS};
pub use render::render_table;
