//! Workspace layout, run directories, job states, atomic writes and the metrics log
//! (pure Rust, no libtorch).
//!
//! Public API (the TUI, queue and export use these):
//! - [`Workspace::open`]`(path)`: creates `runs/`, `studies/`, `queue/` if needed.
//! - [`Workspace::runs`]` -> Vec<RunInfo>`: every run with its study rows, state, device, pid,
//!   times, epochs done/total, last loss, acc1, images/s, ETA.
//! - [`Workspace::run`]`(id)`, [`Workspace::curves`]`(id) -> Vec<CurvePoint>`,
//!   [`Workspace::studies`], [`Workspace::study`]`(name) -> StudyRecord`.
//! - [`Job`] (`runs/<id>/job.json`): the queue state of one run; edit it only through
//!   [`Workspace::update_job`], which holds the workspace's job lock.
//!
//! Layout: `WS/runs/<hash>-s<seed>/{recipe.toml, job.json, metrics.jsonl, summary.json,
//! sweep.jsonl, checkpoint/, log.txt}`, `WS/studies/<name>/{study.toml, study.json}`,
//! `WS/queue/{config.json, paused, jobs.lock, scheduler.lock}`, `WS/scheduler.log`.
pub mod atomic;
pub mod job;
pub mod lock;
pub mod metrics;
pub mod run;
pub mod study;
pub mod time;
pub mod workspace;

pub use job::{Job, JobState, Step};
pub use run::{CurvePoint, RunInfo, RunRow};
pub use study::{StudyRecord, StudyRow, StudyRun};
pub use workspace::{Settings, Workspace};
