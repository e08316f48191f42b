//! The whole UI state. Views draw from `&App`; only `update` mutates it.
use super::data::Snapshot;
use super::series::{self, Band, Series};
use crate::plan::Row;
use crate::recipe::{Recipe, Study};
use crate::stats::Stat;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum View {
    #[default]
    Recipe,
    Runs,
    Curves,
    Table,
}

impl View {
    pub const ALL: [View; 4] = [View::Recipe, View::Runs, View::Curves, View::Table];
    pub fn title(self) -> &'static str {
        match self {
            View::Recipe => "Recipe",
            View::Runs => "Runs",
            View::Curves => "Curves",
            View::Table => "Table",
        }
    }
    pub fn index(self) -> usize {
        View::ALL.iter().position(|v| *v == self).unwrap()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Metric {
    #[default]
    ValAcc1,
    TrainLoss,
    Lr,
}

impl Metric {
    pub fn next(self) -> Metric {
        match self {
            Metric::ValAcc1 => Metric::TrainLoss,
            Metric::TrainLoss => Metric::Lr,
            Metric::Lr => Metric::ValAcc1,
        }
    }
    pub fn title(self) -> &'static str {
        match self {
            Metric::ValAcc1 => "val acc@1 (%)",
            Metric::TrainLoss => "train loss",
            Metric::Lr => "learning rate",
        }
    }
}

/// A finding of the recipe checks, as the Recipe view shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub error: bool,
    /// Row label the finding is about ("" for the whole study).
    pub row: String,
    pub message: String,
}

/// The ingredient form: one `key = value` line per override, validated on every keystroke.
#[derive(Debug, Clone, PartialEq)]
pub struct EditForm {
    /// None edits the baseline (overrides of the torchvision defaults), Some(i) ingredient i.
    pub target: Option<usize>,
    pub title: String,
    pub lines: Vec<String>,
    pub sel: usize,
    /// The first problem of the current text, naming the key and what is allowed.
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Overlay {
    Help,
    Edit(EditForm),
    Catalogue {
        sel: usize,
    },
    Log {
        id: String,
        text: String,
    },
    /// Every finding of the recipe checks.
    Findings,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub error: bool,
    pub text: String,
}

/// One drawn line of the Curves chart (already aggregated, downsampled and bounded).
#[derive(Debug, Clone, PartialEq)]
pub struct PlotLine {
    pub label: String,
    /// Index into the row palette, so a row keeps its colour in every view.
    pub colour: usize,
    /// Band edges and individual seeds are drawn dim.
    pub dim: bool,
    pub points: Series,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plot {
    pub lines: Vec<PlotLine>,
    pub x: [f64; 2],
    pub y: [f64; 2],
}

#[derive(Debug, Clone)]
pub struct App {
    pub study: Study,
    /// Where the study came from (preset name or path), for messages.
    pub source: String,
    pub view: View,
    pub overlay: Option<Overlay>,
    /// Recipe view: 0 is the baseline, i + 1 ingredient i.
    pub recipe_sel: usize,
    pub runs_sel: usize,
    pub curves_sel: usize,
    pub table_sel: usize,
    /// Rows drawn in the Curves view.
    pub curve_rows: std::collections::BTreeSet<usize>,
    pub metric: Metric,
    pub band: Band,
    pub show_seeds: bool,
    pub stat: Stat,
    pub snapshot: Snapshot,
    /// The edited study expanded into rows, or why it cannot be.
    pub rows: Result<Vec<Row>, String>,
    pub findings: Vec<Finding>,
    pub message: Option<Message>,
    /// Terminal size (columns, rows), used to size the cached plot.
    pub size: (u16, u16),
    pub plot: Plot,
    /// Whether this machine has CUDA (for the checks); found once by the runtime.
    pub cuda: bool,
    pub quit: bool,
}

impl App {
    pub fn new(study: Study, source: &str) -> App {
        let mut app = App {
            study,
            source: source.to_string(),
            view: View::Recipe,
            overlay: None,
            recipe_sel: 0,
            runs_sel: 0,
            curves_sel: 0,
            table_sel: 0,
            curve_rows: Default::default(),
            metric: Metric::ValAcc1,
            band: Band::MinMax,
            show_seeds: false,
            stat: Stat::Best,
            snapshot: Snapshot::default(),
            rows: Ok(Vec::new()),
            findings: Vec::new(),
            message: None,
            size: (80, 24),
            plot: Plot::default(),
            cuda: false,
            quit: false,
        };
        app.study_changed();
        app
    }

    /// Re-derives everything that depends on the edited study.
    pub fn study_changed(&mut self) {
        self.rows = crate::plan::expand(&self.study).map_err(|e| format!("{e:#}"));
        self.findings = super::client::check(&self.study, self.cuda);
    }

    /// Lines in the Recipe list: the baseline and every ingredient.
    pub fn recipe_len(&self) -> usize {
        self.study.ingredients.len() + 1
    }

    /// Baseline plus the enabled ingredients before ingredient `i` (what `i` applies to).
    pub fn recipe_before(&self, i: usize) -> Result<Recipe, String> {
        let mut cur = self.study.baseline.clone();
        for ing in self.study.ingredients.iter().take(i).filter(|g| g.enabled) {
            cur = apply_overrides(&cur, &ing.set)?;
        }
        Ok(cur)
    }

    /// The resolved recipe at list position `pos` (stacked: the baseline plus every enabled
    /// ingredient up to it) and the recipe it builds on, for the side panel's diff.
    /// A disabled ingredient shows what it would change.
    pub fn resolved_at(&self, pos: usize) -> Result<(Recipe, Option<Recipe>), String> {
        let Some(i) = pos.checked_sub(1) else {
            return Ok((self.study.baseline.clone(), None));
        };
        let before = self.recipe_before(i)?;
        let cur = apply_overrides(&before, &self.study.ingredients[i].set)?;
        Ok((cur, Some(before)))
    }

    /// Number of runs the plan implies, and how many of them already finished.
    pub fn run_counts(&self) -> (usize, usize) {
        let Ok(rows) = &self.rows else {
            return (0, 0);
        };
        let runs = crate::plan::runs(rows, self.study.seeds);
        let reused = runs
            .iter()
            .filter(|r| self.snapshot.done_ids.contains(&r.id()))
            .count();
        (runs.len(), reused)
    }

    /// Serial time of the runs still to do, from the mean epoch time the workspace reports.
    pub fn estimate_s(&self) -> Option<f64> {
        let times: Vec<f64> = self
            .snapshot
            .runs
            .iter()
            .filter_map(|r| r.epoch_time_s)
            .collect();
        if times.is_empty() {
            return None;
        }
        let per_epoch = times.iter().sum::<f64>() / times.len() as f64;
        let rows = self.rows.as_ref().ok()?;
        let epochs: i64 = crate::plan::runs(rows, self.study.seeds)
            .iter()
            .filter(|r| !self.snapshot.done_ids.contains(&r.id()))
            .map(|r| r.recipe.epochs)
            .sum();
        Some(epochs as f64 * per_epoch)
    }

    pub fn error(&mut self, text: impl Into<String>) {
        self.message = Some(Message {
            error: true,
            text: text.into(),
        });
    }
    pub fn info(&mut self, text: impl Into<String>) {
        self.message = Some(Message {
            error: false,
            text: text.into(),
        });
    }

    /// Columns of the Curves chart's plot area for this terminal width (see views::curves).
    pub fn plot_columns(&self) -> usize {
        let w = self.size.0 as usize;
        let list = if w >= 100 { 30 } else { 0 };
        w.saturating_sub(list + 12).max(10)
    }

    /// Rebuilds the cached plot: per shown row the mean over seeds, its band (or the seeds),
    /// downsampled to the chart width. Called on data, selection, metric or size changes.
    pub fn refresh_plot(&mut self) {
        let buckets = self.plot_columns();
        let mut lines = Vec::new();
        for &row in &self.curve_rows {
            let seeds: Vec<&Series> = self
                .snapshot
                .curves
                .iter()
                .filter(|c| c.row == row)
                .map(|c| match self.metric {
                    Metric::ValAcc1 => &c.val_acc1,
                    Metric::TrainLoss => &c.train_loss,
                    Metric::Lr => &c.lr,
                })
                .collect();
            if seeds.iter().all(|s| s.is_empty()) {
                continue;
            }
            let label = self
                .snapshot
                .rows
                .get(row)
                .cloned()
                .unwrap_or_else(|| format!("row {row}"));
            let agg = series::aggregate(&seeds, self.band);
            if self.show_seeds {
                for s in &seeds {
                    lines.push(PlotLine {
                        label: String::new(),
                        colour: row,
                        dim: true,
                        points: series::downsample(s, buckets),
                    });
                }
            } else if seeds.len() > 1 && self.curve_rows.len() <= MAX_BANDS {
                for edge in [&agg.lo, &agg.hi] {
                    lines.push(PlotLine {
                        label: String::new(),
                        colour: row,
                        dim: true,
                        points: series::downsample(edge, buckets),
                    });
                }
            }
            lines.push(PlotLine {
                label,
                colour: row,
                dim: false,
                points: series::downsample(&agg.mean, buckets),
            });
        }
        let (x, y) = series::bounds(lines.iter().map(|l| &l.points));
        self.plot = Plot { lines, x, y };
    }
}

/// Bands are drawn for at most this many shown rows: beyond, they hide the means (and
/// triple the drawing work).
pub const MAX_BANDS: usize = 4;

/// The recipe with `set` applied; errors name the key and what is allowed
/// (`Recipe::with_value` does the checking).
pub fn apply_overrides(base: &Recipe, set: &toml::Table) -> Result<Recipe, String> {
    let mut r = base.clone();
    for (k, v) in set {
        r = r.with_value(k, v)?;
    }
    Ok(r)
}

/// A TOML value as a user types it: `600`, `0.1`, `2e-5`, `ta_wide`, `true`.
pub fn fmt_value(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Float(f) if *f != 0.0 && f.abs() < 1e-3 => format!("{f:e}"),
        toml::Value::Float(f) if f.fract() == 0.0 => format!("{f:.1}"),
        other => other.to_string(),
    }
}

/// Parses the form's lines (`key = value`, blank lines ignored) into overrides.
/// A bare word value is taken as a string, so `auto_augment = ta_wide` works unquoted.
pub fn parse_lines(lines: &[String]) -> Result<toml::Table, String> {
    let mut set = toml::Table::new();
    for (i, line) in lines.iter().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            return Err(format!("line {}: expected `key = value`", i + 1));
        };
        let (k, v) = (k.trim(), v.trim());
        if k.is_empty() || v.is_empty() {
            return Err(format!("line {}: expected `key = value`", i + 1));
        }
        let value = crate::recipe::parse_value(v);
        set.insert(k.to_string(), value);
    }
    Ok(set)
}
