//! Leave-one-out, one-at-a-time and sweep plans; shared runs across plans.
use ablate::plan::{changes, expand, recipe_hash, runs};
use ablate::recipe::{load_preset, PlanKind, Study};
use std::collections::HashSet;

fn smoke_with_plan(plan: &str) -> Study {
    let text = ablate::recipe::presets::embedded("smoke")
        .unwrap()
        .replace("plan = \"stacked\"\n", "")
        .replacen("[summary]", &format!("{plan}\n[summary]"), 1);
    Study::from_toml_str(&text, "smoke-variant.toml").unwrap()
}

fn ids(s: &Study) -> HashSet<String> {
    runs(&expand(s).unwrap(), s.seeds)
        .iter()
        .map(|r| r.id())
        .collect()
}

#[test]
fn leave_one_out_rows() {
    let s = smoke_with_plan("plan = \"leave-one-out\"");
    assert_eq!(s.plan.kind, PlanKind::LeaveOneOut);
    let rows = expand(&s).unwrap();
    let labels: Vec<&str> = rows.iter().map(|r| r.label.as_str()).collect();
    // The eval-only sweep has nothing to leave out: 3 training ingredients.
    assert_eq!(
        labels,
        ["Full recipe", "- Label Smoothing", "- Mixup", "- EMA"]
    );
    let keys = |i: usize| -> Vec<String> {
        changes(&rows[0].recipe, &rows[i].recipe)
            .into_iter()
            .map(|c| c.0)
            .collect()
    };
    assert_eq!(keys(1), ["label_smoothing"]);
    assert_eq!(keys(2), ["mixup_alpha"]);
    assert_eq!(keys(3), ["model_ema", "model_ema_decay", "model_ema_steps"]);
    // The full recipe is the last stacked training row: same hash, so the same runs.
    let stacked = expand(&load_preset("smoke").unwrap()).unwrap();
    assert_eq!(
        recipe_hash(&rows[0].recipe),
        recipe_hash(&stacked[3].recipe)
    );
}

#[test]
fn one_at_a_time_rows_share_runs_with_stacked() {
    let s = smoke_with_plan("plan = \"one-at-a-time\"");
    let rows = expand(&s).unwrap();
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[2].label, "+ Mixup");
    assert_eq!(
        changes(&rows[0].recipe, &rows[2].recipe),
        vec![(
            "mixup_alpha".to_string(),
            "0.0".to_string(),
            "0.2".to_string()
        )]
    );
    // Baseline and "+ Label Smoothing" are the same recipes as stacked rows 0 and 1.
    let shared = ids(&s)
        .intersection(&ids(&load_preset("smoke").unwrap()))
        .count();
    assert_eq!(shared, 2 * 2);
}

#[test]
fn sweep_grid_on_top_of_a_row() {
    let s = smoke_with_plan(
        "[plan]\nkind = \"sweep\"\nrow = 2\nparams = { lr = [0.1, 0.2], weight_decay = [1e-4, 5e-5] }\n",
    );
    let rows = expand(&s).unwrap();
    let labels: Vec<&str> = rows.iter().map(|r| r.label.as_str()).collect();
    // (0.1, 1e-4) is row 2 itself, so it is not repeated.
    assert_eq!(
        labels,
        [
            "Row 2: + Mixup",
            "lr=0.1, weight_decay=0.00005",
            "lr=0.2, weight_decay=0.0001",
            "lr=0.2, weight_decay=0.00005"
        ]
    );
    assert_eq!(rows[2].recipe.lr, 0.2);
    assert_eq!(rows[2].recipe.weight_decay, 1e-4);
    assert_eq!(rows[3].recipe.weight_decay, 5e-5);
    assert_eq!(rows[3].recipe.mixup_alpha, 0.2);
    // The sweep's row 0 shares runs with stacked row 2.
    let stacked = expand(&load_preset("smoke").unwrap()).unwrap();
    assert_eq!(rows[0].recipe, stacked[2].recipe);
    assert_eq!(runs(&rows, 2).len(), 4 * 2);
}

#[test]
fn bad_sweeps_and_plans_are_named() {
    let e = |plan: &str| -> String {
        let text = ablate::recipe::presets::embedded("smoke")
            .unwrap()
            .replace("plan = \"stacked\"\n", "")
            .replacen("[summary]", &format!("{plan}\n[summary]"), 1);
        match Study::from_toml_str(&text, "v.toml") {
            Err(e) => format!("{e:#}"),
            Ok(s) => format!("{:#}", expand(&s).unwrap_err()),
        }
    };
    let m = e("[plan]\nkind = \"sweep\"\nrow = 9\nparams = { lr = [0.1] }\n");
    assert!(
        m.contains("[plan] row = 9: the stacked plan has rows 0..=4"),
        "{m}"
    );
    let m =
        e("[plan]\nkind = \"sweep\"\nparams = { lr = [0.1], momentum = [0.9], epochs = [1] }\n");
    assert!(m.contains("one or two parameters"), "{m}");
    let m = e("[plan]\nkind = \"sweep\"\nparams = { lr_rate = [0.1] }\n");
    assert!(
        m.contains("v.toml:") && m.contains("did you mean `lr`?"),
        "{m}"
    );
    let m = e("plan = \"stacking\"");
    assert!(
        m.contains("v.toml:7: plan: plan kind must be one of: stacked, leave-one-out, one-at-a-time, sweep"),
        "{m}"
    );
    let m = format!(
        "{:#}",
        Study::from_toml_str("name = \"t\"\nseeds = 0\n[baseline]\n", "v.toml").unwrap_err()
    );
    assert!(
        m.contains("v.toml:2: study: seeds must be an integer >= 1"),
        "{m}"
    );
}

#[test]
fn eval_only_ingredients_are_checked() {
    let base = "name = \"t\"\n[baseline]\nmodel = \"resnet18\"\n[[ingredient]]\nname = \"R\"\n";
    let e = format!(
        "{:#}",
        Study::from_toml_str(
            &format!("{base}eval_sweep = {{ param = \"lr\", values = [1] }}\n"),
            "e.toml"
        )
        .unwrap_err()
    );
    assert!(
        e.contains("e.toml:6: ingredient \"R\" eval_sweep: param must be an evaluation parameter; allowed: val_resize_size, val_crop_size"),
        "{e}"
    );
    let e = format!(
        "{:#}",
        Study::from_toml_str(
            &format!(
                "{base}set = {{ lr = 0.2 }}\neval_sweep = {{ param = \"val_resize_size\", values = [1] }}\n"
            ),
            "e.toml"
        )
        .unwrap_err()
    );
    assert!(e.contains("cannot also `set` training parameters"), "{e}");
}

#[test]
fn duplicate_ingredient_names_are_rejected() {
    let text = "name = \"t\"\n[baseline]\n[[ingredient]]\nname = \"A\"\nset = { lr = 0.2 }\n\
                [[ingredient]]\nname = \"A\"\nset = { lr = 0.3 }\n";
    let e = format!("{:#}", Study::from_toml_str(text, "d.toml").unwrap_err());
    assert!(
        e.contains("ingredient \"A\": duplicate ingredient name"),
        "{e}"
    );
}
