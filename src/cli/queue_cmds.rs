//! `run`, `status`, `cancel`, `retry`, `resume`, `table`, `export`, `scheduler` (owner: queue/store/stats).
use super::Command;
use anyhow::{bail, Result};
use std::path::Path;

/// Handles every queue/store/stats command; `cmd` is one of those variants.
pub fn dispatch(_workspace: &Path, _cmd: Command) -> Result<i32> {
    bail!("this command is not implemented yet")
}
