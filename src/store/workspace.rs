//! Where a workspace lives.
use std::path::{Path, PathBuf};

/// `--workspace`/`ABLATE_HOME` (clap merges both), else the user's data directory.
pub fn resolve(explicit: Option<&Path>) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    directories::ProjectDirs::from("org", "ablate", "ablate")
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".ablate"))
}
