//! Study presets (`presets/*.toml`): a baseline, ordered ingredients, seeds, plan, summary.
//! CONTRACT (other modules use these names): Study, Ingredient, EvalSweep, PlanKind,
//! Summary{epoch, model}, Study::load, Study::from_toml_str.
use super::Recipe;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Study {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "default_seeds")]
    pub seeds: u32,
    #[serde(default)]
    pub plan: PlanKind,
    #[serde(default)]
    pub summary: Summary,
    pub baseline: Recipe,
    #[serde(default, rename = "ingredient")]
    pub ingredients: Vec<Ingredient>,
}

fn default_seeds() -> u32 {
    3
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ingredient {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Parameter overrides, keyed like Recipe's fields.
    #[serde(default)]
    pub set: toml::Table,
    /// Eval-only ingredient: a sweep over checkpoints of the previous row, no retraining.
    #[serde(default)]
    pub eval_sweep: Option<EvalSweep>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalSweep {
    /// An eval parameter, e.g. `val_resize_size`.
    pub param: String,
    pub values: Vec<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlanKind {
    #[default]
    Stacked,
    LeaveOneOut,
    OneAtATime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    #[serde(default)]
    pub epoch: SummaryEpoch,
    #[serde(default)]
    pub model: SummaryModel,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SummaryEpoch {
    #[default]
    Final,
    Best,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SummaryModel {
    #[default]
    Raw,
    Ema,
    Better,
}

impl Study {
    pub fn from_toml_str(text: &str, source: &str) -> anyhow::Result<Study> {
        toml::from_str(text).map_err(|e| anyhow::anyhow!("{source}: {e}"))
    }
    pub fn load(path: &str) -> anyhow::Result<Study> {
        let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{path}: {e}"))?;
        Self::from_toml_str(&text, path)
    }
}
