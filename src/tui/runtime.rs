//! Terminal setup and the event loop. Three threads: input (crossterm, blocking reads), a
//! worker (effects, and a workspace poll every second that sends a snapshot only when it
//! changed), and this one, which applies messages and draws at most ~30 times a second and
//! only when something changed, so an idle UI costs no CPU.
use super::app::App;
use super::update::{update, Effect, Msg};
use super::{client, views};
use anyhow::Result;
use crossterm::event::{self, Event};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const FRAME: Duration = Duration::from_millis(33);
const POLL: Duration = Duration::from_secs(1);

/// The original stderr while the UI owns the screen (-1 when not redirected).
static SAVED_STDERR: AtomicI32 = AtomicI32::new(-1);

/// Points fd 2 at `log` so libtorch/CUDA or stray library messages never draw over the UI.
fn redirect_stderr(log: &Path) -> std::io::Result<()> {
    use std::os::fd::IntoRawFd;
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)?;
    let fd = file.into_raw_fd();
    // SAFETY: plain fd calls on descriptors this process owns.
    unsafe {
        let saved = libc::dup(2);
        if saved < 0 || libc::dup2(fd, 2) < 0 {
            libc::close(fd);
            return Err(std::io::Error::last_os_error());
        }
        libc::close(fd);
        SAVED_STDERR.store(saved, Ordering::SeqCst);
    }
    Ok(())
}

fn restore_stderr() {
    let saved = SAVED_STDERR.swap(-1, Ordering::SeqCst);
    if saved >= 0 {
        // SAFETY: `saved` is the descriptor dup'ed in redirect_stderr.
        unsafe {
            libc::dup2(saved, 2);
            libc::close(saved);
        }
    }
}

pub fn run(workspace: &Path, target: Option<&str>) -> Result<i32> {
    let (study, source) = client::load_study(workspace, target)?;
    let mut app = App::new(study, &source);
    app.cuda = client::cuda_present();
    app.study_changed();
    let log = workspace.join("logs").join("tui-stderr.log");
    redirect_stderr(&log)?;
    // A panic anywhere: ratatui's hook (installed by init, below) restores the terminal,
    // then this one gives stderr back, prints the panic and exits the process (work
    // continues in the scheduler; the input and worker threads must not outlive the UI).
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_stderr();
        default_hook(info);
        std::process::exit(101);
    }));
    let mut terminal = match ratatui::try_init() {
        Ok(t) => t,
        Err(e) => {
            ratatui::restore();
            restore_stderr();
            let _ = std::panic::take_hook();
            anyhow::bail!("cannot open the terminal UI ({e}); is this a terminal?");
        }
    };
    let res = event_loop(&mut terminal, &mut app, workspace.to_path_buf());
    ratatui::restore();
    restore_stderr();
    let _ = std::panic::take_hook();
    res.map(|_| 0)
}

fn event_loop(term: &mut ratatui::DefaultTerminal, app: &mut App, ws: PathBuf) -> Result<()> {
    let size = term.size()?;
    update(app, Msg::Resize(size.width, size.height));
    let (tx, rx) = mpsc::channel::<Msg>();
    let (etx, erx) = mpsc::channel::<Effect>();

    let itx = tx.clone();
    std::thread::spawn(move || loop {
        let msg = match event::read() {
            Ok(Event::Key(k)) => Msg::Key(k),
            Ok(Event::Resize(w, h)) => Msg::Resize(w, h),
            Ok(_) => continue,
            Err(e) => {
                // The terminal is gone (SSH dropped): report once and stop reading.
                let _ = itx.send(Msg::Error(format!("terminal input: {e}")));
                break;
            }
        };
        if itx.send(msg).is_err() {
            break;
        }
    });

    let mut study = app.study.clone();
    std::thread::spawn(move || {
        let mut last = None;
        let mut last_err = None;
        loop {
            match erx.recv_timeout(POLL) {
                Ok(effect) => {
                    if let Effect::Queue { study: s, .. } = &effect {
                        study = (**s).clone();
                    }
                    if tx.send(client::execute(&ws, effect)).is_err() {
                        break;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
            let msg = match client::load_snapshot(&ws, &study) {
                Ok(s) if last.as_ref() != Some(&s) => {
                    last = Some(s.clone());
                    Msg::Snapshot(s)
                }
                Ok(_) => continue,
                // Report a failing read once, not every second.
                Err(e) => {
                    let text = format!("reading the workspace: {e:#}");
                    if last_err.as_ref() == Some(&text) {
                        continue;
                    }
                    last_err = Some(text.clone());
                    Msg::Error(text)
                }
            };
            if tx.send(msg).is_err() {
                break;
            }
        }
    });

    let mut dirty = true;
    let mut last_draw = Instant::now() - FRAME;
    while !app.quit {
        let wait = if dirty {
            FRAME.saturating_sub(last_draw.elapsed())
        } else {
            Duration::from_secs(3600)
        };
        match rx.recv_timeout(wait) {
            Ok(msg) => {
                // Coalesce bursts: apply everything pending, draw once.
                for msg in std::iter::once(msg).chain(rx.try_iter()) {
                    for e in update(app, msg) {
                        let _ = etx.send(e);
                    }
                }
                dirty = true;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if dirty && last_draw.elapsed() >= FRAME && !app.quit {
            draw(term, app)?;
            dirty = false;
            last_draw = Instant::now();
        }
    }
    Ok(())
}

/// One frame inside a synchronized update, so SSH and tmux show it whole (no tearing).
fn draw(term: &mut ratatui::DefaultTerminal, app: &App) -> Result<()> {
    use crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
    crossterm::execute!(std::io::stdout(), BeginSynchronizedUpdate)?;
    term.draw(|f| views::draw(app, f))?;
    crossterm::execute!(std::io::stdout(), EndSynchronizedUpdate)?;
    Ok(())
}
