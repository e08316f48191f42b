//! The command line. Subcommand and flag names are a contract: tests and users script against them.
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "ablate",
    about = "A terminal workbench for ablation studies of image-classification training recipes",
    disable_version_flag = true
)]
pub struct Cli {
    /// Print the version, git commit, libtorch version and number of CUDA devices.
    #[arg(short = 'V', long = "version")]
    pub version: bool,
    /// Workspace directory (default: $ABLATE_HOME, else the user's data directory).
    #[arg(long, global = true, env = "ABLATE_HOME")]
    pub workspace: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options shared by every command that takes a preset.
#[derive(Args, Debug, Clone, Default)]
pub struct PresetArgs {
    /// A study preset (`presets/*.toml`, or the name of an embedded one) or a recipe TOML.
    pub preset: String,
    /// Override a recipe parameter on every row (repeatable), e.g. `--set epochs=3`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Dataset path (overrides the preset's dataset).
    #[arg(long)]
    pub data: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Open the terminal UI on a preset or a queued study.
    Tui { target: Option<String> },
    /// Check libtorch, CUDA, the workspace and the terminal; print a fix for each problem.
    Doctor,
    /// Print every row of the study's plan with what it changes, the seeds and the run count.
    Plan(PresetArgs),
    /// Print CSV `epoch,lr` for one row: the LR in force during each epoch.
    Schedule {
        #[command(flatten)]
        preset: PresetArgs,
        #[arg(long, default_value_t = 0)]
        row: usize,
    },
    /// Read a torchvision reference command line (after `--`) and print the recipe as TOML.
    ImportTorchvision {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
        command: Vec<String>,
    },
    /// Print the torchrun command that reproduces one row with torchvision's own script.
    ExportTorchvision {
        #[command(flatten)]
        preset: PresetArgs,
        #[arg(long, default_value_t = 0)]
        row: usize,
    },
    /// Report recipe pitfalls per row (errors, warnings, notes) before a GPU hour is spent.
    Check(PresetArgs),
    /// Train one run (one row, one seed) into a run directory.
    Train {
        #[command(flatten)]
        preset: PresetArgs,
        #[arg(long, default_value_t = 0)]
        row: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(long)]
        out: PathBuf,
        /// Continue from the run directory's last checkpoint.
        #[arg(long)]
        resume: bool,
        /// `cpu`, `cuda` or `cuda:K` (default: CUDA if present, else CPU).
        #[arg(long)]
        device: Option<String>,
    },
    /// Re-evaluate a run's checkpoint, optionally with other eval parameters.
    Evaluate {
        run_dir: PathBuf,
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Evaluate each value on val halves a (even), b (odd) and all; append to sweep.jsonl,
        /// e.g. `--sweep val_resize_size=224,232,240`.
        #[arg(long, value_name = "KEY=V1,V2,...")]
        sweep: Option<String>,
        /// `cpu`, `cuda` or `cuda:K` (default: CUDA if present, else CPU).
        #[arg(long)]
        device: Option<String>,
    },
    /// Queue a study on this machine's devices (and show progress unless --detach).
    Run {
        #[command(flatten)]
        preset: PresetArgs,
        #[arg(long)]
        seeds: Option<u32>,
        /// CUDA devices to use, e.g. `0,2,3`.
        #[arg(long)]
        devices: Option<String>,
        /// Concurrent runs per GPU (or CPU runs on a machine without CUDA).
        #[arg(long)]
        per_device: Option<u32>,
        #[arg(long)]
        detach: bool,
        /// Queue even when `ablate check` reports errors.
        #[arg(long)]
        force: bool,
        /// `local` (this machine's devices), `slurm` (one sbatch job per run) or `torchrun`
        /// (one row with torchvision's own script); default: `backend` in settings.toml.
        #[arg(long)]
        backend: Option<String>,
        /// The row to train (`--backend torchrun` only).
        #[arg(long)]
        row: Option<usize>,
    },
    /// List runs and their states.
    Status { study: Option<String> },
    /// Cancel runs (ids, or all runs of a study).
    Cancel { targets: Vec<String> },
    /// Queue failed, diverged or cancelled runs again.
    Retry { targets: Vec<String> },
    /// Resume interrupted runs / unpause the queue.
    Resume { targets: Vec<String> },
    /// Print the stacked diff table of a study.
    Table {
        study: Option<String>,
        #[arg(long, default_value = "best")]
        stat: String,
        #[arg(long, default_value = "acc1")]
        metric: String,
        #[arg(long)]
        markdown: bool,
        /// Compute the table from an exported runs.csv instead of the workspace.
        #[arg(long)]
        runs: Option<PathBuf>,
    },
    /// Write table.csv, runs.csv and curves.csv for a study.
    Export {
        study: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// The background scheduler of a workspace (started on demand; not for direct use).
    #[command(hide = true)]
    Scheduler {
        #[arg(long)]
        foreground: bool,
    },
    /// Performance benchmarks (see BENCHMARKS.md).
    Bench {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
        args: Vec<String>,
    },
}
