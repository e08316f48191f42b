//! ablate: a terminal workbench for ablation studies of image-classification training recipes.
//!
//! Crate map (one folder per concern; only `engine` touches libtorch):
//! - `recipe`: parameters, ingredients, presets, torchvision flag import/export
//! - `plan`:   stacked / leave-one-out / one-at-a-time / sweep expansion, run identity
//! - `check`:  recipe pitfalls found before queueing
//! - `engine`: models, data, transforms, optimizer, schedules, EMA, train/eval loop (tch)
//! - `store`:  workspace layout, atomic writes, metrics log
//! - `queue`:  scheduler, slots and devices, process supervision
//! - `stats`:  per-row statistics over seeds, diffs, confidence intervals, tests
//! - `export`: table / runs / curves CSV and Markdown
//! - `tui`:    state + update + view
//! - `cli`:    command-line dispatch
pub mod check;
pub mod cli;
pub mod engine;
pub mod export;
pub mod plan;
pub mod queue;
pub mod recipe;
pub mod stats;
pub mod store;
pub mod tui;
