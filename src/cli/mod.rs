//! Command dispatch: each subcommand hands over to the file that owns it.
pub mod args;
pub mod backend_cmds;
pub mod doctor;
pub mod queue_cmds;
pub mod recipe_cmds;
pub mod train_cmds;

use anyhow::Result;
pub use args::{Cli, Command, PresetArgs};

pub fn version_line() -> String {
    let info = crate::engine::device::LibtorchInfo::probe();
    format!(
        "ablate {} (commit {}) libtorch {} ({} CUDA device{})",
        env!("CARGO_PKG_VERSION"),
        env!("ABLATE_GIT_COMMIT"),
        info.version,
        info.cuda_devices,
        if info.cuda_devices == 1 { "" } else { "s" }
    )
}

pub fn run(cli: Cli) -> Result<i32> {
    if cli.version {
        println!("{}", version_line());
        return Ok(0);
    }
    let workspace = crate::store::workspace::resolve(cli.workspace.as_deref());
    match cli.command {
        None => crate::tui::run(&workspace, None),
        Some(Command::Tui { target }) => crate::tui::run(&workspace, target.as_deref()),
        Some(Command::Doctor) => doctor::run(&workspace),
        Some(Command::Plan(p)) => recipe_cmds::plan(&p),
        Some(Command::Schedule { preset, row }) => recipe_cmds::schedule(&preset, row),
        Some(Command::ImportTorchvision { command }) => recipe_cmds::import_torchvision(&command),
        Some(Command::ExportTorchvision { preset, row }) => {
            recipe_cmds::export_torchvision(&preset, row)
        }
        Some(Command::Check(p)) => recipe_cmds::check(&p),
        Some(Command::Train {
            preset,
            row,
            seed,
            out,
            resume,
            device,
        }) => train_cmds::train(train_cmds::TrainArgs {
            preset: &preset,
            row,
            seed,
            out: &out,
            resume,
            device: device.as_deref(),
        }),
        Some(Command::Evaluate {
            run_dir,
            set,
            sweep,
            device,
        }) => train_cmds::evaluate(&run_dir, &set, sweep.as_deref(), device.as_deref()),
        Some(Command::Bench { args }) => train_cmds::bench(&args),
        Some(cmd @ Command::Run { .. }) => backend_cmds::run(&workspace, cmd),
        Some(other) => queue_cmds::dispatch(&workspace, other),
    }
}
