//! The run queue: a scheduler per workspace that runs each (recipe, seed) in its own process,
//! and the client calls that edit the queue. No libtorch here; state lives in job files.
//!
//! Public API (the CLI and the TUI use these):
//! - [`client::enqueue_study`]`(ws, study, study_toml, rows, runs, seeds)`: record a study and
//!   queue its runs (deduplicated on (recipe hash, seed), recipe snapshot at enqueue).
//! - [`client::resolve_targets`], [`client::cancel`], [`client::retry`],
//!   [`client::raise_priority`]`(ws, study, row)`, [`client::pause`], [`client::unpause`].
//! - [`client::write_config`]`(ws, QueueConfig)` (devices, per-device slots),
//!   [`client::ensure_scheduler`]`(ws)`: start the detached scheduler if none runs.
//! - [`scheduler::run`]`(ws)`: the scheduler loop (`ablate scheduler`).
//!
//! Child command: `ablate train WS/runs/<id>/recipe.toml --seed S --out WS/runs/<id>
//! --resume --device cuda:0|cpu` with `CUDA_VISIBLE_DEVICES` set; the follow-up step of a
//! run an eval-only row reuses: `ablate evaluate WS/runs/<id> --sweep param=v1,v2,...`.
//! `ABLATE_TRAIN_CMD` replaces the `ablate` binary (tests use a shell script).
//! Exit codes: 0 done, 3 diverged, anything else (or a signal) failed.
//! Backends: [`slurm`] (one `sbatch` job per run when `WS/queue/slurm.json` exists; the
//! scheduler's pass hands over to [`slurm::pass`]) and [`torchrun`] (one row trained by
//! torchvision's own script, its log parsed into metrics.jsonl; run by the CLI directly).
pub mod client;
pub mod devices;
pub mod process;
pub mod scheduler;
pub mod slurm;
pub mod torchrun;

pub use devices::QueueConfig;
