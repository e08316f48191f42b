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
    pub plan: PlanSpec,
    #[serde(default)]
    pub summary: Summary,
    pub baseline: Recipe,
    #[serde(default, rename = "ingredient")]
    pub ingredients: Vec<Ingredient>,
    /// Overrides applied last, on every row (`[set]` in the file, `--set`, `--data`).
    #[serde(default, skip_serializing_if = "toml::Table::is_empty")]
    pub set: toml::Table,
    /// Where the study came from (file path or `embedded:NAME`), for error messages.
    #[serde(skip)]
    pub source: String,
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
    #[serde(default, skip_serializing_if = "toml::Table::is_empty")]
    pub set: toml::Table,
    /// Eval-only ingredient: a sweep over checkpoints of the previous row, no retraining.
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
    /// A grid over one or two parameters on top of one stacked row.
    Sweep,
}

impl PlanKind {
    pub const ALL: &'static [&'static str] =
        &["stacked", "leave-one-out", "one-at-a-time", "sweep"];
    /// The name used in TOML (`plan = "leave-one-out"`).
    pub fn as_str(self) -> &'static str {
        match self {
            PlanKind::Stacked => "stacked",
            PlanKind::LeaveOneOut => "leave-one-out",
            PlanKind::OneAtATime => "one-at-a-time",
            PlanKind::Sweep => "sweep",
        }
    }
}

/// `plan = "stacked"`, or a table:
/// `[plan] kind = "sweep", row = 3, params = { lr = [0.1, 0.2], weight_decay = [1e-4, 5e-5] }`.
/// `row` is the stacked row (0 = baseline) the sweep starts from; `params` holds one or two
/// recipe keys, each with the list of values to try (the grid is their product).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(from = "PlanRepr")]
pub struct PlanSpec {
    pub kind: PlanKind,
    #[serde(default)]
    pub row: usize,
    #[serde(default, skip_serializing_if = "toml::Table::is_empty")]
    pub params: toml::Table,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum PlanRepr {
    Kind(PlanKind),
    Table {
        kind: PlanKind,
        #[serde(default)]
        row: usize,
        #[serde(default)]
        params: toml::Table,
    },
}

impl From<PlanRepr> for PlanSpec {
    fn from(r: PlanRepr) -> Self {
        match r {
            PlanRepr::Kind(kind) => PlanSpec {
                kind,
                ..PlanSpec::default()
            },
            PlanRepr::Table { kind, row, params } => PlanSpec { kind, row, params },
        }
    }
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
    /// Parses and validates a study preset, or a plain recipe file (top level = recipe keys),
    /// which becomes a study with only a baseline. Unknown keys and wrong types are reported
    /// with `source:line` and the closest valid key.
    pub fn from_toml_str(text: &str, source: &str) -> anyhow::Result<Study> {
        super::load::parse_study(text, source)
    }
    /// The dataset row 0 trains on (after `--data` / `[set]` overrides).
    pub fn baseline_dataset(&self) -> String {
        match self.set.get("dataset") {
            Some(toml::Value::String(d)) => d.clone(),
            _ => self.baseline.dataset.clone(),
        }
    }
    pub fn load(path: &str) -> anyhow::Result<Study> {
        let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{path}: {e}"))?;
        Self::from_toml_str(&text, path)
    }
}
