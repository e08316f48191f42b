//! The terminal UI, Elm style: `app` (state), `update` (pure: messages to state changes and
//! effects), `views` (pure drawing from &App), `runtime` (terminal, threads, event loop),
//! `data` (the snapshot the views draw), `client` (the adapter to recipe/queue/store).
pub mod app;
pub mod bench;
pub mod catalogue;
pub mod client;
pub mod data;
#[doc(hidden)]
pub mod fixture;
pub mod runtime;
pub mod series;
pub mod update;
pub mod views;

use std::path::Path;

/// `ablate` / `ablate tui [PRESET|STUDY]`: opens the UI; returns the exit code.
pub fn run(workspace: &Path, target: Option<&str>) -> anyhow::Result<i32> {
    runtime::run(workspace, target)
}
