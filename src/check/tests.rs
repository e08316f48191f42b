//! One test per check: a recipe that triggers it and one that does not.
use super::*;
use crate::recipe::{EmaAdjust, EvalSweep, Ingredient, LrScheduler, Study};

fn study(baseline: Recipe, ingredients: Vec<Ingredient>) -> Study {
    Study {
        name: "t".into(),
        description: String::new(),
        seeds: 1,
        plan: Default::default(),
        summary: Default::default(),
        baseline,
        ingredients,
        set: Default::default(),
        source: "t.toml".into(),
    }
}

fn ing(name: &str, set: &str) -> Ingredient {
    Ingredient {
        name: name.into(),
        description: String::new(),
        enabled: true,
        set: toml::from_str(set).unwrap(),
        eval_sweep: None,
    }
}

fn eval_ing(name: &str) -> Ingredient {
    Ingredient {
        eval_sweep: Some(EvalSweep {
            param: "val_resize_size".into(),
            values: vec![28, 32],
        }),
        ..ing(name, "")
    }
}

/// A clean small recipe: 10,000 images (fashion-mnist ctx), batch 32, crops 28/32/28.
fn small() -> Recipe {
    Recipe {
        dataset: "fashion-mnist".into(),
        epochs: 4,
        train_crop_size: 28,
        val_resize_size: 32,
        val_crop_size: 28,
        ..Recipe::default()
    }
}

fn ctx() -> CheckContext {
    CheckContext::for_dataset("fashion-mnist", false)
}

fn codes(s: &Study, c: &CheckContext) -> Vec<&'static str> {
    check_study(s, c).iter().map(|f| f.code).collect()
}

fn find(s: &Study, c: &CheckContext, code: &str) -> Option<Finding> {
    check_study(s, c).into_iter().find(|f| f.code == code)
}

#[test]
fn clean_recipe_has_no_findings() {
    assert!(codes(&study(small(), vec![]), &ctx()).is_empty());
}

#[test]
fn ema_window_longer_than_the_run() {
    // fashion-mnist-quick's EMA row with torchvision's adjust: alpha = 2e-5 x 128 x 4 / 8
    // = 1.28e-3, window 781 updates; 20 updates/epoch x (8 - 1 warmup) = 140 blending updates;
    // (1 - 1.28e-3)^140 = 0.836.
    let r = Recipe {
        batch_size: 128,
        epochs: 8,
        lr_warmup_epochs: 1,
        model_ema: true,
        model_ema_steps: 4,
        ..small()
    };
    let f = find(&study(r.clone(), vec![]), &ctx(), "ema-window").unwrap();
    assert_eq!(f.severity, Severity::Warning);
    assert!(f.message.contains("781 updates > 140"), "{}", f.message);
    assert!(f.message.contains("84%"), "{}", f.message);
    assert_eq!(f.fix, Some(("model_ema_adjust".into(), "dataset".into())));
    let ok = Recipe {
        model_ema_adjust: EmaAdjust::Dataset,
        ..r
    };
    assert!(codes(&study(ok, vec![]), &ctx()).is_empty());
}

#[test]
fn ema_that_is_a_copy() {
    // 1 epoch, 313 iterations, S = 32: 10 updates; dataset adjust alpha = 25.6 / 10 > 1.
    let r = Recipe {
        epochs: 1,
        model_ema: true,
        model_ema_adjust: EmaAdjust::Dataset,
        ..small()
    };
    let f = find(&study(r.clone(), vec![]), &ctx(), "ema-copy").unwrap();
    assert!(f.message.contains("d_eff = 0"), "{}", f.message);
    let ok = Recipe {
        model_ema_steps: 1,
        epochs: 4,
        ..r
    };
    // 313 x 4 = 1252 updates, alpha = 0.0205, window 49 updates.
    assert!(codes(&study(ok, vec![]), &ctx()).is_empty());
}

#[test]
fn warmup_as_long_as_cosine_training() {
    let r = Recipe {
        epochs: 5,
        lr_warmup_epochs: 5,
        lr_scheduler: LrScheduler::Cosineannealinglr,
        ..small()
    };
    let f = find(&study(r.clone(), vec![]), &ctx(), "warmup-too-long").unwrap();
    assert_eq!(f.severity, Severity::Error);
    assert!(f.message.contains("T_max = epochs - warmup = 0"));
    assert_eq!(f.fix, Some(("lr_warmup_epochs".into(), "4".into())));
    // Not reported twice as a generic value error.
    assert_eq!(
        codes(&study(r.clone(), vec![]), &ctx()),
        vec!["warmup-too-long"]
    );
    let steplr = Recipe {
        lr_scheduler: LrScheduler::Steplr,
        ..r.clone()
    };
    assert!(codes(&study(steplr, vec![]), &ctx()).is_empty());
    let longer = Recipe {
        lr_warmup_epochs: 6,
        lr_scheduler: LrScheduler::Steplr,
        ..r
    };
    let f = find(&study(longer, vec![]), &ctx(), "warmup-too-long").unwrap();
    assert!(f.message.contains("longer than training"));
}

#[test]
fn last_batch_of_one_with_batchnorm() {
    let c = CheckContext::for_dataset("synthetic:257", false);
    let r = Recipe {
        dataset: "synthetic:257".into(),
        train_crop_size: 32,
        val_resize_size: 32,
        val_crop_size: 32,
        ..small()
    };
    let f = find(&study(r.clone(), vec![]), &c, "bn-last-batch").unwrap();
    assert_eq!(f.severity, Severity::Error);
    assert!(f.message.contains("257 images in batches of 32 x 1"));
    assert_eq!(f.fix, Some(("drop_last".into(), "true".into())));
    let dl = Recipe {
        drop_last: true,
        ..r.clone()
    };
    assert!(codes(&study(dl, vec![]), &c).is_empty());
    let c256 = CheckContext::for_dataset("synthetic:256", false);
    assert!(codes(&study(r, vec![]), &c256).is_empty());
}

#[test]
fn batch_changed_without_lr() {
    let s = study(small(), vec![ing("Bigger batch", "batch_size = 128")]);
    let f = find(&s, &ctx(), "lr-not-scaled").unwrap();
    assert_eq!((f.row, f.severity), (1, Severity::Note));
    assert!(f.message.contains("32 -> 128") && f.message.contains("gives 0.4"));
    assert_eq!(f.fix, Some(("lr".into(), "0.4".into())));
    let s = study(small(), vec![ing("LR opt", "batch_size = 128\nlr = 0.5")]);
    assert!(codes(&s, &ctx()).is_empty());
}

#[test]
fn crops_larger_than_images_or_resize() {
    let big = Recipe {
        train_crop_size: 32,
        ..small()
    };
    let f = find(&study(big, vec![]), &ctx(), "train-crop-upsample").unwrap();
    assert!(f
        .message
        .contains("train_crop_size = 32 > the images' 28x28"));
    assert_eq!(f.fix, Some(("train_crop_size".into(), "28".into())));
    let val = Recipe {
        val_crop_size: 36,
        ..small()
    };
    let f = find(&study(val, vec![]), &ctx(), "val-crop-gt-resize").unwrap();
    assert_eq!(f.fix, Some(("val_crop_size".into(), "32".into())));
    // Unknown image size: only the val check can run.
    let unknown = CheckContext::default();
    let big = Recipe {
        train_crop_size: 32,
        ..small()
    };
    assert!(find(&study(big, vec![]), &unknown, "train-crop-upsample").is_none());
}

#[test]
fn no_op_flags_on_this_machine() {
    let r = Recipe {
        sync_bn: true,
        ra_sampler: true,
        amp: true,
        ..small()
    };
    let got = codes(&study(r.clone(), vec![]), &ctx());
    assert_eq!(
        got,
        vec!["amp-on-cpu", "sync-bn-one-device", "ra-sampler-one-device"]
    );
    let cuda = CheckContext {
        cuda: true,
        ..ctx()
    };
    let dist = Recipe {
        world_size: 8,
        batch_size: 4,
        ..r
    };
    // 8 x 4 = 32, same global batch as the baseline would have; distributed: no findings.
    assert!(codes(&study(dist, vec![]), &cuda).is_empty());
}

#[test]
fn mixup_ingredient_with_alpha_zero() {
    let s = study(small(), vec![ing("Mixup", "label_smoothing = 0.1")]);
    let f = find(&s, &ctx(), "mix-alpha-zero").unwrap();
    assert_eq!(f.row, 1);
    assert_eq!(f.fix, Some(("mixup_alpha".into(), "0.2".into())));
    let s = study(small(), vec![ing("Mixup", "mixup_alpha = 0.2")]);
    assert!(codes(&s, &ctx()).is_empty());
    let s = study(small(), vec![ing("CutMix", "cutmix_alpha = 0.0")]);
    let f = find(&s, &ctx(), "mix-alpha-zero").unwrap();
    assert_eq!(f.fix, Some(("cutmix_alpha".into(), "1.0".into())));
}

#[test]
fn ingredient_that_changes_nothing() {
    let s = study(small(), vec![ing("Tuned LR", "lr = 0.1")]);
    assert_eq!(codes(&s, &ctx()), vec!["ingredient-no-op"]);
    let s = study(small(), vec![ing("Tuned LR", "lr = 0.2")]);
    assert!(codes(&s, &ctx()).is_empty());
}

#[test]
fn eval_only_before_training_ingredients() {
    let s = study(
        small(),
        vec![
            eval_ing("Resize"),
            ing("Smoothing", "label_smoothing = 0.1"),
        ],
    );
    let f = find(&s, &ctx(), "eval-before-training").unwrap();
    assert_eq!(f.row, 1);
    let s = study(
        small(),
        vec![
            ing("Smoothing", "label_smoothing = 0.1"),
            eval_ing("Resize"),
        ],
    );
    assert!(codes(&s, &ctx()).is_empty());
}

#[test]
fn invalid_values_are_errors() {
    let r = Recipe {
        epochs: 0,
        ..small()
    };
    let f = find(&study(r, vec![]), &ctx(), "invalid").unwrap();
    assert_eq!(f.severity, Severity::Error);
    assert!(f.message.contains("epochs = 0 must be >= 1"));
}

#[test]
fn shipped_presets_are_clean() {
    for name in ["smoke", "fashion-mnist-quick", "torchvision-resnet50-v2"] {
        let s = crate::recipe::load_preset(name).unwrap();
        let c = CheckContext::for_dataset(&s.baseline.dataset, true);
        let bad: Vec<_> = check_study(&s, &c)
            .into_iter()
            .filter(|f| f.severity != Severity::Note)
            .collect();
        assert!(bad.is_empty(), "{name}: {bad:?}");
    }
}

#[test]
fn ingredient_named_for_something_it_does_not_turn_on() {
    // "Label Smoothing" that sets random erasing instead.
    let s = study(small(), vec![ing("Label Smoothing", "random_erase = 0.1")]);
    let f = find(&s, &ctx(), "ingredient-off").unwrap();
    assert_eq!(f.row, 1);
    assert!(
        f.message.contains("label_smoothing = 0 on its row"),
        "{}",
        f.message
    );
    assert_eq!(f.fix, Some(("label_smoothing".into(), "0.1".into())));
    let s = study(
        small(),
        vec![ing("Label Smoothing", "label_smoothing = 0.1")],
    );
    assert!(codes(&s, &ctx()).is_empty());
    // FixRes must train below the eval crop (28 here); "ema" matches whole words only.
    let s = study(
        small(),
        vec![ing("FixRes", "train_crop_size = 28\nlr = 0.2")],
    );
    let f = find(&s, &ctx(), "ingredient-off").unwrap();
    assert!(f
        .message
        .contains("train_crop_size = 28 is not below val_crop_size = 28"));
    assert_eq!(f.fix, None);
    let s = study(small(), vec![ing("Schema tweak", "lr = 0.2")]);
    assert!(codes(&s, &ctx()).is_empty());
}
