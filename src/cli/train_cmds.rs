//! `train`, `evaluate`, `bench` (owner: engine).
use super::PresetArgs;
use anyhow::{bail, Result};
use std::path::Path;

pub struct TrainArgs<'a> {
    pub preset: &'a PresetArgs,
    pub row: usize,
    pub seed: u64,
    pub out: &'a Path,
    pub resume: bool,
    pub device: Option<&'a str>,
}

pub fn train(_args: TrainArgs<'_>) -> Result<i32> {
    bail!("`train` is not implemented yet")
}
pub fn evaluate(_run_dir: &Path, _set: &[String]) -> Result<i32> {
    bail!("`evaluate` is not implemented yet")
}
pub fn bench(_args: &[String]) -> Result<i32> {
    bail!("`bench` is not implemented yet")
}
