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
pub fn bench(args: &[String]) -> Result<i32> {
    match args.first().map(String::as_str) {
        Some("transforms") => {
            let report = crate::engine::data::bench::transforms_cli(&args[1..])?;
            println!("{report}");
            Ok(0)
        }
        other => bail!(
            "unknown benchmark `{}`; allowed: transforms (ablate bench transforms --images DIR [--threads N])",
            other.unwrap_or("")
        ),
    }
}
