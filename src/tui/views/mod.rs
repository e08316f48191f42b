//! Pure drawing from `&App`: a tab line, the current view, the message line, the key bar,
//! and an overlay on top. Small terminals (80x24) collapse side panels.
mod curves;
mod overlay;
mod recipe;
mod runs;
mod table;

use super::app::{App, View};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

/// Row colours: a row keeps its colour in the curves and the legend.
pub const PALETTE: [Color; 8] = [
    Color::Cyan,
    Color::Yellow,
    Color::Magenta,
    Color::Green,
    Color::Blue,
    Color::Red,
    Color::LightCyan,
    Color::LightYellow,
];

pub fn row_colour(row: usize) -> Color {
    PALETTE[row % PALETTE.len()]
}

pub const MUTED: Color = Color::DarkGray;

pub fn draw(app: &App, f: &mut Frame) {
    let [tabs, body, msg, keys] = f.area().layout(&Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ]));
    draw_tabs(app, f, tabs);
    match app.view {
        View::Recipe => recipe::draw(app, f, body),
        View::Runs => runs::draw(app, f, body),
        View::Curves => curves::draw(app, f, body),
        View::Table => table::draw(app, f, body),
    }
    if let Some(m) = &app.message {
        let style = if m.error {
            Style::new().fg(Color::Red)
        } else {
            Style::new().fg(Color::Green)
        };
        f.render_widget(Paragraph::new(Line::styled(m.text.as_str(), style)), msg);
    }
    draw_keys(app, f, keys);
    if let Some(ov) = &app.overlay {
        overlay::draw(app, ov, f);
    }
}

fn draw_tabs(app: &App, f: &mut Frame, area: Rect) {
    let mut spans = Vec::new();
    for v in View::ALL {
        let text = format!(" {} {} ", v.index() + 1, v.title());
        let style = if v == app.view {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        } else {
            Style::new()
        };
        spans.push(Span::styled(text, style));
    }
    let (total, done) = (
        app.snapshot.runs.len(),
        app.snapshot
            .runs
            .iter()
            .filter(|r| r.state == super::data::RunState::Done)
            .count(),
    );
    let right = format!(" {}  {done}/{total} runs done ", app.study.name);
    let used: usize = spans.iter().map(|s| s.width()).sum();
    let pad = (area.width as usize).saturating_sub(used + right.len());
    spans.push(Span::raw(" ".repeat(pad)));
    spans.push(Span::styled(right, Style::new().fg(MUTED)));
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The keys that apply here, most useful first (the bar truncates on narrow terminals).
pub fn keys_for(app: &App) -> Vec<(&'static str, &'static str)> {
    use super::app::Overlay;
    match &app.overlay {
        Some(Overlay::Edit(_)) => {
            return vec![
                ("type", "edit"),
                ("↑↓", "line"),
                ("Enter", "save"),
                ("Esc", "cancel"),
            ]
        }
        Some(Overlay::Catalogue { .. }) => {
            return vec![("↑↓", "select"), ("Enter", "add"), ("Esc", "cancel")]
        }
        Some(_) => return vec![("Esc", "close")],
        None => {}
    }
    let mut k = match app.view {
        View::Recipe => vec![
            ("Space", "toggle"),
            ("J/K", "move"),
            ("Enter", "edit"),
            ("a", "add"),
            ("d", "del"),
            ("p", "plan"),
            ("+/-", "seeds"),
            ("g", "queue"),
        ],
        View::Runs => vec![
            ("c", "cancel"),
            ("r", "retry"),
            ("+", "priority"),
            ("l", "log"),
        ],
        View::Curves => vec![
            ("Space", "show row"),
            ("m", "metric"),
            ("s", "seeds"),
            ("b", "band"),
            ("a", "all"),
        ],
        View::Table => vec![("s", "statistic"), ("x", "export CSV")],
    };
    k.extend([("Tab", "view"), ("?", "help"), ("q", "quit")]);
    k
}

fn draw_keys(app: &App, f: &mut Frame, area: Rect) {
    let mut spans = Vec::new();
    for (key, what) in keys_for(app) {
        spans.push(Span::styled(
            format!(" {key}"),
            Style::new().add_modifier(Modifier::BOLD),
        ));
        spans.push(Span::styled(format!(" {what}"), Style::new().fg(MUTED)));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// `1h05m`, `12m30s`, `45s`.
pub fn fmt_duration(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

pub fn fmt_opt(v: Option<f64>, prec: usize) -> String {
    v.map(|x| format!("{x:.prec$}"))
        .unwrap_or_else(|| "–".into())
}
