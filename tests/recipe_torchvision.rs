//! torchvision command lines: import of the published V2 command, export, round trips, and
//! the recipe commands end to end through the binary.
use ablate::plan::{changes, expand};
use ablate::recipe::{load_preset, torchvision, Recipe, Study};
use std::process::Command;

/// The V2 recipe's published command (pytorch/vision#3995 + RA update, README).
const PUBLISHED: &str = "torchrun --nproc_per_node=8 train.py --model resnet50 --batch-size 128 \
    --lr 0.5 --lr-scheduler cosineannealinglr --lr-warmup-epochs 5 --lr-warmup-method linear \
    --auto-augment ta_wide --epochs 600 --random-erase 0.1 --weight-decay 0.00002 \
    --norm-weight-decay 0.0 --label-smoothing 0.1 --mixup-alpha 0.2 --cutmix-alpha 1.0 \
    --train-crop-size 176 --model-ema --val-resize-size 232 --ra-sampler --ra-reps 4";

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

#[test]
fn published_command_is_the_final_row_plus_ra_and_chosen_resize() {
    let imported = torchvision::import(&words(PUBLISHED)).unwrap();
    assert!(imported.notes.is_empty(), "{:?}", imported.notes);
    let study = load_preset("torchvision-resnet50-v2").unwrap();
    let rows = expand(&study).unwrap();
    let last = rows.last().unwrap();
    // The preset's dataset is ${IMAGENET}; import without --data-path gives the same.
    let diff = changes(&last.recipe, &imported.recipe);
    // Honest differences: the final row is an eval-only sweep whose trained recipe keeps 256
    // (232 is the value the sweep selected), and the RA sampler is not one of the 11 steps.
    let want = vec![
        ("ra_reps".to_string(), "3".to_string(), "4".to_string()),
        ("ra_sampler".into(), "false".into(), "true".into()),
        ("val_resize_size".into(), "256".into(), "232".into()),
    ];
    assert_eq!(diff, want);
    assert!(last.eval_sweep.as_ref().unwrap().values.contains(&232));
    assert_eq!(imported.recipe.world_size, 8);
    assert_eq!(imported.recipe.global_batch(), 1024);
}

#[test]
fn export_then_import_is_identity_for_every_row() {
    let mut study = load_preset("torchvision-resnet50-v2").unwrap();
    study.baseline.dataset = "/data/imagenet".into();
    for row in expand(&study).unwrap() {
        let (cmd, notes) = torchvision::export(&row.recipe);
        assert!(notes.is_empty(), "{notes:?}");
        let back = torchvision::import(&torchvision::split_command(&cmd)).unwrap();
        assert_eq!(back.recipe, row.recipe, "row {}: {cmd}", row.index);
    }
}

#[test]
fn exported_final_training_row_reads_like_the_published_command() {
    let mut study = load_preset("torchvision-resnet50-v2").unwrap();
    study.baseline.dataset = "/data/imagenet".into();
    let rows = expand(&study).unwrap();
    let (cmd, _) = torchvision::export(&rows[10].recipe);
    assert_eq!(
        cmd,
        "torchrun --nproc_per_node=8 train.py --model resnet50 --batch-size 128 --epochs 600 \
         --lr 0.5 --weight-decay 0.00002 --norm-weight-decay 0.0 --label-smoothing 0.1 \
         --mixup-alpha 0.2 --cutmix-alpha 1.0 --lr-scheduler cosineannealinglr \
         --lr-warmup-epochs 5 --lr-warmup-method linear --auto-augment ta_wide \
         --random-erase 0.1 --model-ema --train-crop-size 176 --data-path /data/imagenet"
    );
}

#[test]
fn flag_forms_launchers_and_ignored_flags() {
    let argv = words(
        "python -m torch.distributed.run --nnodes=2 --nproc-per-node 4 train.py \
         --model=resnext50_32x4d -b 16 --wd=5e-5 --opt SGD_Nesterov --lr .4 \
         --data-path /imagenet --output-dir out -j 16 --amp --cache-dataset --print-freq=10",
    );
    let got = torchvision::import(&argv).unwrap();
    let r = &got.recipe;
    assert_eq!((r.world_size, r.batch_size), (8, 16));
    assert_eq!(r.model, "resnext50_32x4d");
    assert_eq!((r.weight_decay, r.lr), (5e-5, 0.4));
    assert_eq!(r.opt, "sgd_nesterov");
    assert!(r.nesterov() && r.amp);
    assert_eq!(r.dataset, "/imagenet");
    assert_eq!(got.notes.len(), 4, "{:?}", got.notes);
    assert!(got.notes[0].starts_with("ignored --output-dir"));
    let single = torchvision::import(&words("python train.py --epochs 3")).unwrap();
    assert_eq!((single.recipe.world_size, single.recipe.epochs), (1, 3));
}

#[test]
fn unknown_flags_and_bad_values_are_errors() {
    let e = torchvision::import(&words("torchrun train.py --lr-sheduler steplr")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "unknown train.py flag `--lr-sheduler` (did you mean `--lr-scheduler`?)"
    );
    let e = torchvision::import(&words("torchrun train.py --auto-augment cifar10")).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("--auto-augment: `auto_augment` = \"cifar10\""),
        "{e}"
    );
    let e = torchvision::import(&words("torchrun train.py --epochs")).unwrap_err();
    assert_eq!(e.to_string(), "--epochs needs a value");
}

fn ablate(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ablate"))
        .args(args)
        .env_remove("IMAGENET")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn cli_import_prints_a_loadable_recipe() {
    let mut args = vec!["import-torchvision", "--"];
    let w = words(PUBLISHED);
    args.extend(w.iter().map(|s| s.as_str()));
    args.extend(["--output-dir", "/tmp/x"]);
    let (rc, out, err) = ablate(&args);
    assert_eq!(rc, 0, "{err}");
    assert!(err.contains("note: ignored --output-dir"), "{err}");
    let study = Study::from_toml_str(&out, "imported.toml").unwrap();
    let direct = torchvision::import(&w).unwrap().recipe;
    assert_eq!(study.baseline, direct);
}

#[test]
fn cli_schedule_plan_and_check() {
    let (rc, out, _) = ablate(&["schedule", "torchvision-resnet50-v2", "--row", "1"]);
    assert_eq!(rc, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 91); // header + 90 epochs (the LR-optimizations row keeps E = 90)
    assert_eq!(lines[0], "epoch,lr");
    let lr6: f64 = lines[7].split(',').nth(1).unwrap().parse().unwrap();
    assert!((lr6 - 0.499829).abs() < 1e-6, "{lr6}");

    let (rc, out, _) = ablate(&["plan", "smoke"]);
    assert_eq!(rc, 0);
    assert!(
        out.contains("+ Mixup") && out.contains("mixup_alpha 0.0 -> 0.2"),
        "{out}"
    );
    assert!(
        out.contains("runs: 8 (4 training rows x 2 seeds, 8 epochs in all)"),
        "{out}"
    );

    let (rc, out, _) = ablate(&["check", "smoke"]);
    assert_eq!(rc, 0, "{out}");
    assert!(
        out.contains("smoke: 0 error(s), 0 warning(s), 0 note(s)"),
        "{out}"
    );
    let (rc, out, _) = ablate(&["check", "smoke", "--set", "lr_warmup_epochs=2"]);
    assert_eq!(rc, 1, "{out}");
    assert!(out.contains("fix: --set lr_warmup_epochs=0"), "{out}");

    let (rc, _, err) = ablate(&["plan", "smoke", "--set", "epochz=3"]);
    assert_ne!(rc, 0);
    assert!(err.contains("did you mean `epochs`?"), "{err}");
}

#[test]
fn recipe_defaults_are_train_py_defaults() {
    // Export leaves out flags equal to Recipe's defaults, so these must be train.py's
    // (get_args_parser, recipe-semantics §2).
    let r = Recipe::default();
    assert_eq!(
        (r.model.as_str(), r.batch_size, r.epochs, r.lr),
        ("resnet18", 32, 90, 0.1)
    );
    assert_eq!(
        (r.momentum, r.weight_decay, r.lr_step_size, r.lr_gamma),
        (0.9, 1e-4, 30, 0.1)
    );
    assert_eq!(
        (r.lr_warmup_decay, r.model_ema_steps, r.model_ema_decay),
        (0.01, 32, 0.99998)
    );
    assert_eq!(
        (
            r.train_crop_size,
            r.val_resize_size,
            r.val_crop_size,
            r.ra_reps
        ),
        (224, 256, 224, 3)
    );
}

#[test]
fn import_export_import_of_the_published_command() {
    let first = torchvision::import(&words(PUBLISHED)).unwrap().recipe;
    let (cmd, notes) = torchvision::export(&first);
    assert!(notes.is_empty(), "{notes:?}");
    assert!(cmd.contains("--ra-sampler --ra-reps 4"), "{cmd}");
    assert!(cmd.ends_with("--data-path ${IMAGENET}"), "{cmd}");
    let again = torchvision::import(&torchvision::split_command(&cmd))
        .unwrap()
        .recipe;
    assert_eq!(again, first);
}

#[test]
fn study_serialises_and_loads_back() {
    let s = load_preset("torchvision-resnet50-v2").unwrap();
    let text = toml::to_string(&s).unwrap();
    let back = Study::from_toml_str(&text, "saved.toml").unwrap();
    assert_eq!(back.ingredients, s.ingredients);
    assert_eq!(
        (back.plan, back.baseline, back.seeds),
        (s.plan, s.baseline, s.seeds)
    );
}

#[test]
fn export_notes_every_ablate_only_setting() {
    let r = Recipe {
        dataset: "/data/imagenet".into(),
        stem: ablate::recipe::Stem::Small,
        rrc_min_scale: Some(0.3),
        ..Recipe::default()
    };
    let (cmd, notes) = torchvision::export(&r);
    assert!(!cmd.contains("rrc"), "{cmd}");
    assert_eq!(
        notes,
        vec![
            "torchvision has no flag for stem = small: its script uses the default".to_string(),
            "torchvision has no flag for rrc_min_scale = 0.3: its script uses the default"
                .to_string(),
        ]
    );
}
