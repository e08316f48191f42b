//! Training runs through the engine API on tiny synthetic data (CPU): determinism, seeds,
//! exact resume, the run directory's files.
use ablate::engine::train::{self, Outcome, TrainOptions};
use ablate::recipe::{Recipe, Stem};
use ablate::store::metrics::{read_events, Eval, MetricEvent};
use std::path::Path;

/// A recipe that touches every per-step path: 2 micro-batches per step (world_size 2),
/// MixUp + CutMix, label smoothing, clipping, EMA every step, warmup + cosine.
fn recipe(seed: u64) -> Recipe {
    Recipe {
        model: "resnet18".into(),
        stem: Stem::Small,
        base_width: 4,
        dataset: "synthetic:64".into(),
        batch_size: 8,
        world_size: 2,
        epochs: 3,
        lr: 0.05,
        lr_scheduler: ablate::recipe::LrScheduler::Cosineannealinglr,
        lr_warmup_epochs: 1,
        lr_warmup_method: ablate::recipe::WarmupMethod::Linear,
        label_smoothing: 0.1,
        mixup_alpha: 0.2,
        cutmix_alpha: 1.0,
        clip_grad_norm: Some(5.0),
        model_ema: true,
        model_ema_steps: 1,
        model_ema_decay: 0.99,
        train_crop_size: 32,
        val_resize_size: 32,
        val_crop_size: 32,
        seed,
        ..Recipe::default()
    }
}

fn run(dir: &Path, r: Recipe, resume: bool, stop: Option<i64>) -> Outcome {
    let opts = TrainOptions {
        recipe: r,
        out: dir.to_path_buf(),
        resume,
        device: tch::Device::Cpu,
        command_line: vec!["test".into()],
        stop_after_epoch: stop,
        threads: Some(1),
    };
    train::run(&opts, &mut |_| {}).unwrap()
}

/// Epoch events without their wall-clock fields (which legitimately differ).
fn epochs(dir: &Path) -> Vec<MetricEvent> {
    read_events(&dir.join("metrics.jsonl"))
        .unwrap()
        .into_iter()
        .filter_map(|e| match e {
            MetricEvent::Epoch {
                epoch,
                lr,
                train_loss,
                train_acc1,
                train_acc5,
                val,
                ema,
                ..
            } => Some(MetricEvent::Epoch {
                epoch,
                lr,
                train_loss,
                train_acc1,
                train_acc5,
                val,
                ema,
                epoch_time_s: 0.0,
                images_per_sec: 0.0,
            }),
            _ => None,
        })
        .collect()
}

#[test]
fn same_seed_is_bit_identical_other_seed_differs_and_resume_is_exact() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, c, d) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("c"),
        tmp.path().join("d"),
    );
    assert_eq!(run(&a, recipe(0), false, None), Outcome::Done);
    assert_eq!(run(&b, recipe(0), false, None), Outcome::Done);
    let ea = epochs(&a);
    assert_eq!(ea.len(), 3);
    assert_eq!(ea, epochs(&b), "same seed must give identical metrics");
    // LR per epoch: linear warmup 0.05*0.01, then cosine over 2 epochs: 0.05, 0.025.
    let lrs: Vec<f64> = ea
        .iter()
        .map(|e| match e {
            MetricEvent::Epoch { lr, .. } => *lr,
            _ => unreachable!(),
        })
        .collect();
    assert!(
        (lrs[0] - 0.0005).abs() < 1e-12
            && (lrs[1] - 0.05).abs() < 1e-12
            && (lrs[2] - 0.025).abs() < 1e-12,
        "{lrs:?}"
    );

    assert_eq!(run(&c, recipe(1), false, None), Outcome::Done);
    assert_ne!(ea, epochs(&c), "another seed must differ");

    // Interrupted after epoch 1 of 3, then resumed: the same metrics as uninterrupted.
    assert_eq!(run(&d, recipe(0), false, Some(1)), Outcome::Stopped);
    assert_eq!(epochs(&d).len(), 1);
    assert!(!d.join("summary.json").exists());
    assert_eq!(run(&d, recipe(0), true, None), Outcome::Done);
    assert_eq!(epochs(&d), ea, "resume must be exact");
    let events = read_events(&d.join("metrics.jsonl")).unwrap();
    let starts: Vec<i64> = events
        .iter()
        .filter_map(|e| match e {
            MetricEvent::Start { start_epoch, .. } => Some(*start_epoch),
            _ => None,
        })
        .collect();
    assert_eq!(starts, vec![0, 1]);

    // Run directory files.
    for f in [
        "recipe.toml",
        "meta.json",
        "summary.json",
        "checkpoint/model.safetensors",
        "checkpoint/ema.safetensors",
        "checkpoint/optim.safetensors",
        "checkpoint/state.json",
    ] {
        assert!(a.join(f).exists(), "missing {f}");
    }
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(a.join("checkpoint/state.json")).unwrap()).unwrap();
    assert_eq!(state["epoch"], 2);
    // 64 images / (8 x 2) = 4 steps per epoch.
    assert_eq!(state["global_step"], 12);
    let summary: train::Summary =
        serde_json::from_slice(&std::fs::read(a.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary.epochs, 3);
    assert!(summary.ema_final_acc1.is_some());
    // Eval-only sweep on the checkpoint: "all" at the trained resize reproduces the last
    // epoch's val metrics; halves a (even indices) and b (odd) partition the val set.
    let evs =
        ablate::engine::eval::evaluate_sweep_on(&a, "val_resize_size", &[32, 36], tch::Device::Cpu)
            .unwrap();
    assert_eq!(evs.len(), 2 * 3 * 2);
    let last_val = match ea.last().unwrap() {
        MetricEvent::Epoch { val, ema, .. } => (*val, ema.unwrap()),
        _ => unreachable!(),
    };
    let pick = |v: f64, h: &str, m: &str| {
        evs.iter()
            .find_map(|e| match e {
                MetricEvent::Sweep {
                    value,
                    half,
                    model,
                    eval,
                    ..
                } if *value == v && half == h && model == m => Some(*eval),
                _ => None,
            })
            .unwrap()
    };
    // (1-ulp tolerance: the logged value went through JSON, which serde_json parses to +-1 ulp)
    let close =
        |x: Eval, y: Eval| (x.loss - y.loss).abs() < 1e-12 && x.acc1 == y.acc1 && x.acc5 == y.acc5;
    assert!(close(pick(32.0, "all", "raw"), last_val.0));
    assert!(close(pick(32.0, "all", "ema"), last_val.1));
    // 16 val images: 8 even + 8 odd, so all = mean of the halves.
    let (ha, hb, all) = (
        pick(32.0, "a", "raw"),
        pick(32.0, "b", "raw"),
        pick(32.0, "all", "raw"),
    );
    assert!(((ha.acc1 + hb.acc1) / 2.0 - all.acc1).abs() < 1e-9);
    assert_eq!(read_events(&a.join("sweep.jsonl")).unwrap().len(), 12);
    // Re-running a sweep replaces that param's events instead of appending duplicates.
    ablate::engine::eval::evaluate_sweep_on(&a, "val_resize_size", &[32], tch::Device::Cpu)
        .unwrap();
    assert_eq!(read_events(&a.join("sweep.jsonl")).unwrap().len(), 6);

    let saved: Recipe =
        toml::from_str(&std::fs::read_to_string(a.join("recipe.toml")).unwrap()).unwrap();
    assert_eq!(saved, recipe(0));
}

#[test]
fn resume_refuses_another_recipe() {
    let tmp = tempfile::tempdir().unwrap();
    let mut r = recipe(0);
    r.epochs = 2;
    r.model_ema = false;
    assert_eq!(run(tmp.path(), r.clone(), false, Some(1)), Outcome::Stopped);
    r.lr = 0.2;
    let opts = TrainOptions {
        recipe: r,
        out: tmp.path().to_path_buf(),
        resume: true,
        device: tch::Device::Cpu,
        command_line: vec![],
        stop_after_epoch: None,
        threads: Some(1),
    };
    let err = train::run(&opts, &mut |_| {}).unwrap_err().to_string();
    assert!(err.contains("checkpoint is of recipe"), "{err}");
}
