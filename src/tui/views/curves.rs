//! View 3: per-epoch curves of the shown rows, mean over seeds with a band (or the seeds),
//! from the plot cached in App (aggregated and downsampled in `update`, not per frame).
use super::{row_colour, MUTED};
use crate::tui::app::{App, Metric, PlotLine, MAX_BANDS};
use crate::tui::series::Band;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::canvas::{Canvas, Line as CanvasLine, Points};
use ratatui::widgets::{Block, Clear, List, ListItem, ListState, Paragraph};
use ratatui::Frame;

pub fn draw(app: &App, f: &mut Frame, area: Rect) {
    let chart_area = if area.width >= 100 {
        let [list, chart] = area.layout(&Layout::horizontal([
            Constraint::Length(30),
            Constraint::Min(10),
        ]));
        draw_list(app, f, list);
        chart
    } else {
        area
    };
    draw_chart(app, f, chart_area);
}

fn draw_list(app: &App, f: &mut Frame, area: Rect) {
    let items: Vec<ListItem> = app
        .snapshot
        .rows
        .iter()
        .enumerate()
        .map(|(i, label)| {
            let mark = if app.curve_rows.contains(&i) {
                "[x]"
            } else {
                "[ ]"
            };
            ListItem::new(Line::from(vec![
                Span::raw(format!("{mark} ")),
                Span::styled(label.clone(), Style::new().fg(row_colour(i))),
            ]))
        })
        .collect();
    let list = List::new(items)
        .block(Block::bordered().title(" rows "))
        .highlight_style(Style::new().add_modifier(Modifier::REVERSED));
    let mut st = ListState::default().with_selected(Some(app.curves_sel));
    f.render_stateful_widget(list, area, &mut st);
}

fn fmt_tick(v: f64, metric: Metric) -> String {
    match metric {
        Metric::Lr if v != 0.0 && v.abs() < 1e-2 => format!("{v:.1e}"),
        Metric::Lr => format!("{v:.3}"),
        Metric::ValAcc1 => format!("{v:.1}"),
        Metric::TrainLoss => format!("{v:.2}"),
    }
}

/// Darker shades of the row palette for bands and individual seeds (256-colour indices).
const DIM: [Color; 8] = [
    Color::Indexed(30),
    Color::Indexed(136),
    Color::Indexed(90),
    Color::Indexed(28),
    Color::Indexed(25),
    Color::Indexed(88),
    Color::Indexed(66),
    Color::Indexed(143),
];

/// Drawn on one braille Canvas with two layers (bands/seeds, then means) rather than a
/// Chart, which gives every dataset its own full-size layer: with 12 rows x 3 lines that
/// alone was over the 5 ms frame budget. Axes, labels and legend are drawn here.
fn draw_chart(app: &App, f: &mut Frame, area: Rect) {
    let p = &app.plot;
    let cursor = app
        .snapshot
        .rows
        .get(app.curves_sel)
        .map(|r| {
            let shown = if app.curve_rows.contains(&app.curves_sel) {
                "shown"
            } else {
                "hidden"
            };
            format!("  cursor: {r} ({shown})")
        })
        .unwrap_or_default();
    let around = match (app.show_seeds, app.band) {
        (true, _) => "seeds",
        (false, _) if app.curve_rows.len() > MAX_BANDS => "no band: > 4 rows",
        (false, Band::MinMax) => "min/max",
        (false, Band::Std) => "±std",
    };
    let title = format!(
        " {}: mean over seeds, {around}{cursor} ",
        app.metric.title()
    );
    let block = Block::bordered().title(title);
    let inner = block.inner(area);
    f.render_widget(block, area);
    if p.lines.is_empty() {
        let msg = if app.snapshot.curves.is_empty() {
            "no epochs finished yet"
        } else {
            "no row shown: Space shows the row under the cursor, a shows all"
        };
        f.render_widget(
            Paragraph::new(Line::styled(msg, Style::new().fg(MUTED))),
            inner,
        );
        return;
    }
    let [plot_row, x_row] = inner.layout(&Layout::vertical([
        Constraint::Min(1),
        Constraint::Length(1),
    ]));
    let [y_col, plot] = plot_row.layout(&Layout::horizontal([
        Constraint::Length(7),
        Constraint::Min(1),
    ]));
    let mid = |b: [f64; 2]| (b[0] + b[1]) / 2.0;
    // y labels: top, middle, bottom rows of the plot.
    let mut ylines = vec![Line::raw(""); plot.height as usize];
    if let Some(first) = ylines.first_mut() {
        *first = Line::raw(fmt_tick(p.y[1], app.metric));
    }
    let n = ylines.len();
    if n >= 3 {
        ylines[n / 2] = Line::raw(fmt_tick(mid(p.y), app.metric));
    }
    if n >= 2 {
        ylines[n - 1] = Line::raw(fmt_tick(p.y[0], app.metric));
    }
    f.render_widget(Paragraph::new(ylines).style(Style::new().fg(MUTED)), y_col);
    let (x0, xm, x1) = (
        format!("{:.0}", p.x[0]),
        format!("{:.0} epoch", mid(p.x)),
        format!("{:.0}", p.x[1]),
    );
    let w = plot.width as usize;
    let xm_at = (w / 2).saturating_sub(xm.len() / 2);
    let mut xl = format!("{x0:<xm_at$}{xm}");
    let pad = w.saturating_sub(xl.chars().count() + x1.len());
    xl.push_str(&" ".repeat(pad));
    xl.push_str(&x1);
    f.render_widget(
        Paragraph::new(Line::styled(xl, Style::new().fg(MUTED))),
        Rect {
            x: plot.x,
            width: plot.width,
            ..x_row
        },
    );
    let canvas = Canvas::default()
        .marker(Marker::Braille)
        .x_bounds(p.x)
        .y_bounds(p.y)
        .paint(|ctx| {
            for dim in [true, false] {
                for l in p.lines.iter().filter(|l| l.dim == dim) {
                    let colour = if dim {
                        DIM[l.colour % DIM.len()]
                    } else {
                        row_colour(l.colour)
                    };
                    for seg in l.points.windows(2) {
                        ctx.draw(&CanvasLine::new(
                            seg[0].0, seg[0].1, seg[1].0, seg[1].1, colour,
                        ));
                    }
                    if l.points.len() == 1 {
                        ctx.draw(&Points {
                            coords: &l.points,
                            color: colour,
                        });
                    }
                }
                // Means on their own layer, so they stay visible over the bands.
                ctx.layer();
            }
        });
    f.render_widget(canvas, plot);
    draw_legend(app, f, plot);
}

/// The shown rows and their colours, bottom right, when it fits in half the plot.
fn draw_legend(app: &App, f: &mut Frame, plot: Rect) {
    let names: Vec<&PlotLine> = app.plot.lines.iter().filter(|l| !l.dim).collect();
    let w = names
        .iter()
        .map(|l| l.label.chars().count())
        .max()
        .unwrap_or(0) as u16
        + 4;
    let h = names.len() as u16 + 2;
    if names.is_empty() || w > plot.width / 2 || h > plot.height / 2 {
        return;
    }
    let area = Rect::new(plot.right() - w, plot.bottom() - h, w, h);
    let lines: Vec<Line> = names
        .iter()
        .map(|l| {
            Line::from(vec![
                Span::styled("━ ", Style::new().fg(row_colour(l.colour))),
                Span::raw(l.label.clone()),
            ])
        })
        .collect();
    f.render_widget(Clear, area);
    f.render_widget(Paragraph::new(lines).block(Block::bordered()), area);
}
