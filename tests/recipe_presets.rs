//! Presets load, resolve and expand as specified; bad presets give the intended messages.
use ablate::cli::PresetArgs;
use ablate::plan::{changes, expand, recipe_hash, runs};
use ablate::recipe::{
    load_preset, presets, resolve_study, resolve_study_with, EnvMode, LrScheduler, Study,
};

fn args(preset: &str, set: &[&str]) -> PresetArgs {
    PresetArgs {
        preset: preset.into(),
        set: set.iter().map(|s| s.to_string()).collect(),
        data: None,
    }
}

fn err(text: &str) -> String {
    format!("{:#}", Study::from_toml_str(text, "bad.toml").unwrap_err())
}

#[test]
fn every_embedded_preset_resolves() {
    for name in presets::names() {
        let s = resolve_study_with(&args(name, &[]), EnvMode::Lenient).unwrap();
        assert_eq!(s.name, name);
        assert_eq!(s.ingredients.len(), if name == "smoke" { 4 } else { 11 });
    }
}

#[test]
fn torchvision_stacked_rows_differ_by_exactly_their_ingredient() {
    let study = load_preset("torchvision-resnet50-v2").unwrap();
    let rows = expand(&study).unwrap();
    assert_eq!(rows.len(), 12);
    let want: [&[&str]; 11] = [
        &[
            "batch_size",
            "lr",
            "lr_scheduler",
            "lr_warmup_epochs",
            "lr_warmup_method",
        ],
        &["auto_augment"],
        &["epochs"],
        &["random_erase"],
        &["label_smoothing"],
        &["mixup_alpha"],
        &["cutmix_alpha"],
        &["norm_weight_decay", "weight_decay"],
        &["train_crop_size"],
        &["model_ema"],
        &[],
    ];
    for (k, keys) in want.iter().enumerate() {
        let diff = changes(&rows[k].recipe, &rows[k + 1].recipe);
        let got: Vec<&str> = diff.iter().map(|(k, _, _)| k.as_str()).collect();
        assert_eq!(&got, keys, "row {} ({})", k + 1, rows[k + 1].label);
    }
    // Baseline: V1 (8 x 32, lr 0.1, StepLR 30/0.1, 90 epochs, wd 1e-4, 224/256).
    let b = &rows[0].recipe;
    assert_eq!((b.batch_size, b.world_size, b.epochs), (32, 8, 90));
    assert_eq!(
        (b.lr, b.weight_decay, b.lr_step_size, b.lr_gamma),
        (0.1, 1e-4, 30, 0.1)
    );
    assert_eq!(
        (b.train_crop_size, b.val_resize_size, b.val_crop_size),
        (224, 256, 224)
    );
    // Eval-only row: same recipe and hash as the EMA row, no runs of its own.
    assert_eq!(rows[11].recipe, rows[10].recipe);
    assert_eq!(recipe_hash(&rows[11].recipe), recipe_hash(&rows[10].recipe));
    let sweep = rows[11].eval_sweep.as_ref().unwrap();
    assert_eq!(sweep.values, vec![224, 232, 240, 248, 256]);
    assert_eq!(runs(&rows, 3).len(), 11 * 3);
    assert_eq!(rows[11].recipe.lr_scheduler, LrScheduler::Cosineannealinglr);
}

#[test]
fn toggling_an_ingredient_keeps_finished_runs() {
    let mut study = load_preset("fashion-mnist-quick").unwrap();
    let before: Vec<String> = runs(&expand(&study).unwrap(), 3)
        .iter()
        .map(|r| r.id())
        .collect();
    // Disable "Random Erasing" (4th): rows above it keep their runs, rows below change.
    study.ingredients[3].enabled = false;
    let after: Vec<String> = runs(&expand(&study).unwrap(), 3)
        .iter()
        .map(|r| r.id())
        .collect();
    let kept = after.iter().filter(|id| before.contains(id)).count();
    // 4 rows (baseline .. Long Training) x 3 seeds survive; the 6 training rows after it change.
    assert_eq!(kept, 4 * 3);
    assert_eq!(after.len(), 10 * 3);
    // Enabling it again gives back exactly the original runs.
    study.ingredients[3].enabled = true;
    let again: Vec<String> = runs(&expand(&study).unwrap(), 3)
        .iter()
        .map(|r| r.id())
        .collect();
    assert_eq!(again, before);
}

#[test]
fn dataset_variable_needs_env_or_data() {
    std::env::remove_var("IMAGENET");
    let e = format!(
        "{:#}",
        resolve_study(&args("torchvision-resnet50-v2", &[])).unwrap_err()
    );
    assert!(
        e.contains("IMAGENET is not set") && e.contains("--data"),
        "{e}"
    );
    let mut a = args("torchvision-resnet50-v2", &[]);
    a.data = Some("/data/imagenet".into());
    let s = resolve_study(&a).unwrap();
    assert!(expand(&s)
        .unwrap()
        .iter()
        .all(|r| r.recipe.dataset == "/data/imagenet"));
}

#[test]
fn set_overrides_every_row_and_is_validated() {
    let s = resolve_study(&args("smoke", &["epochs=2", "model=resnet34"])).unwrap();
    let rows = expand(&s).unwrap();
    assert!(rows
        .iter()
        .all(|r| r.recipe.epochs == 2 && r.recipe.model == "resnet34"));
    let e = format!(
        "{:#}",
        resolve_study(&args("smoke", &["lr_sheduler=steplr"])).unwrap_err()
    );
    assert!(
        e.contains("unknown key `lr_sheduler` (did you mean `lr_scheduler`?)"),
        "{e}"
    );
    let e = format!(
        "{:#}",
        resolve_study(&args("smoke", &["epochs=-3"])).unwrap_err()
    );
    assert!(e.contains("epochs = -3 must be >= 1"), "{e}");
    let e = format!("{:#}", resolve_study(&args("smok", &[])).unwrap_err());
    assert!(e.contains("did you mean `smoke`"), "{e}");
}

#[test]
fn plain_recipe_file_is_a_baseline_only_study() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mine.toml");
    std::fs::write(
        &path,
        "model = \"resnet50\"\nepochs = 5\nnorm_weight_decay = 0\n",
    )
    .unwrap();
    let s = resolve_study(&args(path.to_str().unwrap(), &[])).unwrap();
    assert_eq!(s.name, "mine");
    assert!(s.ingredients.is_empty());
    assert_eq!(s.baseline.epochs, 5);
    assert_eq!(s.baseline.norm_weight_decay, Some(0.0));
}

const HEAD: &str = "name = \"t\"\n[baseline]\nmodel = \"resnet18\"\n";

#[test]
fn unknown_key_names_file_line_and_closest_key() {
    let e = err(&format!("{HEAD}lr_sheduler = \"steplr\"\n"));
    assert!(
        e.contains(
            "bad.toml:4: [baseline]: unknown key `lr_sheduler` (did you mean `lr_scheduler`?)"
        ),
        "{e}"
    );
    let e = err(&format!(
        "{HEAD}\n[[ingredient]]\nname = \"Mixup\"\nset = {{ mixup_alfa = 0.2 }}\n"
    ));
    assert!(
        e.contains("bad.toml:7: ingredient \"Mixup\" set: unknown key `mixup_alfa` (did you mean `mixup_alpha`?)"),
        "{e}"
    );
    let e = err(&format!(
        "{HEAD}\n[[ingredient]]\nname = \"X\"\nenabeld = false\n"
    ));
    assert!(
        e.contains("bad.toml:7") && e.contains("did you mean `enabled`?"),
        "{e}"
    );
}

#[test]
fn wrong_type_and_bad_enum_values_are_named() {
    let e = err(&format!("{HEAD}lr = \"fast\"\n"));
    assert!(e.contains("bad.toml:4: [baseline]: `lr` = \"fast\""), "{e}");
    assert!(e.contains("expected f64"), "{e}");
    let e = err(&format!("{HEAD}lr_scheduler = \"cosine\"\n"));
    assert!(e.contains("`lr_scheduler` = \"cosine\""), "{e}");
    assert!(
        e.contains("steplr") && e.contains("cosineannealinglr"),
        "{e}"
    );
}

fn bad_value(body: &str) -> String {
    let s = Study::from_toml_str(&format!("{HEAD}{body}"), "bad.toml").unwrap();
    format!("{:#}", expand(&s).unwrap_err())
}

#[test]
fn semantic_errors_name_row_key_and_limit() {
    let e = bad_value("epochs = -1\n");
    assert!(
        e.contains("bad.toml: row 0 (Baseline): epochs = -1 must be >= 1"),
        "{e}"
    );
    let e = bad_value("epochs = 5\nlr_warmup_epochs = 6\n");
    assert!(
        e.contains("lr_warmup_epochs = 6 is longer than training (epochs = 5)"),
        "{e}"
    );
    let e = bad_value("epochs = 5\nlr_warmup_epochs = 5\nlr_scheduler = \"cosineannealinglr\"\n");
    assert!(e.contains("T_max = epochs - warmup = 0"), "{e}");
    let e = bad_value("random_erase = 1.5\n");
    assert!(
        e.contains("random_erase = 1.5") && e.contains("[0, 1]"),
        "{e}"
    );
    let e = bad_value("rrc_min_scale = 0\n");
    assert!(
        e.contains("rrc_min_scale = 0 is an area fraction and must be in (0, 1]"),
        "{e}"
    );
    let s = Study::from_toml_str(
        "name = \"t\"\n[baseline]\nmodel = \"resnet51\"\n",
        "bad.toml",
    )
    .unwrap();
    let e = format!("{:#}", expand(&s).unwrap_err());
    assert!(
        e.contains("model = \"resnet51\" is unknown; allowed: resnet18, resnet34, resnet50"),
        "{e}"
    );
}

#[test]
fn every_preset_row_changes_only_its_ingredients_keys() {
    for name in presets::names() {
        let study = load_preset(name).unwrap();
        let rows = expand(&study).unwrap();
        let enabled: Vec<_> = study.ingredients.iter().filter(|i| i.enabled).collect();
        for (k, ing) in enabled.iter().enumerate() {
            let diff = changes(&rows[k].recipe, &rows[k + 1].recipe);
            if ing.eval_sweep.is_some() {
                assert!(diff.is_empty(), "{name} {}", ing.name);
                continue;
            }
            assert!(!diff.is_empty(), "{name}: {} changes nothing", ing.name);
            for (key, _, _) in &diff {
                assert!(
                    ing.set.contains_key(key),
                    "{name}: {} changed {key}",
                    ing.name
                );
            }
        }
    }
}
