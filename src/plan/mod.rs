//! Plans: a study expanded into rows (resolved recipes) and runs (recipe, seed).
//! CONTRACT (other modules use these names): Row, RunSpec, expand, recipe_hash, RunSpec::id.
//!
//! A run is identified by (recipe_hash, seed) only, so rows of different plans (or of the same
//! plan after an ingredient is toggled) that resolve to the same recipe share their runs.
use crate::recipe::{EvalSweep, Ingredient, PlanKind, Recipe, Study};
use anyhow::{bail, Result};

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub index: usize,
    /// "Baseline", "+ TrivialAugment", "- Mixup", "lr=0.2, weight_decay=5e-5", ...
    pub label: String,
    pub recipe: Recipe,
    /// Set on an eval-only row: its runs are the previous row's, re-evaluated over the sweep.
    pub eval_sweep: Option<EvalSweep>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RunSpec {
    pub row: usize,
    pub seed: u64,
    /// Fully resolved, with `seed` set.
    pub recipe: Recipe,
    /// recipe_hash(recipe), which ignores the seed.
    pub hash: String,
}

impl RunSpec {
    pub fn id(&self) -> String {
        format!("{}-s{}", self.hash, self.seed)
    }
}

/// 12 hex digits of SHA-256 over the canonical TOML of the recipe with seed 0.
pub fn recipe_hash(r: &Recipe) -> String {
    use sha2::{Digest, Sha256};
    let mut r = r.clone();
    r.seed = 0;
    let text = toml::to_string(&r).expect("a recipe always serialises");
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

/// Expands the study's plan into rows, with the study's `set` overrides (--set, --data) applied
/// last on every row, and validates every row's recipe (errors name the source and the row).
pub fn expand(study: &Study) -> Result<Vec<Row>> {
    let rows = expand_unvalidated(study)?;
    let mut errors = Vec::new();
    for row in &rows {
        for e in row.recipe.validate() {
            errors.push(format!("row {} ({}): {e}", row.index, row.label));
        }
    }
    if !errors.is_empty() {
        errors.dedup();
        bail!(
            "{}: {}",
            study.source,
            errors.join(&format!("\n{}: ", study.source))
        );
    }
    Ok(rows)
}

/// `expand` without the per-row value checks (so `check` can report them as findings).
/// Structural problems (an override of the wrong type, a bad sweep) are still errors.
pub fn expand_unvalidated(study: &Study) -> Result<Vec<Row>> {
    let mut rows = match study.plan.kind {
        PlanKind::Stacked => stacked(study)?,
        PlanKind::LeaveOneOut => leave_one_out(study)?,
        PlanKind::OneAtATime => one_at_a_time(study)?,
        PlanKind::Sweep => sweep(study)?,
    };
    for row in &mut rows {
        for (k, v) in &study.set {
            row.recipe = row
                .recipe
                .with_value(k, v)
                .map_err(|e| anyhow::anyhow!("{}: overrides: {e}", study.source))?;
        }
    }
    Ok(rows)
}

/// The recipe with an ingredient's overrides applied (errors name the ingredient).
pub fn apply(recipe: &Recipe, ing: &Ingredient) -> Result<Recipe> {
    let mut r = recipe.clone();
    for (k, v) in &ing.set {
        r = match r.with_value(k, v) {
            Ok(r) => r,
            Err(e) => bail!("ingredient \"{}\": {e}", ing.name),
        };
    }
    Ok(r)
}

fn row(index: usize, label: String, recipe: Recipe, eval_sweep: Option<EvalSweep>) -> Row {
    Row {
        index,
        label,
        recipe,
        eval_sweep,
    }
}

/// Row k = baseline + enabled ingredients 1..k. An eval-only ingredient's row keeps the previous
/// row's recipe (same hash, so the same runs) and records its sweep.
fn stacked(study: &Study) -> Result<Vec<Row>> {
    let mut rows = vec![row(0, "Baseline".into(), study.baseline.clone(), None)];
    for ing in study.ingredients.iter().filter(|i| i.enabled) {
        let prev = &rows.last().expect("baseline row").recipe;
        let recipe = apply(prev, ing)?;
        let n = rows.len();
        rows.push(row(
            n,
            format!("+ {}", ing.name),
            recipe,
            ing.eval_sweep.clone(),
        ));
    }
    Ok(rows)
}

/// Training ingredients only: eval-only sweeps have nothing to leave out or add on their own.
fn training(study: &Study) -> impl Iterator<Item = &Ingredient> {
    study
        .ingredients
        .iter()
        .filter(|i| i.enabled && i.eval_sweep.is_none())
}

/// "Full recipe", then the full recipe minus each enabled training ingredient.
fn leave_one_out(study: &Study) -> Result<Vec<Row>> {
    let with = |skip: Option<usize>| -> Result<Recipe> {
        let mut r = study.baseline.clone();
        for (i, ing) in training(study).enumerate() {
            if Some(i) != skip {
                r = apply(&r, ing)?;
            }
        }
        Ok(r)
    };
    let mut rows = vec![row(0, "Full recipe".into(), with(None)?, None)];
    for (i, ing) in training(study).enumerate() {
        rows.push(row(i + 1, format!("- {}", ing.name), with(Some(i))?, None));
    }
    Ok(rows)
}

/// "Baseline", then the baseline plus each enabled training ingredient alone.
fn one_at_a_time(study: &Study) -> Result<Vec<Row>> {
    let mut rows = vec![row(0, "Baseline".into(), study.baseline.clone(), None)];
    for (i, ing) in training(study).enumerate() {
        let r = apply(&study.baseline, ing)?;
        rows.push(row(i + 1, format!("+ {}", ing.name), r, None));
    }
    Ok(rows)
}

/// Stacked row `plan.row`, then every point of the grid over `plan.params` (one or two keys)
/// that differs from it.
fn sweep(study: &Study) -> Result<Vec<Row>> {
    let src = &study.source;
    let base_rows = stacked(study)?;
    let p = &study.plan;
    let Some(base) = base_rows.get(p.row) else {
        bail!(
            "{src}: [plan] row = {}: the stacked plan has rows 0..={}",
            p.row,
            base_rows.len() - 1
        );
    };
    if p.params.is_empty() || p.params.len() > 2 {
        bail!(
            "{src}: [plan] params: a sweep takes one or two parameters, e.g. \
             params = {{ lr = [0.1, 0.2], weight_decay = [1e-4, 5e-5] }} (got {})",
            p.params.len()
        );
    }
    let mut axes: Vec<(&String, Vec<toml::Value>)> = Vec::new();
    for (k, v) in &p.params {
        match v.as_array() {
            Some(a) if !a.is_empty() => axes.push((k, a.clone())),
            _ => bail!("{src}: [plan] params: `{k}` must be a non-empty list of values"),
        }
    }
    let mut grid: Vec<Vec<(&String, toml::Value)>> = vec![vec![]];
    for (k, values) in &axes {
        grid = grid
            .into_iter()
            .flat_map(|point| {
                values.iter().map(move |v| {
                    let mut p = point.clone();
                    p.push((*k, v.clone()));
                    p
                })
            })
            .collect();
    }
    let mut rows = vec![row(
        0,
        format!("Row {}: {}", p.row, base.label),
        base.recipe.clone(),
        None,
    )];
    for point in grid {
        let mut r = base.recipe.clone();
        let mut label = Vec::new();
        for (k, v) in &point {
            r = r
                .with_value(k, v)
                .map_err(|e| anyhow::anyhow!("{src}: [plan] params: {e}"))?;
            label.push(format!("{k}={v}"));
        }
        if r != base.recipe {
            let n = rows.len();
            rows.push(row(n, label.join(", "), r, None));
        }
    }
    Ok(rows)
}

/// Runs in queue order: seed 0 of every row first, then seed 1, ... Eval-only rows have no runs
/// of their own (they re-evaluate the previous row's). Rows resolving to the same recipe give
/// the same run ids; consumers key runs by `RunSpec::id`.
pub fn runs(rows: &[Row], seeds: u32) -> Vec<RunSpec> {
    let mut out = Vec::new();
    for seed in 0..seeds as u64 {
        for row in rows.iter().filter(|r| r.eval_sweep.is_none()) {
            let mut recipe = row.recipe.clone();
            recipe.seed = seed;
            out.push(RunSpec {
                row: row.index,
                seed,
                hash: recipe_hash(&recipe),
                recipe,
            });
        }
    }
    out
}

/// (key, before, after) for every parameter that differs, in key order; "none" for unset options.
pub fn changes(before: &Recipe, after: &Recipe) -> Vec<(String, String, String)> {
    let a = toml::Table::try_from(before).expect("a recipe always serialises");
    let b = toml::Table::try_from(after).expect("a recipe always serialises");
    let show = |v: Option<&toml::Value>| v.map_or("none".to_string(), |v| v.to_string());
    Recipe::keys()
        .into_iter()
        .filter(|k| k != "seed" && a.get(k) != b.get(k))
        .map(|k| {
            let (x, y) = (show(a.get(&k)), show(b.get(&k)));
            (k, x, y)
        })
        .collect()
}
