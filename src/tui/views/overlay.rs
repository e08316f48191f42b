//! Pop-ups over the current view: help, the ingredient form, the catalogue, a log tail.
use super::MUTED;
use crate::tui::app::{App, Overlay, View};
use crate::tui::catalogue::{catalogue, summary};
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, List, ListItem, ListState, Paragraph, Wrap};
use ratatui::Frame;

/// A centred rectangle of at most `w` x `h` cells.
fn centred(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

pub fn draw(app: &App, ov: &Overlay, f: &mut Frame) {
    let full = f.area();
    match ov {
        Overlay::Help => {
            let area = centred(full, 76, 22);
            f.render_widget(Clear, area);
            f.render_widget(
                Paragraph::new(help_lines(app))
                    .block(Block::bordered().title(" help (Esc closes) "))
                    .wrap(Wrap { trim: false }),
                area,
            );
        }
        Overlay::Log { id, text } => {
            let area = centred(full, full.width.saturating_sub(4), full.height - 2);
            f.render_widget(Clear, area);
            // The tail: the last lines that fit.
            let lines: Vec<&str> = text.lines().collect();
            let keep = area.height.saturating_sub(2) as usize;
            let tail = lines[lines.len().saturating_sub(keep)..].join("\n");
            f.render_widget(
                Paragraph::new(tail).block(Block::bordered().title(format!(" log: {id} "))),
                area,
            );
        }
        Overlay::Findings => {
            let area = centred(full, full.width.saturating_sub(4), full.height - 2);
            f.render_widget(Clear, area);
            let lines: Vec<Line> = if app.findings.is_empty() {
                vec![Line::styled(
                    "no errors or warnings",
                    Style::new().fg(Color::Green),
                )]
            } else {
                app.findings
                    .iter()
                    .map(|x| {
                        let (tag, colour) = if x.error {
                            ("error", Color::Red)
                        } else {
                            ("warning", Color::Yellow)
                        };
                        Line::from(vec![
                            Span::styled(format!("{tag} "), Style::new().fg(colour)),
                            Span::styled(format!("{}: ", x.row), Style::new().fg(MUTED)),
                            Span::raw(x.message.clone()),
                        ])
                    })
                    .collect()
            };
            f.render_widget(
                Paragraph::new(lines)
                    .block(Block::bordered().title(" recipe checks (errors block g; G forces) "))
                    .wrap(Wrap { trim: false }),
                area,
            );
        }
        Overlay::Catalogue { sel } => {
            let area = centred(full, 74, 20);
            f.render_widget(Clear, area);
            let items: Vec<ListItem> = catalogue()
                .iter()
                .map(|i| {
                    ListItem::new(Line::from(vec![
                        Span::raw(format!("{:<24}", i.name)),
                        Span::styled(summary(i), Style::new().fg(MUTED)),
                    ]))
                })
                .collect();
            let list = List::new(items)
                .block(Block::bordered().title(" add an ingredient (Enter adds below the cursor) "))
                .highlight_style(Style::new().add_modifier(Modifier::REVERSED));
            f.render_stateful_widget(
                list,
                area,
                &mut ListState::default().with_selected(Some(*sel)),
            );
        }
        Overlay::Edit(form) => {
            let h = (form.lines.len() as u16 + 6).min(full.height);
            let area = centred(full, 70, h);
            f.render_widget(Clear, area);
            let mut lines: Vec<Line> = form
                .lines
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    if i == form.sel {
                        Line::styled(
                            format!("{l}▏"),
                            Style::new().add_modifier(Modifier::REVERSED),
                        )
                    } else {
                        Line::raw(l.clone())
                    }
                })
                .collect();
            lines.push(Line::raw(""));
            lines.push(match &form.error {
                Some(e) => Line::styled(format!("✗ {e}"), Style::new().fg(Color::Red)),
                None => Line::styled("✓ valid (Enter saves)", Style::new().fg(Color::Green)),
            });
            f.render_widget(
                Paragraph::new(lines)
                    .block(Block::bordered().title(format!(" edit: {} (key = value) ", form.title)))
                    .wrap(Wrap { trim: false }),
                area,
            );
        }
    }
}

fn help_lines(app: &App) -> Vec<Line<'static>> {
    let b = Style::new().add_modifier(Modifier::BOLD);
    let mut out = vec![
        Line::styled(
            "Views: 1 Recipe  2 Runs  3 Curves  4 Table  (Tab / Shift+Tab cycle)",
            b,
        ),
        Line::raw("q quits; queued and running work keeps going. Esc clears a message."),
        Line::raw(""),
    ];
    let sections: [(View, &[&str]); 4] = [
        (
            View::Recipe,
            &[
                "j/k ↑↓ select   Space enable/disable   J/K Shift+↑↓ reorder",
                "Enter edit values   a add from catalogue   d remove   f check findings",
                "p plan   +/- seeds   e summary epoch   m summary model",
                "g queue the study (G: queue despite check errors)",
            ],
        ),
        (
            View::Runs,
            &["c cancel   r retry   + raise priority   l/Enter log tail"],
        ),
        (
            View::Curves,
            &["Space show/hide row   a all rows   m metric   s seeds   b min/max or ±std"],
        ),
        (
            View::Table,
            &["s statistic (best, mean, median)   x export table/runs/curves CSV"],
        ),
    ];
    for (v, lines) in sections {
        let style = if v == app.view { b.fg(Color::Cyan) } else { b };
        out.push(Line::styled(
            format!("{} {}", v.index() + 1, v.title()),
            style,
        ));
        out.extend(lines.iter().map(|l| Line::raw(format!("  {l}"))));
    }
    out.push(Line::raw(""));
    out.push(Line::styled(
        "End to end: g (Recipe) → watch 2/3 → x (Table) exports the CSVs.",
        Style::new().fg(MUTED),
    ));
    out
}
