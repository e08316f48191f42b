//! End to end in a real terminal: `ablate tui smoke` in an 80x24 tmux pane on a temporary
//! workspace, driven by keys only. Training is `tests/fixtures/fake_train.sh`
//! (ABLATE_TRAIN_CMD, the queue's test stand-in), so the whole flow takes seconds.
//! Toggle an ingredient off and on, queue, wait for the table, export, check the CSVs, quit.
//! Skipped (with a message) where tmux is not installed.
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "e2e"])
    }
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "e2e"];
        args.extend_from_slice(keys);
        self.run(&args);
    }
    /// Waits until the screen satisfies `ok`; panics with the screen after `secs`.
    fn wait(&self, secs: u64, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let t0 = Instant::now();
        loop {
            let s = self.screen();
            if ok(&s) {
                return s;
            }
            if t0.elapsed() > Duration::from_secs(secs) {
                panic!("timed out waiting for {what}; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

#[test]
fn smoke_study_end_to_end_in_tmux() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("tmux not installed: skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let fake = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fake_train.sh");
    let cmd = format!(
        "env ABLATE_HOME={} ABLATE_TRAIN_CMD={} ABLATE_GPUS= ABLATE_SCHEDULER_POLL_MS=50 \
         ABLATE_SCHEDULER_IDLE_S=5 FAKE_EPOCH_S=0.05 XDG_CONFIG_HOME={} {} tui smoke",
        ws.display(),
        fake.display(),
        dir.path().join("config").display(),
        env!("CARGO_BIN_EXE_ablate"),
    );
    let t = Tmux {
        socket: format!("ablate-e2e-{}", std::process::id()),
    };
    t.run(&[
        "new-session",
        "-d",
        "-s",
        "e2e",
        "-x",
        "80",
        "-y",
        "24",
        &cmd,
    ]);
    t.wait(20, "the Recipe view", |s| s.contains("Space toggle"));

    // Toggle the first ingredient off and on again.
    t.keys(&["j", "Space"]);
    t.wait(5, "ingredient off", |s| s.contains("[ ] Label Smoothing"));
    t.keys(&["Space"]);
    t.wait(5, "ingredient on", |s| s.contains("[x] Label Smoothing"));

    // Queue; the scheduler starts on demand; the Runs view fills in.
    t.keys(&["g"]);
    t.wait(20, "queued", |s| s.contains("queued smoke"));
    t.keys(&["2"]);
    t.wait(20, "runs listed", |s| s.contains("runs (8)"));

    // The table once every seed of every row is in (the eval-only row too).
    t.keys(&["4"]);
    let table = t.wait(60, "a complete table", |s| {
        s.contains("+ Inference Resize") && s.matches("2/2 ").count() == 5
    });
    assert!(table.contains("best of seeds"), "{table}");

    // Help overlay opens and closes.
    t.keys(&["?"]);
    t.wait(5, "help", |s| s.contains("help (Esc closes)"));
    t.keys(&["Escape"]);
    t.wait(5, "help closed", |s| !s.contains("help (Esc closes)"));

    // Export: the message says where the files went.
    t.keys(&["x"]);
    t.wait(20, "export message", |s| s.contains("exported table.csv"));
    let out = ws.join("exports").join("smoke");
    let csv = std::fs::read_to_string(out.join("table.csv")).unwrap();
    assert!(csv.lines().count() >= 6, "{csv}");
    assert!(csv.contains("Baseline"), "{csv}");
    assert!(out.join("runs.csv").is_file() && out.join("curves.csv").is_file());

    // Quit: the UI exits; the terminal is restored (tmux leaves the alternate screen).
    t.keys(&["q"]);
    let t0 = Instant::now();
    while t.run(&["list-sessions"]).contains("e2e") && t0.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        !t.run(&["list-sessions"]).contains("e2e:"),
        "the UI did not exit on q"
    );
}
