//! View 4: the stacked table of torchvision's recipe post (`stats::row_table`), with n, std
//! and the Welch p-value of each incremental diff. Gains beyond seed noise are green, losses
//! red, the rest muted; rows missing seeds show how many are in.
use super::{fmt_opt, MUTED};
use crate::tui::app::App;
use crate::tui::data::{table, verdict, ALPHA};
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::{Block, Cell, Row, Table, TableState};
use ratatui::Frame;

fn signed(v: Option<f64>) -> String {
    v.map(|x| format!("{x:+.3}")).unwrap_or_else(|| "–".into())
}

/// NaN (one seed: no spread) shows as a dash.
fn finite(v: Option<f64>) -> Option<f64> {
    v.filter(|x| x.is_finite())
}

pub fn draw(app: &App, f: &mut Frame, area: Rect) {
    let stat = app.stat;
    let rows_data = table(&app.snapshot, stat);
    let rows = rows_data.iter().map(|t| {
        let colour = match verdict(t) {
            1 => Color::Green,
            -1 => Color::Red,
            _ => MUTED,
        };
        let inp = &t.input;
        // "2/3", with failed (x) and running (~) runs flagged.
        let mut n = format!("{}/{}", t.n(), inp.expected);
        if inp.failed > 0 {
            n.push('x');
        } else if inp.running > 0 {
            n.push('~');
        }
        let n_style = if t.n() < inp.expected {
            Style::new().fg(Color::Yellow)
        } else {
            Style::new()
        };
        let p = t.incremental.and_then(|d| d.welch).map(|w| w.p);
        Row::new(vec![
            Cell::from(inp.label.clone()),
            Cell::from(n).style(n_style),
            Cell::from(fmt_opt(t.acc1.map(|d| stat.of(&d)), 3)),
            Cell::from(fmt_opt(finite(t.acc1.map(|d| d.std)), 3)).style(Style::new().fg(MUTED)),
            Cell::from(fmt_opt(t.acc5.map(|d| stat.of(&d)), 3)),
            Cell::from(signed(t.incremental.map(|d| d.delta))).style(Style::new().fg(colour)),
            Cell::from(signed(t.absolute.map(|d| d.delta))),
            Cell::from(match p {
                Some(p) if p < 0.001 => "<.001".to_string(),
                p => fmt_opt(p, 3),
            })
            .style(Style::new().fg(colour)),
        ])
    });
    let widths = [
        Constraint::Fill(1),
        Constraint::Length(5),
        Constraint::Length(7),
        Constraint::Length(6),
        Constraint::Length(7),
        Constraint::Length(8),
        Constraint::Length(8),
        Constraint::Length(6),
    ];
    let header = Row::new(vec![
        "Step", "n", "Acc@1", "std", "Acc@5", "Incr", "Abs", "p",
    ])
    .style(Style::new().add_modifier(Modifier::BOLD));
    let title = format!(
        " {} of seeds, acc %; green/red: p < {ALPHA} vs the row above ",
        stat.as_str()
    );
    let t = Table::new(rows, widths)
        .header(header)
        .block(Block::bordered().title(title))
        .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED));
    let mut st = TableState::default().with_selected(if rows_data.is_empty() {
        None
    } else {
        Some(app.table_sel)
    });
    f.render_stateful_widget(t, area, &mut st);
}
