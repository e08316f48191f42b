//! The TUI's adapter to the workspace, on a real (temporary) workspace: a study queued with
//! the queue's own `enqueue_study` (no scheduler started), one run given metrics by hand,
//! then snapshot, cancel and export through `tui::client`, as the runtime's worker does.
use ablate::store::metrics::{Eval, MetricEvent, MetricsWriter};
use ablate::store::{JobState, Workspace};
use ablate::tui::client::{execute, load_snapshot, load_study};
use ablate::tui::update::{Effect, Msg};

fn epoch(e: i64, acc1: f64) -> MetricEvent {
    MetricEvent::Epoch {
        epoch: e,
        lr: 0.1,
        train_loss: 2.0 - 0.5 * e as f64,
        train_acc1: 0.0,
        train_acc5: 0.0,
        val: Eval {
            loss: 1.0,
            acc1,
            acc5: acc1 + 10.0,
        },
        ema: None,
        epoch_time_s: 2.0,
        images_per_sec: 128.0,
    }
}

#[test]
fn snapshot_cancel_and_export_on_a_real_workspace() {
    let dir = tempfile::tempdir().unwrap();
    let (study, _) = load_study(dir.path(), Some("smoke")).unwrap();
    // Not queued yet: the planned rows, no runs.
    let snap = load_snapshot(dir.path(), &study).unwrap();
    assert_eq!(snap.rows[0], "Baseline");
    assert!(snap.runs.is_empty());

    let ws = Workspace::open(dir.path()).unwrap();
    let rows = ablate::plan::expand(&study).unwrap();
    let runs = ablate::plan::runs(&rows, study.seeds);
    let text = toml::to_string(&study).unwrap();
    ablate::queue::client::enqueue_study(&ws, &study, &text, &rows, &runs, study.seeds).unwrap();

    // Run 0 (baseline, seed 0) trained two epochs and finished.
    let id = runs[0].id();
    let mut w = MetricsWriter::append(&ws.run_dir(&id).join("metrics.jsonl")).unwrap();
    w.write(&epoch(0, 40.0)).unwrap();
    w.write(&epoch(1, 55.5)).unwrap();
    ws.update_job(&id, |j| {
        j.state = JobState::Done;
        j.device = Some("cpu".into());
        j.started = Some(100.0);
        j.ended = Some(104.0);
    })
    .unwrap();

    let snap = load_snapshot(dir.path(), &study).unwrap();
    assert_eq!(snap.runs.len(), runs.len());
    let r0 = snap.runs.iter().find(|r| r.id == id).unwrap();
    assert_eq!((r0.row, r0.state, r0.epochs_done), (0, JobState::Done, 2));
    assert_eq!(r0.acc1, Some(55.5));
    assert_eq!(r0.epoch_time_s, Some(2.0)); // (104 - 100) s / 2 epochs
    let c = &snap.curves[0];
    assert_eq!(c.val_acc1, vec![(1.0, 40.0), (2.0, 55.5)]);
    assert_eq!(c.train_loss, vec![(1.0, 2.0), (2.0, 1.5)]);
    // The table input: smoke's summary is final epoch of the better model -> 55.5.
    assert_eq!(snap.inputs[0].acc1, vec![55.5]);
    assert!(snap.done_ids.contains(&id));

    // Cancel a queued run.
    let other = runs[1].id();
    let msg = execute(dir.path(), Effect::Cancel(other.clone()));
    assert_eq!(
        msg,
        Msg::Info(format!(
            "{other}: cancelled (a running run stops at SIGTERM)"
        ))
    );
    assert_eq!(ws.job(&other).unwrap().unwrap().state, JobState::Cancelled);

    // Export: the same three files as `ablate export`, in WS/exports/<study>/.
    let out = dir.path().join("exports").join(&study.name);
    let msg = execute(
        dir.path(),
        Effect::Export {
            study: study.name.clone(),
        },
    );
    assert_eq!(
        msg,
        Msg::Info(format!(
            "exported table.csv, runs.csv, curves.csv to {}",
            out.display()
        ))
    );
    let table = std::fs::read_to_string(out.join("table.csv")).unwrap();
    assert!(table.lines().count() > rows.len(), "{table}");
    assert!(out.join("curves.csv").is_file() && out.join("runs.csv").is_file());

    // A log that does not exist yet is said so, not an error.
    let Msg::LogTail { text, .. } = execute(dir.path(), Effect::LoadLog(id)) else {
        panic!()
    };
    assert!(text.starts_with("(no log yet"));
    // Reopening by study name finds the queued study's snapshot.
    let (again, source) = load_study(dir.path(), Some("smoke")).unwrap();
    assert_eq!((again.name.as_str(), source.as_str()), ("smoke", "smoke"));
}
