//! View 2: every run with its state, an epoch progress bar and its latest numbers.
use super::{fmt_duration, fmt_opt, row_colour, MUTED};
use crate::tui::app::App;
use crate::tui::data::RunState;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::{Block, Cell, Row, Table, TableState};
use ratatui::Frame;

fn state_style(s: RunState) -> Style {
    match s {
        RunState::Running => Style::new().fg(Color::Cyan),
        RunState::Done => Style::new().fg(Color::Green),
        RunState::Failed | RunState::Diverged => Style::new().fg(Color::Red),
        RunState::Queued => Style::new(),
        RunState::Cancelled => Style::new().fg(MUTED),
    }
}

/// A text gauge (`██████░░░░ 12/90`), since a Table cell cannot hold a Gauge widget.
pub fn bar(done: i64, total: i64, width: usize) -> String {
    let frac = if total > 0 {
        (done as f64 / total as f64).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let full = (frac * width as f64).round() as usize;
    format!(
        "{}{} {done}/{total}",
        "█".repeat(full),
        "░".repeat(width - full)
    )
}

pub fn draw(app: &App, f: &mut Frame, area: Rect) {
    let wide = area.width >= 110;
    let snap = &app.snapshot;
    let mut header = vec!["row", "seed", "state"];
    if wide {
        header.extend(["run", "device"]);
    }
    header.extend(["progress", "loss", "acc@1"]);
    if wide {
        header.push("img/s");
    }
    header.push("ETA");
    let bar_w = if wide { 12 } else { 8 };
    let rows = snap.runs.iter().map(|r| {
        let label = snap.rows.get(r.row).cloned().unwrap_or_default();
        let mut cells = vec![
            Cell::from(label).style(Style::new().fg(row_colour(r.row))),
            Cell::from(r.seed.to_string()),
            Cell::from(r.state.as_str()).style(state_style(r.state)),
        ];
        if wide {
            cells.push(Cell::from(r.id.clone()).style(Style::new().fg(MUTED)));
            cells.push(Cell::from(r.device.clone()));
        }
        cells.extend([
            Cell::from(bar(r.epochs_done, r.epochs, bar_w)),
            Cell::from(fmt_opt(r.last_loss, 3)),
            Cell::from(fmt_opt(r.acc1, 2)),
        ]);
        if wide {
            cells.push(Cell::from(fmt_opt(r.images_per_sec, 0)));
        }
        cells.push(Cell::from(match (r.state, r.eta_s) {
            (RunState::Running, Some(s)) => fmt_duration(s),
            _ => String::new(),
        }));
        Row::new(cells)
    });
    let mut widths = vec![
        Constraint::Fill(1),
        Constraint::Length(4),
        Constraint::Length(9),
    ];
    if wide {
        widths.extend([Constraint::Length(17), Constraint::Length(7)]);
    }
    widths.extend([
        Constraint::Length(bar_w as u16 + 8),
        Constraint::Length(6),
        Constraint::Length(6),
    ]);
    if wide {
        widths.push(Constraint::Length(6));
    }
    widths.push(Constraint::Length(7));
    let title = if snap.runs.is_empty() {
        " runs: none queued yet (Recipe view, g) ".to_string()
    } else {
        format!(" runs ({}) ", snap.runs.len())
    };
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(Style::new().add_modifier(Modifier::BOLD)))
        .block(Block::bordered().title(title))
        .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED));
    let mut state = TableState::default().with_selected(if snap.runs.is_empty() {
        None
    } else {
        Some(app.runs_sel)
    });
    f.render_stateful_widget(table, area, &mut state);
}
