//! A fixed study and workspace snapshot for snapshot tests and `ablate bench tui`:
//! torchvision's 12-row stacked ablation, 3 seeds, with the blog's Acc@1/Acc@5 as the best
//! seed of each row (so the "best" table reproduces the blog's diffs), one row still
//! running, one failed seed. Deterministic: no clock, no RNG.
use super::data::{RunCurves, RunState, RunView, Snapshot};
use crate::recipe::{Ingredient, Recipe, Study};
use crate::stats::RowInput;

/// Blog table (recipe-semantics.md §12): Acc@1, Acc@5 per row.
pub const BLOG: [(f64, f64); 12] = [
    (76.130, 92.862),
    (76.494, 93.198),
    (76.806, 93.272),
    (78.606, 94.052),
    (78.796, 94.094),
    (79.114, 94.374),
    (79.232, 94.536),
    (79.510, 94.642),
    (80.036, 94.746),
    (80.196, 94.672),
    (80.450, 94.908),
    (80.674, 95.166),
];

/// Seed s scores BLOG - OFFSETS[s]: seed 0 is the best.
pub const OFFSETS: [f64; 3] = [0.0, 0.21, 0.35];

pub fn study(epochs: i64) -> Study {
    let baseline = Recipe {
        model: "resnet50".into(),
        world_size: 8,
        epochs,
        dataset: "/data/imagenet".into(),
        ..Recipe::default()
    };
    let ingredients: Vec<Ingredient> = super::catalogue::catalogue()
        .into_iter()
        .take(11)
        .map(|mut i| {
            // Keep every row at the fixture's length: the curves share one x range.
            i.set.remove("epochs");
            i
        })
        .collect();
    Study {
        name: "resnet50-blog".into(),
        description: String::new(),
        seeds: 3,
        plan: Default::default(),
        summary: Default::default(),
        baseline,
        ingredients,
        set: Default::default(),
        source: "fixture".into(),
    }
}

/// The workspace as the TUI would read it mid-study.
pub fn snapshot(epochs: i64) -> Snapshot {
    let study = study(epochs);
    let rows = crate::plan::expand(&study).expect("the fixture expands");
    let mut snap = Snapshot {
        rows: rows.iter().map(|r| r.label.clone()).collect(),
        seeds: 3,
        inputs: rows
            .iter()
            .map(|r| RowInput {
                label: r.label.clone(),
                expected: 3,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    for spec in crate::plan::runs(&rows, 3) {
        let (row, seed) = (spec.row, spec.seed as usize);
        // Last row: seed 0 done, seed 1 running at 40 %, seed 2 queued. Row 10 seed 2 failed.
        let (state, done) = match (row, seed) {
            (11, 1) => (RunState::Running, epochs * 2 / 5),
            (11, 2) => (RunState::Queued, 0),
            (10, 2) => (RunState::Failed, epochs / 3),
            _ => (RunState::Done, epochs),
        };
        let (a1, a5) = BLOG[row];
        let off = OFFSETS[seed];
        let curve = |e: i64, last: f64| last - 30.0 * (-(e as f64) / (epochs as f64 / 6.0)).exp();
        let mut c = RunCurves {
            row,
            seed: spec.seed,
            ..Default::default()
        };
        for e in 1..=done {
            let wiggle = 0.4 * ((e as f64 * 0.7 + seed as f64).sin());
            c.val_acc1.push((e as f64, curve(e, a1 - off) + wiggle));
            c.train_loss.push((
                e as f64,
                0.9 + 2.0 * (-(e as f64) / (epochs as f64 / 5.0)).exp() + 0.05 * wiggle,
            ));
            let t = (e - 1) as f64 / epochs as f64;
            c.lr.push((e as f64, 0.25 * (1.0 + (std::f64::consts::PI * t).cos())));
        }
        let input = &mut snap.inputs[row];
        match state {
            RunState::Done => {
                input.acc1.push(a1 - off);
                input.acc5.push(a5 - off);
                snap.done_ids.insert(spec.id());
            }
            RunState::Running => input.running += 1,
            RunState::Queued => input.queued += 1,
            _ => input.failed += 1,
        }
        snap.runs.push(RunView {
            id: spec.id(),
            row,
            seed: spec.seed,
            state,
            device: if state == RunState::Queued {
                String::new()
            } else {
                format!("cuda:{}", (row * 3 + seed) % 4)
            },
            epochs_done: done,
            epochs,
            last_loss: c.train_loss.last().map(|p| p.1),
            acc1: c.val_acc1.last().map(|p| p.1),
            images_per_sec: (state == RunState::Running).then_some(2890.0),
            epoch_time_s: (done > 0).then_some(443.0),
            eta_s: (state == RunState::Running).then_some(443.0 * (epochs - done) as f64),
            priority: 0,
        });
        if done > 0 {
            snap.curves.push(c);
        }
    }
    snap
}
