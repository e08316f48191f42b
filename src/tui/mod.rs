//! The terminal UI (state + update + view). Placeholder until the TUI issue lands.
use std::path::Path;

pub fn run(_workspace: &Path, _target: Option<&str>) -> anyhow::Result<i32> {
    println!("{}", crate::cli::version_line());
    println!("The terminal UI is not built yet; try `ablate doctor`.");
    Ok(0)
}
