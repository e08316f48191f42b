//! `ablate bench tui` (issue 7): frame time of the busiest view, the Curves view with every
//! row of a 12-row x 3-seed study shown, 600 epochs per run, from the fixed fixture.
//! Renders into ratatui's TestBackend, so it measures our drawing, not the terminal.
use super::app::{App, View};
use super::update::{update, Msg};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub struct FrameTimes {
    /// Aggregating and downsampling the curves (once per data change, not per frame).
    pub prepare: Duration,
    /// Fastest and median frame, milliseconds.
    pub min_ms: f64,
    pub median_ms: f64,
}

/// The busiest view at `w` x `h`, with seeds drawn individually if `seeds`.
pub fn busiest_app(w: u16, h: u16, seeds: bool) -> (App, Duration) {
    let mut app = App::new(super::fixture::study(600), "fixture");
    update(&mut app, Msg::Resize(w, h));
    let t0 = Instant::now();
    update(&mut app, Msg::Snapshot(super::fixture::snapshot(600)));
    app.view = View::Curves;
    let key = |c| Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    update(&mut app, key('a'));
    if seeds {
        update(&mut app, key('s'));
    }
    (app, t0.elapsed())
}

/// Draws `frames` frames of `app` and times them.
pub fn frame_times(app: &App, frames: usize) -> (f64, f64) {
    let mut term = Terminal::new(TestBackend::new(app.size.0, app.size.1)).expect("test backend");
    let mut times: Vec<f64> = (0..frames.max(1))
        .map(|_| {
            let t = Instant::now();
            term.draw(|f| super::views::draw(app, f))
                .expect("test backend draws");
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(|a, b| a.total_cmp(b));
    (times[0], times[times.len() / 2])
}

pub fn measure(w: u16, h: u16, seeds: bool, frames: usize) -> FrameTimes {
    let (app, prepare) = busiest_app(w, h, seeds);
    let (min_ms, median_ms) = frame_times(&app, frames);
    FrameTimes {
        prepare,
        min_ms,
        median_ms,
    }
}

/// The report `ablate bench tui` prints (commands in src/cli print it).
pub fn report() -> String {
    let mut out = String::from(
        "TUI frame time, Curves view, 12 rows x 3 seeds x 600 epochs (target < 5 ms)\n",
    );
    for (w, h) in [(80, 24), (120, 40), (200, 60)] {
        for seeds in [false, true] {
            let t = measure(w, h, seeds, 50);
            out.push_str(&format!(
                "{w:>3}x{h:<3} {:<13} prepare {:>6.2} ms  frame min {:>6.2} ms  median {:>6.2} ms\n",
                if seeds { "every seed" } else { "means+bands" },
                t.prepare.as_secs_f64() * 1e3,
                t.min_ms,
                t.median_ms
            ));
        }
    }
    out
}
