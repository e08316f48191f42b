//! The queue end to end through the real binary, with `tests/fixtures/fake_train.sh` standing
//! in for `ablate train` / `ablate evaluate` (ABLATE_TRAIN_CMD): slots, follow-up sweeps,
//! export, crash recovery, adoption, divergence, cancel, corrupt metrics.
use ablate::store::{JobState, Workspace};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const STUDY: &str = r#"
name = "fake"
seeds = 2
[baseline]
epochs = 3
dataset = "synthetic"
[[ingredient]]
name = "Label Smoothing"
set = { label_smoothing = 0.1 }
[[ingredient]]
name = "Inference Resize"
eval_sweep = { param = "val_resize_size", values = [224, 232, 240] }
[[ingredient]]
name = "Mixup"
set = { mixup_alpha = 0.2, label_smoothing = 0.2 }
"#;

struct Env {
    dir: tempfile::TempDir,
    epoch_s: &'static str,
}

impl Env {
    fn new(epoch_s: &'static str) -> Env {
        Env {
            dir: tempfile::tempdir().unwrap(),
            epoch_s,
        }
    }
    fn ws_path(&self) -> PathBuf {
        self.dir.path().join("ws")
    }
    fn ws(&self) -> Workspace {
        Workspace::open(&self.ws_path()).unwrap()
    }
    fn study(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_ablate"));
        c.args(args)
            .arg("--workspace")
            .arg(self.ws_path())
            .env(
                "ABLATE_TRAIN_CMD",
                Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fake_train.sh"),
            )
            .env("ABLATE_GPUS", "")
            .env("ABLATE_SCHEDULER_POLL_MS", "50")
            .env("ABLATE_SCHEDULER_IDLE_S", "1")
            .env("FAKE_EPOCH_S", self.epoch_s)
            // Keep the developer's settings.toml out of the tests.
            .env("XDG_CONFIG_HOME", self.dir.path().join("config"));
        c
    }
    fn ablate(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }
    fn scheduler_pid(&self) -> i32 {
        std::fs::read_to_string(self.ws_path().join("queue/scheduler.pid"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        // Leave no scheduler or fake run behind when a test fails midway.
        if let Ok(p) = std::fs::read_to_string(self.ws_path().join("queue/scheduler.pid")) {
            if let Ok(pid) = p.trim().parse::<i32>() {
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        if let Ok(ws) = Workspace::open(&self.ws_path()) {
            for j in ws.jobs() {
                if let Some(pid) = j.pid {
                    unsafe { libc::kill(-pid, libc::SIGKILL) };
                }
            }
        }
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn wait_for(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(
            t.elapsed() < Duration::from_secs(secs),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn csv_rows(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let h = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|x| x.unwrap().iter().map(String::from).collect())
        .collect();
    (h, rows)
}

fn col<'a>(h: &[String], row: &'a [String], name: &str) -> &'a str {
    &row[h
        .iter()
        .position(|x| x == name)
        .unwrap_or_else(|| panic!("no column {name}"))]
}

#[test]
fn study_runs_on_two_cpu_slots_and_exports_three_csvs() {
    let env = Env::new("0.3");
    let study = env.study("study.toml", STUDY);
    let out = env.ablate(&["run", study.to_str().unwrap(), "--per-device", "2"]);
    assert!(out.status.success(), "{}", text(&out));
    let ws = env.ws();
    let runs = ws.runs();
    // 3 trained rows x 2 seeds; the eval-only row reuses row 1's runs.
    assert_eq!(runs.len(), 6, "{}", text(&out));
    assert!(runs
        .iter()
        .all(|r| r.state == JobState::Done && r.device.as_deref() == Some("cpu")));
    for r in &runs {
        let cvd = std::fs::read_to_string(ws.run_dir(&r.id).join("cuda_visible_devices")).unwrap();
        assert_eq!(cvd.trim(), "", "a CPU run sees no GPU");
    }
    // Two slots: some runs overlapped, never more than two at once.
    let spans: Vec<(f64, f64)> = runs
        .iter()
        .map(|r| (r.started.unwrap(), r.ended.unwrap()))
        .collect();
    let max_overlap = spans
        .iter()
        .map(|&(s, _)| spans.iter().filter(|&&(s2, e2)| s2 <= s && s < e2).count())
        .max()
        .unwrap();
    assert_eq!(max_overlap, 2, "{spans:?}");
    // Seed 0 of every row before any seed 1.
    let mut by_start = runs.clone();
    by_start.sort_by(|a, b| a.started.partial_cmp(&b.started).unwrap());
    assert!(
        by_start[..3].iter().all(|r| r.seed == 0),
        "{:?}",
        by_start.iter().map(|r| &r.id).collect::<Vec<_>>()
    );
    // The sweep ran as a follow-up of row 1's runs only.
    let row1 = &ws.study("fake").unwrap().rows[1];
    for r in &runs {
        let swept = ws.run_dir(&r.id).join("sweep.jsonl").exists();
        assert_eq!(swept, row1.runs.iter().any(|x| x.id == r.id), "{}", r.id);
    }
    let table = text(&out);
    assert!(
        table.contains("Accuracy@1") && table.contains("Incremental Diff"),
        "{table}"
    );

    // Queueing the same study again adds nothing.
    let again = env.ablate(&["run", study.to_str().unwrap(), "--detach"]);
    assert!(
        text(&again).contains("queued 0 new run(s), 6 already"),
        "{}",
        text(&again)
    );

    let dir = env.dir.path().join("export");
    let out = env.ablate(&["export", "fake", "--out", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));

    // table.csv: fake accuracies at the final epoch (2) are 62 + 10*ls + 0.5*seed.
    let (h, rows) = csv_rows(&dir.join("table.csv"));
    assert_eq!(rows.len(), 4);
    let f = |r: &[String], c: &str| col(&h, r, c).parse::<f64>().unwrap();
    assert_eq!(f(&rows[0], "acc1_mean"), 62.25);
    assert_eq!(f(&rows[1], "acc1_best"), 63.5);
    assert!((f(&rows[1], "acc1_inc_diff_mean") - 1.0).abs() < 1e-9);
    // Welch [63, 63.5] vs [62, 62.5]: scipy.stats.ttest_ind(equal_var=False).pvalue.
    assert!((f(&rows[1], "acc1_inc_p") - 0.10557280900008414).abs() < 1e-9);
    // Eval-only row: 232 wins on half "a"; per-run value = "all" accuracy 70.
    assert_eq!(col(&h, &rows[2], "sweep_value"), "232");
    assert_eq!(f(&rows[2], "acc1_mean"), 70.0);
    assert!((f(&rows[2], "sweep_mean_a") - 70.1).abs() < 1e-9);
    assert_eq!(f(&rows[3], "acc1_mean"), 64.25);
    assert!((f(&rows[3], "acc1_abs_diff_mean") - 2.0).abs() < 1e-9);
    assert_eq!(col(&h, &rows[3], "n"), "2");

    let (h, rows) = csv_rows(&dir.join("runs.csv"));
    assert_eq!(rows.len(), 8, "one line per (row, run)");
    for c in [
        "run_id",
        "state",
        "started",
        "duration_s",
        "final_acc1",
        "best_ema_acc1",
        "label_smoothing",
        "mixup_alpha",
        "lr",
    ] {
        assert!(h.iter().any(|x| x == c), "runs.csv lacks {c}");
    }
    assert!(col(&h, &rows[0], "started").ends_with('Z'));
    assert_eq!(col(&h, &rows[0], "best_ema_acc1"), "", "no EMA: empty cell");
    assert_eq!(
        col(&h, &rows[5], "val_resize_size"),
        "232",
        "eval-only row records the chosen value"
    );
    let (h, rows) = csv_rows(&dir.join("curves.csv"));
    assert_eq!(h, ["run_id", "epoch", "split", "metric", "value"]);
    // 6 runs x 3 epochs x (4 train + 3 val) points.
    assert_eq!(rows.len(), 6 * 3 * 7);

    // The table from runs.csv equals the workspace table.
    let a = env.ablate(&["table", "fake", "--stat", "mean"]);
    let b = env.ablate(&[
        "table",
        "--runs",
        dir.join("runs.csv").to_str().unwrap(),
        "--stat",
        "mean",
    ]);
    let body = |o: &Output| text(o).split("\n\n").next().unwrap().to_string();
    assert_eq!(body(&a), body(&b));
    assert!(
        body(&a).contains("+0.250") || body(&a).contains("+1.000"),
        "{}",
        body(&a)
    );
}

#[test]
fn killed_run_and_scheduler_resume_from_checkpoint_with_continuous_metrics() {
    let env = Env::new("0.4");
    let study = env.study(
        "one.toml",
        "name = \"one\"\nseeds = 1\n[baseline]\nepochs = 10\n",
    );
    let out = env.ablate(&["run", study.to_str().unwrap(), "--detach"]);
    assert!(out.status.success(), "{}", text(&out));
    let ws = env.ws();
    let id = ws.run_ids()[0].clone();
    wait_for("two epochs", 30, || {
        ws.run(&id).is_some_and(|r| r.epochs_done >= 2)
    });
    let run_pid = ws.job(&id).unwrap().unwrap().pid.unwrap();
    // A crash of everything (like a reboot): scheduler and run die with SIGKILL, mid-epoch.
    unsafe {
        libc::kill(env.scheduler_pid(), libc::SIGKILL);
        libc::kill(-run_pid, libc::SIGKILL);
    }
    std::thread::sleep(Duration::from_millis(300));
    let out = env.ablate(&["resume"]);
    assert!(out.status.success(), "{}", text(&out));
    wait_for("the resumed run", 30, || {
        ws.run(&id).is_some_and(|r| r.state == JobState::Done)
    });
    let job = ws.job(&id).unwrap().unwrap();
    assert_eq!(job.attempts, 2);
    let epochs: Vec<i64> = ws
        .curves(&id)
        .iter()
        .filter(|p| p.metric == "lr")
        .map(|p| p.epoch)
        .collect();
    assert_eq!(epochs, (0..10).collect::<Vec<i64>>());
    let starts: Vec<i64> = ws
        .events(&id)
        .iter()
        .filter_map(|e| match e {
            ablate::store::metrics::MetricEvent::Start { start_epoch, .. } => Some(*start_epoch),
            _ => None,
        })
        .collect();
    assert_eq!(starts.len(), 2);
    assert!(
        starts[1] >= 2,
        "resumed from its checkpoint, not from scratch: {starts:?}"
    );
}

#[test]
fn new_scheduler_adopts_running_children_and_cancel_stops_them() {
    // 30 epochs of 0.5 s: long enough that both runs still run on a loaded CI machine.
    let env = Env::new("0.5");
    let study = env.study(
        "two.toml",
        "name = \"two\"\nseeds = 2\n[baseline]\nepochs = 30\n",
    );
    let out = env.ablate(&[
        "run",
        study.to_str().unwrap(),
        "--detach",
        "--per-device",
        "2",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let ws = env.ws();
    let ids: Vec<String> = ws.jobs().iter().map(|j| j.id.clone()).collect();
    let pid_of = |id: &str| ws.job(id).unwrap().unwrap().pid;
    wait_for("two running children", 30, || {
        ids.iter().all(|i| pid_of(i).is_some())
    });
    let pids: Vec<i32> = ids.iter().map(|i| pid_of(i).unwrap()).collect();
    unsafe { libc::kill(env.scheduler_pid(), libc::SIGKILL) };
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        pids.iter().all(|p| ablate::queue::process::alive(*p)),
        "runs outlive their scheduler"
    );
    let out = env.ablate(&["resume"]);
    assert!(text(&out).contains("scheduler started"), "{}", text(&out));
    wait_for("adoption", 20, || {
        let log = std::fs::read_to_string(ws.scheduler_log()).unwrap();
        ids.iter()
            .zip(&pids)
            .all(|(id, pid)| log.contains(&format!("adopted {id} (pid {pid})")))
    });

    // Cancel the second while it runs: SIGTERM to its group, state cancelled.
    let out = env.ablate(&["cancel", &ids[1]]);
    assert!(text(&out).contains("cancelling"), "{}", text(&out));
    wait_for("the cancel", 20, || {
        ws.job(&ids[1]).unwrap().unwrap().state == JobState::Cancelled
    });
    wait_for("the process to go", 5, || {
        !ablate::queue::process::alive(pids[1])
    });
    wait_for("the adopted run", 40, || {
        ws.job(&ids[0]).unwrap().unwrap().state == JobState::Done
    });
    assert_eq!(
        ws.job(&ids[0]).unwrap().unwrap().attempts,
        1,
        "adopted, not restarted"
    );
    // Retry queues it again; it resumes and finishes.
    let out = env.ablate(&["retry", &ids[1]]);
    assert!(text(&out).contains("queued again: 1"), "{}", text(&out));
    wait_for("the retried run", 40, || {
        ws.job(&ids[1]).unwrap().unwrap().state == JobState::Done
    });
    assert_eq!(ws.job(&ids[1]).unwrap().unwrap().attempts, 2);
}

#[test]
fn diverged_run_is_marked_and_the_queue_goes_on() {
    let env = Env::new("0.05");
    let study = env.study(
        "div.toml",
        "name = \"div\"\nseeds = 1\n[baseline]\nepochs = 2\n\
         [[ingredient]]\nname = \"Huge LR\"\nset = { lr = 1e6 }\n\
         [[ingredient]]\nname = \"Sane LR\"\nset = { lr = 0.5 }\n",
    );
    let out = env.ablate(&["run", study.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "some run did not finish: {}",
        text(&out)
    );
    let ws = env.ws();
    let rec = ws.study("div").unwrap();
    let state = |row: usize| ws.job(&rec.rows[row].runs[0].id).unwrap().unwrap();
    assert_eq!(state(0).state, JobState::Done);
    let j = state(1);
    assert_eq!(j.state, JobState::Diverged);
    assert_eq!(j.exit_code, Some(3));
    assert!(
        j.error.as_deref().unwrap().contains("step 7"),
        "{:?}",
        j.error
    );
    assert_eq!(state(2).state, JobState::Done, "the queue goes on");
    let status = text(&env.ablate(&["status", "div"]));
    assert!(
        status.contains("diverged") && status.contains("1 diverged, 2 done"),
        "{status}"
    );
    let table = text(&env.ablate(&["table", "div"]));
    assert!(table.contains("0/1 (1 failed)"), "{table}");
}

#[test]
fn corrupt_metrics_do_not_crash_status_table_or_export() {
    let env = Env::new("0.05");
    let study = env.study(
        "c.toml",
        "name = \"c\"\nseeds = 2\n[baseline]\nepochs = 2\n",
    );
    let out = env.ablate(&["run", study.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let ws = env.ws();
    let ids = ws.run_ids();
    // One run: garbage, binary junk and a truncated last line appended; the other: emptied.
    let m = ws.run_dir(&ids[0]).join("metrics.jsonl");
    let mut bytes = std::fs::read(&m).unwrap();
    bytes.extend_from_slice(b"not json\n\xff\xfe\x00junk\n{\"kind\":\"epoch\",\"epoch\":1,\"lr\":");
    std::fs::write(&m, bytes).unwrap();
    std::fs::write(ws.run_dir(&ids[1]).join("metrics.jsonl"), b"\x00\x01{{{").unwrap();
    for args in [
        vec!["status"],
        vec!["table", "c"],
        vec!["table", "c", "--markdown"],
    ] {
        let out = env.ablate(&args);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
    }
    let table = text(&env.ablate(&["table", "c"]));
    assert!(
        table.contains("1/2 (1 no result)"),
        "the emptied run has no result: {table}"
    );
    let dir = env.dir.path().join("x");
    let out = env.ablate(&["export", "c", "--out", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let (h, rows) = csv_rows(&dir.join("table.csv"));
    assert_eq!(
        col(&h, &rows[0], "acc1_mean"),
        "61",
        "the intact run's final acc1"
    );
    // Bad input is a clear error naming what is allowed.
    let out = env.ablate(&["table", "c", "--stat", "max"]);
    assert!(
        !out.status.success() && text(&out).contains("allowed: best, mean, median"),
        "{}",
        text(&out)
    );
    let out = env.ablate(&["table", "nope"]);
    assert!(
        text(&out).contains("no study `nope`") && text(&out).contains("known: c"),
        "{}",
        text(&out)
    );
}

/// The real `ablate train` and `ablate evaluate` (no fake): the smoke preset with one seed,
/// 4 trained rows + the inference-resize sweep as a follow-up, on 2 CPU slots.
#[test]
fn smoke_preset_end_to_end_with_real_training() {
    let env = Env::new("0");
    let mut cmd = env.cmd(&["run", "smoke", "--seeds", "1", "--per-device", "2"]);
    cmd.env_remove("ABLATE_TRAIN_CMD");
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let ws = env.ws();
    let runs = ws.runs();
    assert_eq!(runs.len(), 4);
    assert!(
        runs.iter()
            .all(|r| r.state == JobState::Done && r.epochs_done == 1),
        "{}",
        text(&out)
    );
    let dir = env.dir.path().join("export");
    let out = env.ablate(&["export", "smoke", "--out", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let (h, rows) = csv_rows(&dir.join("table.csv"));
    assert_eq!(rows.len(), 5);
    assert!(rows.iter().all(|r| col(&h, r, "n") == "1"));
    let chosen = col(&h, &rows[4], "sweep_value");
    assert!(chosen == "32" || chosen == "36", "{chosen}");
    let (_, runs_csv) = csv_rows(&dir.join("runs.csv"));
    assert_eq!(runs_csv.len(), 5);
    let (_, curves) = csv_rows(&dir.join("curves.csv"));
    assert!(curves.len() >= 4 * 7, "{}", curves.len());
}

/// Two (pretend) GPUs, one run each: every child is pinned with CUDA_VISIBLE_DEVICES to the
/// GPU its job records; `--devices` restricts the set.
#[test]
fn gpu_slots_pin_each_run_with_cuda_visible_devices() {
    let env = Env::new("0.3");
    let study = env.study(
        "g.toml",
        "name = \"g\"\nseeds = 4\n[baseline]\nepochs = 2\n",
    );
    let mut cmd = env.cmd(&["run", study.to_str().unwrap(), "--devices", "1,3"]);
    cmd.env("ABLATE_GPUS", "0,1,2,3");
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let ws = env.ws();
    let mut used = std::collections::BTreeSet::new();
    for r in ws.runs() {
        let dev = r.device.clone().unwrap();
        let cvd = std::fs::read_to_string(ws.run_dir(&r.id).join("cuda_visible_devices")).unwrap();
        assert_eq!(format!("cuda:{}", cvd.trim()), dev);
        used.insert(dev);
    }
    assert_eq!(used.into_iter().collect::<Vec<_>>(), ["cuda:1", "cuda:3"]);
    let mut cmd = env.cmd(&["run", study.to_str().unwrap(), "--devices", "7"]);
    cmd.env("ABLATE_GPUS", "0,1");
    let out = cmd.output().unwrap();
    assert!(
        !out.status.success() && text(&out).contains("GPU 7 was requested"),
        "{}",
        text(&out)
    );
}
