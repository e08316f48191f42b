//! View 4: the stacked table of torchvision's recipe post, with n, std and p-values.
//! Gains beyond seed noise are green, losses red, the rest muted.
use super::{fmt_opt, MUTED};
use crate::tui::app::App;
use crate::tui::data::{table, ALPHA};
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::{Block, Cell, Row, Table, TableState};
use ratatui::Frame;

fn signed(v: Option<f64>) -> String {
    v.map(|x| format!("{x:+.3}")).unwrap_or_else(|| "–".into())
}

pub fn draw(app: &App, f: &mut Frame, area: Rect) {
    let rows_data = table(&app.snapshot, app.stat);
    let rows = rows_data.iter().map(|t| {
        let colour = match t.verdict() {
            1 => Color::Green,
            -1 => Color::Red,
            _ => MUTED,
        };
        let n = format!("{}/{}", t.n, t.seeds);
        let n_style = if (t.n as u32) < t.seeds {
            Style::new().fg(Color::Yellow)
        } else {
            Style::new()
        };
        Row::new(vec![
            Cell::from(t.label.clone()),
            Cell::from(n).style(n_style),
            Cell::from(fmt_opt(t.acc1, 3)),
            Cell::from(fmt_opt(t.std, 3)).style(Style::new().fg(MUTED)),
            Cell::from(fmt_opt(t.acc5, 3)),
            Cell::from(signed(t.incr)).style(Style::new().fg(colour)),
            Cell::from(signed(t.abs)),
            Cell::from(match t.p_value {
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
        app.stat.as_str()
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
