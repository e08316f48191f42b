//! Plans: a study expanded into rows (resolved recipes) and runs (recipe, seed).
//! CONTRACT (other modules use these names): Row, RunSpec, expand, recipe_hash, RunSpec::id.
use crate::recipe::{EvalSweep, Recipe, Study};

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub index: usize,
    /// "Baseline", "+ TrivialAugment", "- Mixup", ...
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

/// Stacked plan only, without overrides validation (the recipe-core issue completes this).
pub fn expand(study: &Study) -> anyhow::Result<Vec<Row>> {
    let mut rows = vec![Row {
        index: 0,
        label: "Baseline".into(),
        recipe: study.baseline.clone(),
        eval_sweep: None,
    }];
    for ing in study.ingredients.iter().filter(|i| i.enabled) {
        let prev = rows.last().unwrap().recipe.clone();
        let mut table = toml::Table::try_from(&prev)?;
        for (k, v) in &ing.set {
            table.insert(k.clone(), v.clone());
        }
        let recipe: Recipe = table.try_into()?;
        rows.push(Row {
            index: rows.len(),
            label: format!("+ {}", ing.name),
            recipe,
            eval_sweep: ing.eval_sweep.clone(),
        });
    }
    Ok(rows)
}

/// Runs in queue order: seed 0 of every row first, then seed 1, ...
pub fn runs(rows: &[Row], seeds: u32) -> Vec<RunSpec> {
    let mut out = Vec::new();
    for seed in 0..seeds as u64 {
        for row in rows {
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
