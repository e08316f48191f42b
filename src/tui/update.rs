//! Messages in, state changes and effects out. Pure: no I/O, no clock, so every key can be
//! unit-tested; the runtime executes the effects and feeds their results back as messages.
use super::app::{apply_overrides, fmt_value, parse_lines, App, EditForm, Overlay, View};
use super::data::{RunState, Snapshot};
use crate::recipe::{Recipe, Study};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    Key(KeyEvent),
    Resize(u16, u16),
    /// A fresh read of the workspace (sent only when it changed).
    Snapshot(Snapshot),
    LogTail {
        id: String,
        text: String,
    },
    /// An effect finished: a line for the message bar.
    Info(String),
    Error(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Queue {
        study: Box<Study>,
        force: bool,
    },
    Cancel(String),
    Retry(String),
    /// Moves a study row's queued runs to the front (the queue raises whole rows).
    Raise {
        study: String,
        row: usize,
    },
    LoadLog(String),
    Export {
        study: String,
    },
}

/// Applies one message; returns the effects to run. Whether to redraw is the runtime's
/// business (every message that reaches here marks the screen dirty).
pub fn update(app: &mut App, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Key(k) if k.kind == KeyEventKind::Press => key(app, k),
        Msg::Key(_) => vec![],
        Msg::Resize(w, h) => {
            app.size = (w, h);
            app.refresh_plot();
            vec![]
        }
        Msg::Snapshot(s) => {
            if app.curve_rows.is_empty() && !s.rows.is_empty() {
                // First data: compare the baseline with the full recipe.
                app.curve_rows.insert(0);
                app.curve_rows.insert(s.rows.len() - 1);
            }
            app.snapshot = s;
            clamp(&mut app.runs_sel, app.snapshot.runs.len());
            clamp(&mut app.table_sel, app.snapshot.rows.len());
            clamp(&mut app.curves_sel, app.snapshot.rows.len());
            app.refresh_plot();
            vec![]
        }
        Msg::LogTail { id, text } => {
            app.overlay = Some(Overlay::Log { id, text });
            vec![]
        }
        Msg::Info(t) => {
            app.info(t);
            vec![]
        }
        Msg::Error(t) => {
            app.error(t);
            vec![]
        }
    }
}

fn clamp(sel: &mut usize, len: usize) {
    *sel = (*sel).min(len.saturating_sub(1));
}

fn move_sel(sel: &mut usize, len: usize, down: bool) {
    if len == 0 {
        *sel = 0;
    } else if down {
        *sel = (*sel + 1).min(len - 1);
    } else {
        *sel = sel.saturating_sub(1);
    }
}

fn key(app: &mut App, k: KeyEvent) -> Vec<Effect> {
    if k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char('c') {
        app.quit = true;
        return vec![];
    }
    if let Some(ov) = app.overlay.take() {
        return overlay_key(app, ov, k);
    }
    match k.code {
        KeyCode::Char('q') => app.quit = true,
        KeyCode::Char('?') => app.overlay = Some(Overlay::Help),
        KeyCode::Tab => app.view = View::ALL[(app.view.index() + 1) % 4],
        KeyCode::BackTab => app.view = View::ALL[(app.view.index() + 3) % 4],
        KeyCode::Char(c @ '1'..='4') => app.view = View::ALL[c as usize - '1' as usize],
        KeyCode::Esc => app.message = None,
        _ => {
            return match app.view {
                View::Recipe => recipe_key(app, k),
                View::Runs => runs_key(app, k),
                View::Curves => curves_key(app, k),
                View::Table => table_key(app, k),
            }
        }
    }
    vec![]
}

fn is_down(k: &KeyEvent) -> Option<bool> {
    match k.code {
        KeyCode::Down | KeyCode::Char('j') => Some(true),
        KeyCode::Up | KeyCode::Char('k') => Some(false),
        _ => None,
    }
}

fn recipe_key(app: &mut App, k: KeyEvent) -> Vec<Effect> {
    let shift = k.modifiers.contains(KeyModifiers::SHIFT);
    let reorder = match k.code {
        KeyCode::Char('J') => Some(true),
        KeyCode::Char('K') => Some(false),
        KeyCode::Down if shift => Some(true),
        KeyCode::Up if shift => Some(false),
        _ => None,
    };
    if let Some(down) = reorder {
        // Position 0 is the baseline, which stays first.
        let sel = app.recipe_sel;
        let n = app.study.ingredients.len();
        if sel == 0 {
            app.error("the baseline stays first; reorder ingredients");
        } else if down && sel < n {
            app.study.ingredients.swap(sel - 1, sel);
            app.recipe_sel += 1;
            app.study_changed();
        } else if !down && sel > 1 {
            app.study.ingredients.swap(sel - 2, sel - 1);
            app.recipe_sel -= 1;
            app.study_changed();
        }
        return vec![];
    }
    if let Some(down) = is_down(&k) {
        let n = app.recipe_len();
        move_sel(&mut app.recipe_sel, n, down);
        return vec![];
    }
    match k.code {
        KeyCode::Char(' ') => {
            if let Some(ing) = app
                .recipe_sel
                .checked_sub(1)
                .and_then(|i| app.study.ingredients.get_mut(i))
            {
                ing.enabled = !ing.enabled;
                app.study_changed();
            }
        }
        KeyCode::Enter => app.overlay = Some(Overlay::Edit(open_form(app))),
        KeyCode::Char('a') => app.overlay = Some(Overlay::Catalogue { sel: 0 }),
        KeyCode::Char('f') => app.overlay = Some(Overlay::Findings),
        KeyCode::Char('d') | KeyCode::Delete => {
            if app.recipe_sel == 0 {
                app.error("the baseline cannot be removed");
            } else {
                let ing = app.study.ingredients.remove(app.recipe_sel - 1);
                let n = app.recipe_len();
                clamp(&mut app.recipe_sel, n);
                app.study_changed();
                app.info(format!("removed {}", ing.name));
            }
        }
        KeyCode::Char('p') => {
            // A sweep needs its grid in the study file; cycle through the others.
            app.study.plan.kind = next_plan(app.study.plan.kind);
            app.study_changed();
        }
        KeyCode::Char('+') | KeyCode::Char('=') => {
            app.study.seeds = (app.study.seeds + 1).min(99);
            app.study_changed();
        }
        KeyCode::Char('-') => {
            app.study.seeds = app.study.seeds.saturating_sub(1).max(1);
            app.study_changed();
        }
        KeyCode::Char('e') => {
            use crate::recipe::SummaryEpoch::*;
            app.study.summary.epoch = match app.study.summary.epoch {
                Final => Best,
                Best => Final,
            };
        }
        KeyCode::Char('m') => {
            use crate::recipe::SummaryModel::*;
            app.study.summary.model = match app.study.summary.model {
                Raw => Ema,
                Ema => Better,
                Better => Raw,
            };
        }
        KeyCode::Char('g') | KeyCode::Char('G') => {
            let force = k.code == KeyCode::Char('G');
            if let Err(e) = &app.rows {
                app.error(format!("cannot queue: {e}"));
                return vec![];
            }
            let errors = app.findings.iter().filter(|f| f.error).count();
            if errors > 0 && !force {
                app.error(format!(
                    "{errors} check error(s) block queueing: fix them, or press G to force"
                ));
                return vec![];
            }
            app.info(format!("queueing {} ...", app.study.name));
            return vec![Effect::Queue {
                study: Box::new(app.study.clone()),
                force,
            }];
        }
        _ => {}
    }
    vec![]
}

fn next_plan(p: crate::recipe::PlanKind) -> crate::recipe::PlanKind {
    use crate::recipe::PlanKind::*;
    match p {
        Stacked => LeaveOneOut,
        LeaveOneOut => OneAtATime,
        OneAtATime | Sweep => Stacked,
    }
}

fn open_form(app: &App) -> EditForm {
    let (target, title, set) = match app.recipe_sel.checked_sub(1) {
        None => {
            // The baseline as overrides of torchvision's defaults.
            let def = toml::Table::try_from(Recipe::default()).unwrap_or_default();
            let cur = toml::Table::try_from(&app.study.baseline).unwrap_or_default();
            let set: toml::Table = cur
                .into_iter()
                .filter(|(k, v)| def.get(k) != Some(v))
                .collect();
            (
                None,
                "Baseline (changes from torchvision defaults)".into(),
                set,
            )
        }
        Some(i) => {
            let ing = &app.study.ingredients[i];
            (Some(i), ing.name.clone(), ing.set.clone())
        }
    };
    let mut lines: Vec<String> = set
        .iter()
        .map(|(k, v)| format!("{k} = {}", fmt_value(v)))
        .collect();
    lines.push(String::new());
    let mut form = EditForm {
        target,
        title,
        lines,
        sel: 0,
        error: None,
    };
    validate(app, &mut form);
    form
}

/// Checks the form against the recipe it applies to; returns the overrides when valid.
fn validate(app: &App, form: &mut EditForm) -> Option<toml::Table> {
    let res = parse_lines(&form.lines).and_then(|set| {
        let base = match form.target {
            None => Recipe::default(),
            Some(i) => app.recipe_before(i)?,
        };
        apply_overrides(&base, &set).map(|_| set)
    });
    match res {
        Ok(set) => {
            form.error = None;
            Some(set)
        }
        Err(e) => {
            form.error = Some(e);
            None
        }
    }
}

fn overlay_key(app: &mut App, ov: Overlay, k: KeyEvent) -> Vec<Effect> {
    let keep = match ov {
        Overlay::Help | Overlay::Log { .. } | Overlay::Findings => match k.code {
            KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('?') | KeyCode::Enter => None,
            _ => Some(ov),
        },
        Overlay::Catalogue { mut sel } => {
            let cat = super::catalogue::catalogue();
            if let Some(down) = is_down(&k) {
                move_sel(&mut sel, cat.len(), down);
                Some(Overlay::Catalogue { sel })
            } else if k.code == KeyCode::Enter {
                let ing = cat[sel].clone();
                // Insert below the selection, so the new step stacks where the user is.
                let at = app.recipe_sel.min(app.study.ingredients.len());
                app.info(format!("added {}", ing.name));
                app.study.ingredients.insert(at, ing);
                app.recipe_sel = at + 1;
                app.study_changed();
                None
            } else if k.code == KeyCode::Esc {
                None
            } else {
                Some(Overlay::Catalogue { sel })
            }
        }
        Overlay::Edit(mut f) => match k.code {
            KeyCode::Esc => None,
            KeyCode::Enter => match validate(app, &mut f) {
                Some(set) => {
                    match f.target {
                        None => match apply_overrides(&Recipe::default(), &set) {
                            Ok(r) => app.study.baseline = r,
                            Err(e) => app.error(e),
                        },
                        Some(i) => app.study.ingredients[i].set = set,
                    }
                    app.study_changed();
                    app.info(format!("saved {}", f.title));
                    None
                }
                None => Some(Overlay::Edit(f)),
            },
            KeyCode::Up => {
                f.sel = f.sel.saturating_sub(1);
                Some(Overlay::Edit(f))
            }
            KeyCode::Down => {
                if f.sel + 1 == f.lines.len() && !f.lines[f.sel].trim().is_empty() {
                    f.lines.push(String::new());
                }
                f.sel = (f.sel + 1).min(f.lines.len() - 1);
                Some(Overlay::Edit(f))
            }
            KeyCode::Backspace => {
                f.lines[f.sel].pop();
                validate(app, &mut f);
                Some(Overlay::Edit(f))
            }
            KeyCode::Char(c) => {
                f.lines[f.sel].push(c);
                validate(app, &mut f);
                Some(Overlay::Edit(f))
            }
            _ => Some(Overlay::Edit(f)),
        },
    };
    app.overlay = keep;
    vec![]
}

fn runs_key(app: &mut App, k: KeyEvent) -> Vec<Effect> {
    if let Some(down) = is_down(&k) {
        move_sel(&mut app.runs_sel, app.snapshot.runs.len(), down);
        return vec![];
    }
    let Some(run) = app.snapshot.runs.get(app.runs_sel) else {
        return vec![];
    };
    let id = run.id.clone();
    match k.code {
        KeyCode::Char('c') if matches!(run.state, RunState::Queued | RunState::Running) => {
            vec![Effect::Cancel(id)]
        }
        KeyCode::Char('c') => {
            app.error(format!("{id} is {}; nothing to cancel", run.state.as_str()));
            vec![]
        }
        KeyCode::Char('r') if run.state.is_unsuccessful() => vec![Effect::Retry(id)],
        KeyCode::Char('r') => {
            app.error(format!(
                "{id} is {}; only failed, diverged or cancelled runs can be retried",
                run.state.as_str()
            ));
            vec![]
        }
        KeyCode::Char('+') if run.state == RunState::Queued => vec![Effect::Raise {
            study: app.study.name.clone(),
            row: run.row,
        }],
        KeyCode::Char('+') => {
            app.error(format!(
                "{id} is {}; only queued runs move",
                run.state.as_str()
            ));
            vec![]
        }
        KeyCode::Char('l') | KeyCode::Enter => vec![Effect::LoadLog(id)],
        _ => vec![],
    }
}

fn curves_key(app: &mut App, k: KeyEvent) -> Vec<Effect> {
    if let Some(down) = is_down(&k) {
        move_sel(&mut app.curves_sel, app.snapshot.rows.len(), down);
        return vec![];
    }
    match k.code {
        KeyCode::Char(' ') => {
            let r = app.curves_sel;
            if !app.curve_rows.remove(&r) {
                app.curve_rows.insert(r);
            }
        }
        KeyCode::Char('m') => app.metric = app.metric.next(),
        KeyCode::Char('s') => app.show_seeds = !app.show_seeds,
        KeyCode::Char('b') => {
            use super::series::Band;
            app.band = match app.band {
                Band::MinMax => Band::Std,
                Band::Std => Band::MinMax,
            }
        }
        KeyCode::Char('a') => app.curve_rows = (0..app.snapshot.rows.len()).collect(),
        _ => return vec![],
    }
    app.refresh_plot();
    vec![]
}

fn table_key(app: &mut App, k: KeyEvent) -> Vec<Effect> {
    if let Some(down) = is_down(&k) {
        move_sel(&mut app.table_sel, app.snapshot.rows.len(), down);
        return vec![];
    }
    match k.code {
        KeyCode::Char('s') => app.stat = super::data::next_stat(app.stat),
        KeyCode::Char('x') => {
            return vec![Effect::Export {
                study: app.study.name.clone(),
            }]
        }
        _ => {}
    }
    vec![]
}
