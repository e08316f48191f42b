//! `plan`, `schedule`, `import-torchvision`, `export-torchvision`, `check` (owner: recipe core).
use super::PresetArgs;
use anyhow::{bail, Result};

pub fn plan(_args: &PresetArgs) -> Result<i32> {
    bail!("`plan` is not implemented yet")
}
pub fn schedule(_args: &PresetArgs, _row: usize) -> Result<i32> {
    bail!("`schedule` is not implemented yet")
}
pub fn import_torchvision(_command: &[String]) -> Result<i32> {
    bail!("`import-torchvision` is not implemented yet")
}
pub fn export_torchvision(_args: &PresetArgs, _row: usize) -> Result<i32> {
    bail!("`export-torchvision` is not implemented yet")
}
pub fn check(_args: &PresetArgs) -> Result<i32> {
    bail!("`check` is not implemented yet")
}
