//! Evaluation of a model on the validation set (or a subset of it), and the eval-only sweep
//! over a checkpoint (`ablate evaluate RUN_DIR --sweep val_resize_size=224,232,240`).
use super::augment;
use super::batches::eval_batches; // TODO(engine-data): super::data::eval_batches
use super::checkpoint;
use super::data::{self, Datasets};
use super::model::{self, ResNet};
use crate::recipe::Recipe;
use crate::store::atomic::write_atomic;
use crate::store::metrics::{read_events, Eval, MetricEvent};
use anyhow::{bail, Context, Result};
use std::path::Path;
use tch::nn::{ModuleT, VarStore};
use tch::{Device, Kind, Tensor};

/// Loss (with the recipe's label smoothing, as torchvision's criterion), acc@1 and acc@5 in
/// percent over the selected validation images. One host sync at the end.
pub fn evaluate_model(
    model: &ResNet,
    ds: &Datasets,
    r: &Recipe,
    indices: Option<Vec<usize>>,
    device: Device,
    workers: usize,
) -> Result<Eval> {
    let _g = tch::no_grad_guard();
    let zero = || Tensor::zeros([], (Kind::Float, device));
    let (mut loss_sum, mut c1, mut c5) = (zero(), zero(), zero());
    let mut n = 0usize;
    for b in eval_batches(ds, r, r.batch_size.max(1) as usize, indices, workers)? {
        let b = b?;
        let (x, labels) = augment::to_device(&b, ds.mean, ds.std, device);
        let logits = tch::autocast(r.amp, || model.forward_t(&x, false));
        let loss = augment::loss(&logits, &labels, r.label_smoothing);
        let (a1, a5) = augment::correct_top1_top5(&logits, &labels);
        loss_sum += loss * b.n as f64;
        c1 += a1;
        c5 += a5;
        n += b.n;
    }
    if n == 0 {
        anyhow::bail!("dataset `{}`: the validation selection is empty", ds.name);
    }
    let v = Vec::<f64>::try_from(
        Tensor::stack(&[loss_sum, c1, c5], 0)
            .to_kind(Kind::Double)
            .to_device(Device::Cpu),
    )?;
    Ok(Eval {
        loss: v[0] / n as f64,
        acc1: 100.0 * v[1] / n as f64,
        acc5: 100.0 * v[2] / n as f64,
    })
}

/// Recipe keys `evaluate --set/--sweep` may change: they affect evaluation only.
pub const EVAL_KEYS: &[&str] = &[
    "val_resize_size",
    "val_crop_size",
    "interpolation",
    "batch_size",
];

/// The run's recipe (`RUN_DIR/recipe.toml`) with eval-only overrides applied.
pub fn run_recipe(run_dir: &Path, overrides: &[(String, toml::Value)]) -> Result<Recipe> {
    let p = run_dir.join("recipe.toml");
    let text = std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
    let mut r: Recipe =
        toml::from_str(&text).with_context(|| format!("{}: not a recipe", p.display()))?;
    for (k, v) in overrides {
        if !EVAL_KEYS.contains(&k.as_str()) {
            bail!(
                "`{k}`: evaluate can only change eval parameters ({})",
                EVAL_KEYS.join(", ")
            );
        }
        r = r
            .with_value(k, v)
            .map_err(|e| anyhow::anyhow!("--set {k}: {e}"))?;
    }
    Ok(r)
}

/// A run's checkpointed models: the raw one and, when the run has EMA, the EMA one.
pub struct Checkpointed {
    _vs: Vec<VarStore>,
    pub raw: ResNet,
    pub ema: Option<ResNet>,
}

pub fn load_checkpoint(
    run_dir: &Path,
    r: &Recipe,
    num_classes: i64,
    device: Device,
) -> Result<Checkpointed> {
    if checkpoint::load_state(run_dir)?.is_none() {
        bail!(
            "{}: no checkpoint (checkpoint/state.json) to evaluate",
            run_dir.display()
        );
    }
    let mut vs = VarStore::new(device);
    let raw = model::build(&vs.root(), r, num_classes)?;
    checkpoint::load_vs(run_dir, "model", &mut vs)?;
    let mut stores = vec![vs];
    let ema = if checkpoint::dir(run_dir).join("ema.safetensors").exists() {
        let mut evs = VarStore::new(device);
        let m = model::build(&evs.root(), r, num_classes)?;
        checkpoint::load_vs(run_dir, "ema", &mut evs)?;
        stores.push(evs);
        Some(m)
    } else {
        None
    };
    Ok(Checkpointed {
        _vs: stores,
        raw,
        ema,
    })
}

/// Re-evaluates a run's checkpoint (raw, EMA if present) with eval overrides.
pub fn evaluate_run(
    run_dir: &Path,
    overrides: &[(String, toml::Value)],
    device: Device,
) -> Result<(Eval, Option<Eval>)> {
    let r = run_recipe(run_dir, overrides)?;
    let ds = data::open(&r.dataset)?;
    let m = load_checkpoint(run_dir, &r, ds.num_classes as i64, device)?;
    let w = super::train::workers();
    let raw = evaluate_model(&m.raw, &ds, &r, None, device, w)?;
    let ema = match &m.ema {
        Some(e) => Some(evaluate_model(e, &ds, &r, None, device, w)?),
        None => None,
    };
    Ok((raw, ema))
}

/// The eval-only sweep: each value of `param` on val halves "a" (even indices), "b" (odd)
/// and "all", for the raw and (if present) EMA model. The events replace earlier ones of the
/// same `param` in `RUN_DIR/sweep.jsonl` (other params' events are kept).
pub fn evaluate_sweep(run_dir: &Path, param: &str, values: &[i64]) -> Result<Vec<MetricEvent>> {
    evaluate_sweep_on(run_dir, param, values, super::device::choose(None)?)
}

pub fn evaluate_sweep_on(
    run_dir: &Path,
    param: &str,
    values: &[i64],
    device: Device,
) -> Result<Vec<MetricEvent>> {
    let base = run_recipe(run_dir, &[])?;
    let ds = data::open(&base.dataset)?;
    let m = load_checkpoint(run_dir, &base, ds.num_classes as i64, device)?;
    let w = super::train::workers();
    let n = ds.val.len();
    let mut out = Vec::new();
    for &v in values {
        let r = run_recipe(run_dir, &[(param.to_string(), toml::Value::Integer(v))])?;
        for half in ["a", "b", "all"] {
            let models = std::iter::once(("raw", &m.raw)).chain(m.ema.as_ref().map(|e| ("ema", e)));
            for (name, model) in models {
                let eval = evaluate_model(model, &ds, &r, half_indices(n, half), device, w)?;
                out.push(MetricEvent::Sweep {
                    param: param.into(),
                    value: v as f64,
                    half: half.into(),
                    model: name.into(),
                    eval,
                });
            }
        }
    }
    let path = run_dir.join("sweep.jsonl");
    let mut keep: Vec<MetricEvent> = read_events(&path)?
        .into_iter()
        .filter(|e| !matches!(e, MetricEvent::Sweep { param: p, .. } if p == param))
        .collect();
    keep.extend(out.iter().cloned());
    let mut text = String::new();
    for e in &keep {
        text.push_str(&serde_json::to_string(e)?);
        text.push('\n');
    }
    write_atomic(&path, text.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    Ok(out)
}

/// The val halves of the inference-resize sweep: "a" = even indices, "b" = odd, "all".
pub fn half_indices(n: usize, half: &str) -> Option<Vec<usize>> {
    match half {
        "a" => Some((0..n).step_by(2).collect()),
        "b" => Some((1..n).step_by(2).collect()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_split_even_and_odd() {
        assert_eq!(half_indices(5, "a"), Some(vec![0, 2, 4]));
        assert_eq!(half_indices(5, "b"), Some(vec![1, 3]));
        assert_eq!(half_indices(5, "all"), None);
    }
}
