//! View 1: the baseline and ingredients in stack order, plan settings, check findings, and
//! the selected row's resolved recipe with the changed parameters highlighted.
use super::{fmt_duration, MUTED};
use crate::tui::app::{fmt_value, App};
use crate::tui::catalogue::summary;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, List, ListItem, ListState, Paragraph};
use ratatui::Frame;

pub fn draw(app: &App, f: &mut Frame, area: Rect) {
    let [head, findings, main] = area.layout(&Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(if app.findings.is_empty() { 0 } else { 1 }),
        Constraint::Min(3),
    ]));
    f.render_widget(Paragraph::new(header(app)), head);
    if let Some(first) = app
        .findings
        .iter()
        .find(|x| x.error)
        .or(app.findings.first())
    {
        let errors = app.findings.iter().filter(|x| x.error).count();
        let colour = if errors > 0 {
            Color::Red
        } else {
            Color::Yellow
        };
        let text = format!(
            "{} error(s), {} warning(s) (f lists): {}{}",
            errors,
            app.findings.len() - errors,
            if first.row.is_empty() {
                String::new()
            } else {
                format!("{}: ", first.row)
            },
            first.message
        );
        f.render_widget(
            Paragraph::new(Line::styled(text, Style::new().fg(colour))),
            findings,
        );
    }
    // Wide: list | resolved recipe. Narrow: list above, the diff below.
    let list_h = (app.recipe_len() as u16 + 2).min(main.height.saturating_sub(5).max(3));
    let (list_area, side) = if main.width >= 100 {
        let [l, r] = main.layout(&Layout::horizontal([
            Constraint::Percentage(55),
            Constraint::Percentage(45),
        ]));
        (l, r)
    } else {
        let [l, r] = main.layout(&Layout::vertical([
            Constraint::Length(list_h),
            Constraint::Min(0),
        ]));
        (l, r)
    };
    draw_list(app, f, list_area);
    if side.height >= 3 {
        draw_side(app, f, side);
    }
}

fn header(app: &App) -> Line<'static> {
    let (runs, reused) = app.run_counts();
    let est = match app.estimate_s() {
        Some(s) => format!("~{} serial", fmt_duration(s)),
        None => "time: after the first epoch".into(),
    };
    let s = &app.study;
    let plan = serde_plain(&s.plan.kind);
    let bold = Style::new().add_modifier(Modifier::BOLD);
    Line::from(vec![
        Span::raw("plan "),
        Span::styled(plan, bold),
        Span::raw("  seeds "),
        Span::styled(s.seeds.to_string(), bold),
        Span::raw("  summary "),
        Span::styled(
            format!(
                "{}/{}",
                serde_plain(&s.summary.epoch),
                serde_plain(&s.summary.model)
            ),
            bold,
        ),
        Span::raw(format!("  {runs} runs ({reused} reused)  ")),
        Span::styled(est, Style::new().fg(MUTED)),
    ])
}

/// A unit enum's serde name (`leave-one-out`, `best`, `ema`).
fn serde_plain<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn draw_list(app: &App, f: &mut Frame, area: Rect) {
    let mut items = vec![ListItem::new(Line::from(vec![
        Span::styled("    Baseline ", Style::new().add_modifier(Modifier::BOLD)),
        Span::styled(
            format!(
                "{} {} ep, bs {}, lr {}",
                app.study.baseline.model,
                app.study.baseline.epochs,
                app.study.baseline.global_batch(),
                app.study.baseline.lr
            ),
            Style::new().fg(MUTED),
        ),
    ]))];
    for ing in &app.study.ingredients {
        let (mark, style) = if ing.enabled {
            ("[x]", Style::new())
        } else {
            ("[ ]", Style::new().fg(MUTED))
        };
        items.push(ListItem::new(Line::from(vec![
            Span::styled(format!("{mark} {} ", ing.name), style),
            Span::styled(summary(ing), Style::new().fg(MUTED)),
        ])));
    }
    let list = List::new(items)
        .block(Block::bordered().title(format!(" {} ", app.study.name)))
        .highlight_style(Style::new().add_modifier(Modifier::REVERSED));
    let mut state = ListState::default().with_selected(Some(app.recipe_sel));
    f.render_stateful_widget(list, area, &mut state);
}

fn draw_side(app: &App, f: &mut Frame, area: Rect) {
    let block = Block::bordered().title(" resolved recipe (changed first) ");
    let lines = match app.resolved_at(app.recipe_sel) {
        Err(e) => vec![Line::styled(e, Style::new().fg(Color::Red))],
        Ok((cur, prev)) => {
            let cur = toml::Table::try_from(&cur).unwrap_or_default();
            let prev = prev.and_then(|p| toml::Table::try_from(&p).ok());
            let changed = |k: &String| prev.as_ref().is_some_and(|p| p.get(k) != cur.get(k));
            let mut keys: Vec<&String> = cur.keys().filter(|k| k.as_str() != "seed").collect();
            // Keys the previous row had and this one dropped (an Option set back to None).
            let gone: Vec<&String> = prev
                .iter()
                .flat_map(|p| p.keys())
                .filter(|k| !cur.contains_key(*k))
                .collect();
            keys.sort_by_key(|k| !changed(k));
            let hl = Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD);
            let mut out: Vec<Line> = gone
                .iter()
                .map(|k| Line::styled(format!("{k} = (unset)"), hl))
                .collect();
            out.extend(keys.into_iter().map(|k| {
                let text = format!("{k} = {}", fmt_value(&cur[k]));
                if changed(k) {
                    let was = prev
                        .as_ref()
                        .and_then(|p| p.get(k))
                        .map(fmt_value)
                        .unwrap_or_else(|| "unset".into());
                    Line::from(vec![
                        Span::styled(text, hl),
                        Span::styled(format!("  (was {was})"), Style::new().fg(MUTED)),
                    ])
                } else {
                    Line::raw(text)
                }
            }));
            out
        }
    };
    f.render_widget(Paragraph::new(lines).block(block), area);
}
