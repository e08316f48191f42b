//! Snapshot tests of every view, rendered with TestBackend from the fixed fixture
//! (`ablate::tui::fixture`) at 80x24 and 120x40. Review changes with `cargo insta review`.
use ablate::tui::app::{App, View};
use ablate::tui::fixture;
use ablate::tui::update::{update, Msg};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

fn app(w: u16, h: u16) -> App {
    let mut app = App::new(fixture::study(90), "fixture");
    update(&mut app, Msg::Resize(w, h));
    update(&mut app, Msg::Snapshot(fixture::snapshot(90)));
    app
}

fn key(app: &mut App, c: KeyCode) {
    update(app, Msg::Key(KeyEvent::new(c, KeyModifiers::NONE)));
}

fn render(app: &App) -> String {
    let mut t = Terminal::new(TestBackend::new(app.size.0, app.size.1)).unwrap();
    t.draw(|f| ablate::tui::views::draw(app, f)).unwrap();
    t.backend().to_string()
}

macro_rules! both_sizes {
    ($name:ident, $setup:expr) => {
        #[test]
        fn $name() {
            for (w, h) in [(80u16, 24u16), (120, 40)] {
                let mut a = app(w, h);
                let setup: fn(&mut App) = $setup;
                setup(&mut a);
                insta::assert_snapshot!(format!("{}_{w}x{h}", stringify!($name)), render(&a));
            }
        }
    };
}

both_sizes!(recipe, |a| {
    // "+ LR optimizations": its changes are highlighted first in the side panel.
    key(a, KeyCode::Down);
});
both_sizes!(recipe_disabled_row, |a| {
    key(a, KeyCode::Down);
    key(a, KeyCode::Char(' '));
});
both_sizes!(runs, |a| {
    a.view = View::Runs;
    for _ in 0..35 {
        key(a, KeyCode::Down);
    }
});
both_sizes!(curves, |a| a.view = View::Curves);
both_sizes!(curves_seeds_loss, |a| {
    a.view = View::Curves;
    key(a, KeyCode::Char('m'));
    key(a, KeyCode::Char('s'));
});
both_sizes!(table, |a| a.view = View::Table);
both_sizes!(table_mean, |a| {
    a.view = View::Table;
    key(a, KeyCode::Char('s'));
});
both_sizes!(help, |a| key(a, KeyCode::Char('?')));
both_sizes!(edit_form, |a| {
    key(a, KeyCode::Down);
    key(a, KeyCode::Enter);
    // Type a bad value into the first line: the form says what is wrong as you type.
    for c in "x".chars() {
        key(a, KeyCode::Char(c));
    }
});
both_sizes!(catalogue, |a| key(a, KeyCode::Char('a')));
both_sizes!(findings, |a| {
    // A fixture row that breaks a check: warmup longer than the run.
    a.study.ingredients[0]
        .set
        .insert("lr_warmup_epochs".into(), toml::Value::Integer(200));
    a.study_changed();
    ablate::tui::update::update(
        a,
        Msg::Key(KeyEvent::new(KeyCode::Char('f'), KeyModifiers::NONE)),
    );
});
