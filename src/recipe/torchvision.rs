//! torchvision `references/classification/train.py` command lines: import (argv -> Recipe) and
//! export (Recipe -> torchrun command). One flag table drives both, so they round-trip.
use super::{resolve::parse_value, Recipe};
use anyhow::{bail, Result};

/// Recipe flags of train.py: (flag, aliases, recipe key, takes a value).
const FLAGS: &[(&str, &[&str], &str, bool)] = &[
    ("--model", &[], "model", true),
    ("--batch-size", &["-b"], "batch_size", true),
    ("--epochs", &[], "epochs", true),
    ("--opt", &[], "opt", true),
    ("--lr", &[], "lr", true),
    ("--momentum", &[], "momentum", true),
    ("--weight-decay", &["--wd"], "weight_decay", true),
    ("--norm-weight-decay", &[], "norm_weight_decay", true),
    ("--bias-weight-decay", &[], "bias_weight_decay", true),
    ("--label-smoothing", &[], "label_smoothing", true),
    ("--mixup-alpha", &[], "mixup_alpha", true),
    ("--cutmix-alpha", &[], "cutmix_alpha", true),
    ("--lr-scheduler", &[], "lr_scheduler", true),
    ("--lr-warmup-epochs", &[], "lr_warmup_epochs", true),
    ("--lr-warmup-method", &[], "lr_warmup_method", true),
    ("--lr-warmup-decay", &[], "lr_warmup_decay", true),
    ("--lr-step-size", &[], "lr_step_size", true),
    ("--lr-gamma", &[], "lr_gamma", true),
    ("--lr-min", &[], "lr_min", true),
    ("--auto-augment", &[], "auto_augment", true),
    ("--ra-magnitude", &[], "ra_magnitude", true),
    ("--augmix-severity", &[], "augmix_severity", true),
    ("--random-erase", &[], "random_erase", true),
    ("--model-ema", &[], "model_ema", false),
    ("--model-ema-steps", &[], "model_ema_steps", true),
    ("--model-ema-decay", &[], "model_ema_decay", true),
    ("--interpolation", &[], "interpolation", true),
    ("--train-crop-size", &[], "train_crop_size", true),
    ("--val-resize-size", &[], "val_resize_size", true),
    ("--val-crop-size", &[], "val_crop_size", true),
    ("--amp", &[], "amp", false),
    ("--clip-grad-norm", &[], "clip_grad_norm", true),
    ("--ra-sampler", &[], "ra_sampler", false),
    ("--ra-reps", &[], "ra_reps", true),
    ("--sync-bn", &[], "sync_bn", false),
    ("--data-path", &[], "dataset", true),
];

/// Flags of train.py that do not change the recipe: (flags, takes a value, why ignored).
const IGNORED: &[(&[&str], bool, &str)] = &[
    (
        &["--device"],
        true,
        "ablate picks CUDA when present (train --device)",
    ),
    (&["-j", "--workers"], true, "ablate sizes its loader itself"),
    (&["--print-freq"], true, "logging only"),
    (
        &["--output-dir"],
        true,
        "ablate writes runs into its workspace",
    ),
    (
        &["--resume"],
        true,
        "ablate resumes runs itself (train --resume)",
    ),
    (&["--start-epoch"], true, "ablate resumes runs itself"),
    (
        &["--cache-dataset"],
        false,
        "a loading cache, no effect on training",
    ),
    (
        &["--test-only"],
        false,
        "the command only evaluates; the recipe is imported as if it trained",
    ),
    (
        &["--use-deterministic-algorithms"],
        false,
        "ablate seeds every run; cuDNN determinism is not a recipe parameter",
    ),
    (
        &["--weights"],
        true,
        "pretrained weights are not part of a from-scratch recipe",
    ),
    (
        &["--backend"],
        true,
        "PIL vs tensor transforms: ablate has one implementation",
    ),
    (
        &["--use-v2"],
        false,
        "transforms v1 vs v2 give the same recipe",
    ),
    (&["--dist-url"], true, "distributed set-up only"),
    (
        &["--world-size"],
        true,
        "torchrun sets the world size; it comes from --nproc_per_node x --nnodes",
    ),
    (
        &["--transformer-embedding-decay"],
        true,
        "applies to vision transformers only",
    ),
];

/// A recipe read from a torchvision command line, with notes on what was ignored.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    pub recipe: Recipe,
    pub notes: Vec<String>,
}

/// Reads `torchrun [--nproc_per_node=N] [--nnodes=M] train.py --flag value ...` (or
/// `python train.py ...`, `python -m torch.distributed.run ...`). Unknown flags are errors.
pub fn import(argv: &[String]) -> Result<Imported> {
    let Some(script) = argv.iter().position(|a| a.ends_with(".py")) else {
        bail!("no training script (`train.py`) in the command line");
    };
    let mut notes = Vec::new();
    let (nproc, nnodes) = launcher_sizes(&argv[..script], &mut notes)?;
    let mut recipe = Recipe {
        world_size: nproc * nnodes,
        dataset: "${IMAGENET}".into(),
        ..Recipe::default()
    };
    let args = &argv[script + 1..];
    let mut i = 0;
    while i < args.len() {
        let (flag, inline) = match args[i].split_once('=') {
            Some((f, v)) if f.starts_with('-') => (f, Some(v.to_string())),
            _ => (args[i].as_str(), None),
        };
        i += 1;
        let mut value = |takes: bool| -> Result<Option<String>> {
            if !takes {
                if inline.is_some() {
                    bail!("{flag} takes no value");
                }
                return Ok(None);
            }
            if let Some(v) = &inline {
                return Ok(Some(v.clone()));
            }
            let Some(v) = args.get(i) else {
                bail!("{flag} needs a value");
            };
            i += 1;
            Ok(Some(v.clone()))
        };
        if let Some((_, _, key, takes)) = FLAGS
            .iter()
            .find(|(f, al, _, _)| *f == flag || al.contains(&flag))
        {
            let v = match value(*takes)? {
                // train.py lower-cases these two before use.
                Some(v) if matches!(*key, "opt" | "lr_scheduler") => {
                    toml::Value::String(v.to_lowercase())
                }
                Some(v) if *key == "dataset" || *key == "model" => toml::Value::String(v),
                Some(v) => parse_value(&v),
                None => toml::Value::Boolean(true),
            };
            recipe = recipe
                .with_value(key, &v)
                .map_err(|e| anyhow::anyhow!("{flag}: {e}"))?;
        } else if let Some((flags, takes, why)) =
            IGNORED.iter().find(|(fs, _, _)| fs.contains(&flag))
        {
            value(*takes)?;
            notes.push(format!("ignored {}: {why}", flags.join("/")));
        } else {
            let known: Vec<String> = FLAGS
                .iter()
                .map(|f| f.0.to_string())
                .chain(
                    IGNORED
                        .iter()
                        .flat_map(|f| f.0.iter().map(|s| s.to_string())),
                )
                .collect();
            let hint = super::closest_key(flag, &known)
                .map(|k| format!(" (did you mean `{k}`?)"))
                .unwrap_or_default();
            bail!("unknown train.py flag `{flag}`{hint}");
        }
    }
    Ok(Imported { recipe, notes })
}

/// (nproc_per_node, nnodes) from the launcher part of the command line.
fn launcher_sizes(launcher: &[String], notes: &mut Vec<String>) -> Result<(i64, i64)> {
    let (mut nproc, mut nnodes) = (1, 1);
    let mut i = 0;
    while i < launcher.len() {
        let a = &launcher[i];
        i += 1;
        if !a.starts_with("--") {
            continue; // torchrun, python, -m, torch.distributed.run, ...
        }
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) => (f.to_string(), Some(v.to_string())),
            None => (a.clone(), None),
        };
        let norm = flag.replace('-', "_");
        let mut take = || -> Option<String> {
            inline.clone().or_else(|| {
                let v = launcher.get(i).filter(|v| !v.starts_with("--")).cloned();
                if v.is_some() {
                    i += 1;
                }
                v
            })
        };
        match norm.as_str() {
            "__nproc_per_node" | "__nnodes" => {
                let v = take().unwrap_or_default();
                let n: i64 = v.parse().map_err(|_| {
                    anyhow::anyhow!("{flag}={v}: expected a number of processes/nodes")
                })?;
                if norm == "__nnodes" {
                    nnodes = n;
                } else {
                    nproc = n;
                }
            }
            "__standalone" | "__use_env" => {}
            _ => {
                take();
                notes.push(format!("ignored launcher option {flag}"));
            }
        }
    }
    Ok((nproc, nnodes))
}

/// The command that trains `r` with torchvision's own script, and notes on what it cannot
/// express (ablate-only parameters). Flags equal to train.py's defaults are left out.
pub fn export(r: &Recipe) -> (String, Vec<String>) {
    let tv = Recipe::default(); // Recipe's defaults are train.py's defaults.
    let ours = toml::Table::try_from(r).expect("a recipe always serialises");
    let theirs = toml::Table::try_from(&tv).expect("a recipe always serialises");
    let mut cmd = vec![
        "torchrun".to_string(),
        format!("--nproc_per_node={}", r.world_size),
        "train.py".into(),
    ];
    let mut notes = Vec::new();
    for (flag, _, key, takes) in FLAGS {
        let v = ours.get(*key);
        if *key == "dataset" {
            continue;
        }
        if v == theirs.get(*key) || v.is_none() {
            continue;
        }
        let v = v.expect("checked");
        if *takes {
            let text = match v {
                toml::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            cmd.push(format!("{flag} {text}"));
        } else if v.as_bool() == Some(true) {
            cmd.push(flag.to_string());
        }
    }
    if r.dataset.starts_with("synthetic") || r.dataset == "fashion-mnist" {
        notes.push(format!(
            "dataset `{}` is ablate's own; point --data-path at an ImageFolder tree",
            r.dataset
        ));
    }
    cmd.push(format!("--data-path {}", shell_word(&r.dataset)));
    let ablate_only = [
        ("stem", r.stem != tv.stem, r.stem.to_string()),
        (
            "base_width",
            r.base_width != tv.base_width,
            r.base_width.to_string(),
        ),
        (
            "zero_init_residual",
            r.zero_init_residual != tv.zero_init_residual,
            r.zero_init_residual.to_string(),
        ),
        (
            "rrc_min_scale",
            r.rrc_min_scale.is_some(),
            format!("{:?}", r.rrc_min_scale.unwrap_or(0.08)),
        ),
        (
            "drop_last",
            r.drop_last != tv.drop_last,
            r.drop_last.to_string(),
        ),
        (
            "model_ema_adjust",
            r.model_ema && r.model_ema_adjust != tv.model_ema_adjust,
            r.model_ema_adjust.to_string(),
        ),
    ];
    for (key, differs, value) in ablate_only {
        if differs {
            notes.push(format!(
                "torchvision has no flag for {key} = {value}: its script uses the default"
            ));
        }
    }
    (cmd.join(" "), notes)
}

/// Quotes a word for a POSIX shell when needed; `${VAR}` stays expandable.
fn shell_word(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-:${}".contains(c))
    {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('"', "\\\""))
    }
}

/// Splits an exported command back into argv (words separated by spaces, simple quotes).
pub fn split_command(cmd: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in cmd.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            _ => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}
