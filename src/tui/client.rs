//! The TUI's only door to the rest of the crate: loading the study, checking it, reading the
//! workspace into a `Snapshot`, and executing effects (queue, cancel, retry, export...).
//! Everything here runs on the runtime's worker thread, never in `update`.
use super::app::Finding;
use super::data::Snapshot;
use super::update::{Effect, Msg};
use crate::plan::Row;
use crate::recipe::Study;
use anyhow::{Context, Result};
use std::path::Path;

/// The study `ablate` opens with no arguments.
pub const DEFAULT_STUDY: &str = "fashion-mnist-quick";

/// A preset name, a study TOML path, or the default study.
pub fn load_study(target: Option<&str>) -> Result<(Study, String)> {
    let name = target.unwrap_or(DEFAULT_STUDY);
    let path = Path::new(name);
    if path.is_file() {
        return Ok((Study::load(name)?, name.to_string()));
    }
    let preset = Path::new("presets").join(format!("{name}.toml"));
    if preset.is_file() {
        let p = preset.to_string_lossy().to_string();
        return Ok((Study::load(&p)?, name.to_string()));
    }
    anyhow::bail!(
        "{name}: no such study file or preset (looked for {name} and presets/{name}.toml)"
    )
}

/// Findings shown in the Recipe view; an expansion error is one blocking finding.
pub fn check(_study: &Study, rows: &Result<Vec<Row>, String>) -> Vec<Finding> {
    match rows {
        Err(e) => vec![Finding {
            error: true,
            row: String::new(),
            message: e.clone(),
        }],
        Ok(_) => Vec::new(),
    }
}

/// Reads the workspace's view of `study` (rows, runs, curves).
pub fn load_snapshot(_workspace: &Path, study: &Study) -> Result<Snapshot> {
    let rows = crate::plan::expand(study).context("expanding the study")?;
    Ok(Snapshot {
        rows: rows.into_iter().map(|r| r.label).collect(),
        seeds: study.seeds,
        ..Default::default()
    })
}

/// Runs one effect; the result comes back as a message for the message line.
pub fn execute(_workspace: &Path, effect: Effect) -> Msg {
    let res: Result<Msg> = match effect {
        Effect::Queue { study, .. } => Err(anyhow::anyhow!(
            "queueing {} needs the queue (branch queue-store), not merged yet",
            study.name
        )),
        Effect::Cancel(id) | Effect::Retry(id) | Effect::Raise(id) | Effect::LoadLog(id) => Err(
            anyhow::anyhow!("{id}: the queue (branch queue-store) is not merged yet"),
        ),
        Effect::Export { study } => Err(anyhow::anyhow!(
            "export of {study} needs branch queue-store, not merged yet"
        )),
    };
    res.unwrap_or_else(|e| Msg::Error(format!("{e:#}")))
}
