//! The per-epoch checkpoint of a run (`RUN_DIR/checkpoint/`): `model.safetensors`,
//! `ema.safetensors` (when EMA is on), `optim.safetensors` (SGD momentum buffers) and
//! `state.json`, each written under a temporary name then renamed; `state.json` goes last,
//! so a checkpoint is complete exactly when its state.json names its epoch.
use super::optim::Sgd;
use crate::store::atomic::write_json_atomic;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use tch::nn::VarStore;

pub const STATE_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub version: u32,
    /// Last completed epoch (0-based): training resumes at epoch + 1.
    pub epoch: i64,
    pub global_step: i64,
    /// AMP dynamic loss scale and its count of finite steps since the last change.
    pub loss_scale: f64,
    pub good_steps: u64,
    /// AveragedModel's n_averaged of the EMA model.
    pub ema_n_averaged: u64,
    pub seed: u64,
    /// recipe_hash of the run's recipe: resuming another recipe is refused.
    pub recipe_hash: String,
}

pub fn dir(run_dir: &Path) -> PathBuf {
    run_dir.join("checkpoint")
}

fn save_vs(vs: &VarStore, dst: &Path) -> Result<()> {
    // VarStore::save picks the format from the extension: keep `.safetensors` on the temp name.
    let tmp = dst.with_extension("tmp.safetensors");
    vs.save(&tmp)
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, dst).with_context(|| format!("renaming to {}", dst.display()))
}

pub fn save(
    run_dir: &Path,
    model: &VarStore,
    ema: Option<&VarStore>,
    sgd: &Sgd,
    state: &State,
) -> Result<()> {
    let d = dir(run_dir);
    std::fs::create_dir_all(&d).with_context(|| format!("creating {}", d.display()))?;
    save_vs(model, &d.join("model.safetensors"))?;
    if let Some(e) = ema {
        save_vs(e, &d.join("ema.safetensors"))?;
    }
    let tmp = d.join("optim.tmp.safetensors");
    sgd.save(&tmp)?;
    std::fs::rename(&tmp, d.join("optim.safetensors"))?;
    write_json_atomic(&d.join("state.json"), state)
        .with_context(|| format!("writing {}/state.json", d.display()))
}

/// The checkpoint's state, or None when the run has none yet.
pub fn load_state(run_dir: &Path) -> Result<Option<State>> {
    let p = dir(run_dir).join("state.json");
    match std::fs::read(&p) {
        Ok(bytes) => {
            Ok(Some(serde_json::from_slice(&bytes).with_context(|| {
                format!("{}: not a checkpoint state", p.display())
            })?))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", p.display())),
    }
}

/// Loads a VarStore from `checkpoint/<name>.safetensors`, keeping the store's dtype (tch's
/// `load` adopts the file's dtype; ours are always written in float32).
pub fn load_vs(run_dir: &Path, name: &str, vs: &mut VarStore) -> Result<()> {
    let p = dir(run_dir).join(format!("{name}.safetensors"));
    vs.load(&p)
        .with_context(|| format!("loading {}", p.display()))
}

pub fn load_optim(run_dir: &Path, sgd: &mut Sgd) -> Result<()> {
    sgd.load(&dir(run_dir).join("optim.safetensors"))
}
