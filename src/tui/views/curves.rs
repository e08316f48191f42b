//! View 3: per-epoch curves of the shown rows, mean over seeds with a band (or the seeds),
//! from the plot cached in App (aggregated and downsampled in `update`, not per frame).
use super::{row_colour, MUTED};
use crate::tui::app::{App, Metric, MAX_BANDS};
use crate::tui::series::Band;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Chart, Dataset, GraphType, List, ListItem, ListState};
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

fn draw_chart(app: &App, f: &mut Frame, area: Rect) {
    let p = &app.plot;
    let datasets: Vec<Dataset> = p
        .lines
        .iter()
        .map(|l| {
            let mut style = Style::new().fg(row_colour(l.colour));
            if l.dim {
                style = style.add_modifier(Modifier::DIM);
            }
            let d = Dataset::default()
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(style)
                .data(&l.points);
            if l.label.is_empty() {
                d
            } else {
                d.name(l.label.clone())
            }
        })
        .collect();
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
    if p.lines.is_empty() {
        let msg = if app.snapshot.curves.is_empty() {
            "no epochs finished yet"
        } else {
            "no row shown: Space shows the row under the cursor, a shows all"
        };
        f.render_widget(
            ratatui::widgets::Paragraph::new(Line::styled(msg, Style::new().fg(MUTED)))
                .block(block),
            area,
        );
        return;
    }
    let mid = |b: [f64; 2]| (b[0] + b[1]) / 2.0;
    let x_labels = vec![
        format!("{:.0}", p.x[0]),
        format!("{:.0}", mid(p.x)),
        format!("{:.0}", p.x[1]),
    ];
    let y_labels = vec![
        fmt_tick(p.y[0], app.metric),
        fmt_tick(mid(p.y), app.metric),
        fmt_tick(p.y[1], app.metric),
    ];
    let chart = Chart::new(datasets)
        .block(block)
        .x_axis(
            Axis::default()
                .title("epoch")
                .style(Style::new().fg(MUTED))
                .bounds(p.x)
                .labels(x_labels),
        )
        .y_axis(
            Axis::default()
                .style(Style::new().fg(MUTED))
                .bounds(p.y)
                .labels(y_labels),
        )
        .legend_position(Some(ratatui::widgets::LegendPosition::BottomRight))
        .hidden_legend_constraints((Constraint::Ratio(1, 2), Constraint::Ratio(1, 2)));
    f.render_widget(chart, area);
}
