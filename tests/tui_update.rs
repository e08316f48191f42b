//! Update logic without a terminal: key -> state change / effect, and the table numbers.
use ablate::stats::Stat;
use ablate::tui::app::{App, Metric, Overlay, View};
use ablate::tui::data::{table, verdict};
use ablate::tui::fixture;
use ablate::tui::update::{update, Effect, Msg};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

fn app() -> App {
    let mut app = App::new(fixture::study(90), "fixture");
    update(&mut app, Msg::Resize(80, 24));
    update(&mut app, Msg::Snapshot(fixture::snapshot(90)));
    app
}

fn press(app: &mut App, c: KeyCode) -> Vec<Effect> {
    update(app, Msg::Key(KeyEvent::new(c, KeyModifiers::NONE)))
}

fn shift(app: &mut App, c: KeyCode) -> Vec<Effect> {
    update(app, Msg::Key(KeyEvent::new(c, KeyModifiers::SHIFT)))
}

fn names(app: &App) -> Vec<&str> {
    app.study
        .ingredients
        .iter()
        .map(|i| i.name.as_str())
        .collect()
}

#[test]
fn switch_views_help_and_quit() {
    let mut a = app();
    press(&mut a, KeyCode::Tab);
    assert_eq!(a.view, View::Runs);
    press(&mut a, KeyCode::Char('4'));
    assert_eq!(a.view, View::Table);
    press(&mut a, KeyCode::BackTab);
    assert_eq!(a.view, View::Curves);
    press(&mut a, KeyCode::Char('?'));
    assert_eq!(a.overlay, Some(Overlay::Help));
    // Keys go to the overlay while it is open: q closes help, it does not quit.
    press(&mut a, KeyCode::Char('q'));
    assert_eq!(a.overlay, None);
    assert!(!a.quit);
    press(&mut a, KeyCode::Char('q'));
    assert!(a.quit);
    // Key releases (Windows terminals) are ignored.
    let mut b = app();
    let mut rel = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
    rel.kind = KeyEventKind::Release;
    update(&mut b, Msg::Key(rel));
    assert!(!b.quit);
}

#[test]
fn toggle_changes_rows_and_run_count() {
    let mut a = app();
    assert_eq!(a.rows.as_ref().unwrap().len(), 12);
    // 36 runs; the fixture's workspace finished 33 of them (same recipes and seeds).
    assert_eq!(a.run_counts(), (36, 33));
    press(&mut a, KeyCode::Down);
    press(&mut a, KeyCode::Char(' '));
    assert!(!a.study.ingredients[0].enabled);
    assert_eq!(a.rows.as_ref().unwrap().len(), 11);
    // Every later row's recipe changed (no LR optimizations below it): only the baseline is reused.
    assert_eq!(a.run_counts(), (33, 3));
    press(&mut a, KeyCode::Char(' '));
    assert_eq!(a.run_counts(), (36, 33));
    // Space on the baseline does nothing.
    press(&mut a, KeyCode::Up);
    press(&mut a, KeyCode::Char(' '));
    assert_eq!(a.rows.as_ref().unwrap().len(), 12);
}

#[test]
fn reorder_with_shift_j_k_and_arrows() {
    let mut a = app();
    press(&mut a, KeyCode::Down); // LR optimizations
    press(&mut a, KeyCode::Char('J'));
    assert_eq!(
        &names(&a)[..3],
        ["TrivialAugment", "LR optimizations", "Long Training"]
    );
    assert_eq!(a.recipe_sel, 2);
    shift(&mut a, KeyCode::Up);
    assert_eq!(&names(&a)[..2], ["LR optimizations", "TrivialAugment"]);
    assert_eq!(a.recipe_sel, 1);
    // Already first: stays.
    press(&mut a, KeyCode::Char('K'));
    assert_eq!(names(&a)[0], "LR optimizations");
    assert_eq!(a.rows.as_ref().unwrap()[1].label, "+ LR optimizations");
}

#[test]
fn add_edit_and_remove() {
    let mut a = app();
    press(&mut a, KeyCode::Char('a'));
    for _ in 0..11 {
        press(&mut a, KeyCode::Down);
    }
    press(&mut a, KeyCode::Enter); // "RA sampler", inserted below the baseline
    assert_eq!(names(&a)[0], "RA sampler");
    assert_eq!(a.study.ingredients.len(), 12);
    assert_eq!(a.recipe_sel, 1);
    // Edit: `ra_reps = 4` -> `ra_reps = 2`.
    press(&mut a, KeyCode::Enter);
    let Some(Overlay::Edit(f)) = &a.overlay else {
        panic!("form not open")
    };
    assert_eq!(f.lines[0], "ra_reps = 4");
    press(&mut a, KeyCode::Backspace);
    press(&mut a, KeyCode::Char('x'));
    let Some(Overlay::Edit(f)) = &a.overlay else {
        panic!()
    };
    assert_eq!(
        f.error.as_deref(),
        Some("`ra_reps` = \"x\": invalid type: string \"x\", expected i64")
    );
    press(&mut a, KeyCode::Enter); // invalid: stays open
    assert!(matches!(a.overlay, Some(Overlay::Edit(_))));
    press(&mut a, KeyCode::Backspace);
    press(&mut a, KeyCode::Char('2'));
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.overlay, None);
    assert_eq!(a.study.ingredients[0].set["ra_reps"].as_integer(), Some(2));
    assert_eq!(a.rows.as_ref().unwrap()[1].recipe.ra_reps, 2);
    // An unknown key is named, with a suggestion.
    press(&mut a, KeyCode::Enter);
    press(&mut a, KeyCode::Down);
    press(&mut a, KeyCode::Down);
    for c in "lr_warmup_epoch = 3".chars() {
        press(&mut a, KeyCode::Char(c));
    }
    let Some(Overlay::Edit(f)) = &a.overlay else {
        panic!()
    };
    assert_eq!(
        f.error.as_deref(),
        Some("unknown key `lr_warmup_epoch` (did you mean `lr_warmup_epochs`?)")
    );
    press(&mut a, KeyCode::Esc);
    press(&mut a, KeyCode::Char('d'));
    assert_eq!(names(&a)[0], "LR optimizations");
    assert_eq!(a.study.ingredients.len(), 11);
}

#[test]
fn plan_seeds_and_queue() {
    let mut a = app();
    press(&mut a, KeyCode::Char('+'));
    assert_eq!(a.study.seeds, 4);
    assert_eq!(a.run_counts(), (48, 33));
    press(&mut a, KeyCode::Char('-'));
    press(&mut a, KeyCode::Char('p'));
    assert_eq!(a.study.plan.kind, ablate::recipe::PlanKind::LeaveOneOut);
    press(&mut a, KeyCode::Char('p'));
    press(&mut a, KeyCode::Char('p'));
    let fx = press(&mut a, KeyCode::Char('g'));
    assert_eq!(
        fx,
        vec![Effect::Queue {
            study: Box::new(a.study.clone()),
            force: false
        }]
    );
}

#[test]
fn queue_is_blocked_by_check_errors_unless_forced() {
    let mut a = app();
    a.findings.push(ablate::tui::app::Finding {
        error: true,
        row: "+ Mixup".into(),
        message: "mixup_alpha must be >= 0".into(),
    });
    assert!(press(&mut a, KeyCode::Char('g')).is_empty());
    assert!(a.message.as_ref().unwrap().error);
    let fx = press(&mut a, KeyCode::Char('G'));
    assert!(matches!(&fx[..], [Effect::Queue { force: true, .. }]));
}

#[test]
fn runs_actions_respect_state() {
    let mut a = app();
    press(&mut a, KeyCode::Char('2'));
    // Run 0 is done: cancel refused, retry refused, log allowed.
    assert!(press(&mut a, KeyCode::Char('c')).is_empty());
    assert!(press(&mut a, KeyCode::Char('r')).is_empty());
    let id0 = a.snapshot.runs[0].id.clone();
    assert_eq!(
        press(&mut a, KeyCode::Char('l')),
        vec![Effect::LoadLog(id0)]
    );
    // Last run: queued; second to last: failed... find them by state.
    let queued = a
        .snapshot
        .runs
        .iter()
        .position(|r| r.state.as_str() == "queued")
        .unwrap();
    let failed = a
        .snapshot
        .runs
        .iter()
        .position(|r| r.state.as_str() == "failed")
        .unwrap();
    a.runs_sel = queued;
    let qid = a.snapshot.runs[queued].id.clone();
    assert_eq!(a.snapshot.runs[queued].row, 11);
    assert_eq!(
        press(&mut a, KeyCode::Char('+')),
        vec![Effect::Raise {
            study: "resnet50-blog".into(),
            row: 11
        }]
    );
    assert_eq!(press(&mut a, KeyCode::Char('c')), vec![Effect::Cancel(qid)]);
    a.runs_sel = failed;
    let fid = a.snapshot.runs[failed].id.clone();
    assert_eq!(press(&mut a, KeyCode::Char('r')), vec![Effect::Retry(fid)]);
    update(
        &mut a,
        Msg::LogTail {
            id: "x".into(),
            text: "epoch 3".into(),
        },
    );
    assert!(matches!(a.overlay, Some(Overlay::Log { .. })));
}

#[test]
fn curves_selection_and_metric() {
    let mut a = app();
    press(&mut a, KeyCode::Char('3'));
    // First snapshot shows the baseline and the last row: mean + min and max lines each.
    assert_eq!(
        a.curve_rows.iter().copied().collect::<Vec<_>>(),
        vec![0, 11]
    );
    assert_eq!(a.plot.lines.len(), 6);
    press(&mut a, KeyCode::Char(' ')); // hide the baseline
    assert_eq!(a.plot.lines.len(), 3);
    press(&mut a, KeyCode::Char('s')); // individual seeds instead of the band
                                       // Row 11 has two seeds with epochs (one done, one running), plus the mean.
    assert_eq!(a.plot.lines.len(), 3);
    press(&mut a, KeyCode::Char('m'));
    assert_eq!(a.metric, Metric::TrainLoss);
    // x spans the epochs that exist; y is padded 5 % around the data.
    assert_eq!(a.plot.x, [1.0, 90.0]);
    assert!(a.plot.y[0] < 0.95 && a.plot.y[1] > 2.5);
}

#[test]
fn table_stat_switch_and_export() {
    let mut a = app();
    press(&mut a, KeyCode::Char('4'));
    assert_eq!(a.stat, Stat::Best);
    press(&mut a, KeyCode::Char('s'));
    assert_eq!(a.stat, Stat::Mean);
    let fx = press(&mut a, KeyCode::Char('x'));
    assert_eq!(
        fx,
        vec![Effect::Export {
            study: "resnet50-blog".into()
        }]
    );
}

#[test]
#[allow(clippy::approx_constant)] // 0.318 is the blog's Label Smoothing gain, not 1/pi
fn best_table_reproduces_the_blog_diffs() {
    // The fixture's best seed of each row is the blog's number (recipe-semantics.md §12),
    // so the Incremental and Absolute columns must be the blog's.
    let incr = [
        0.364, 0.312, 1.800, 0.190, 0.318, 0.118, 0.278, 0.526, 0.160, 0.254, 0.224,
    ];
    let abs = [
        0.364, 0.676, 2.476, 2.666, 2.984, 3.102, 3.380, 3.906, 4.066, 4.320, 4.544,
    ];
    let t = table(&fixture::snapshot(90), Stat::Best);
    assert_eq!(t.len(), 12);
    for i in 1..12 {
        let d = |x: Option<ablate::stats::Diff>| x.unwrap().delta;
        assert!((d(t[i].incremental) - incr[i - 1]).abs() < 1e-9, "row {i}");
        assert!((d(t[i].absolute) - abs[i - 1]).abs() < 1e-9, "row {i}");
    }
    // n: EMA lost a seed, the last row has one finished.
    assert_eq!((t[10].n(), t[11].n(), t[11].input.expected), (2, 1, 3));
    assert_eq!(
        (t[10].input.failed, t[11].input.running, t[11].input.queued),
        (1, 1, 1)
    );
    // Mean: offsets 0, .21, .35 -> mean = best - 0.186667; std (ddof=1) = 0.176163.
    let m = table(&fixture::snapshot(90), Stat::Mean);
    let m0 = m[0].acc1.unwrap();
    assert!((m0.mean - (76.130 - 0.56 / 3.0)).abs() < 1e-9);
    assert!((m0.std - 0.176_162_9).abs() < 1e-6);
    // Long training: +1.8 with std 0.176 over 3 seeds each is far beyond seed noise.
    // Welch t = 12.514224, df = 4: p = 2.34569e-4 (Simpson integration of the t pdf in Python).
    assert_eq!(verdict(&t[3]), 1);
    let p = t[3].incremental.unwrap().welch.unwrap().p;
    assert!((p - 2.345_69e-4).abs() < 1e-8, "{p}");
    // +0.118 (Mixup) is not.
    assert_eq!(verdict(&t[6]), 0);
}
