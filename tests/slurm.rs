//! The Slurm backend against a real cluster: run `scripts/slurm-localhost.sh` (a one-node
//! cluster on this host), then `cargo test --test slurm -- --ignored --test-threads=1`.
//! Each test uses its own workspace and settings directory (XDG_CONFIG_HOME) and trains on
//! the CPU (`gpus = 0`, one CPU per run).
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

struct Env {
    _tmp: tempfile::TempDir,
    ws: PathBuf,
    cfg: PathBuf,
}

fn env(extra_settings: &str) -> Env {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("config");
    std::fs::create_dir_all(cfg.join("ablate")).unwrap();
    std::fs::write(
        cfg.join("ablate/settings.toml"),
        format!("{extra_settings}\n[slurm]\ngpus = 0\ncpus = 1\n"),
    )
    .unwrap();
    Env {
        ws: tmp.path().join("ws"),
        cfg,
        _tmp: tmp,
    }
}

fn ablate(e: &Env, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ablate"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("--workspace")
        .arg(&e.ws)
        .args(args)
        .env("XDG_CONFIG_HOME", &e.cfg)
        .env("ABLATE_SCHEDULER_IDLE_S", "3");
    for (k, v) in envs {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn jobs(ws: &Path) -> Vec<serde_json::Value> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(ws.join("runs"))
        .into_iter()
        .flatten()
        .flatten()
    {
        if let Ok(b) = std::fs::read(e.path().join("job.json")) {
            v.push(serde_json::from_slice(&b).unwrap());
        }
    }
    v
}

fn wait_for(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(
            t.elapsed() < Duration::from_secs(secs),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn hostname() -> String {
    let o = Command::new("hostname").arg("-s").output().unwrap();
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

#[test]
#[ignore = "needs a Slurm cluster: scripts/slurm-localhost.sh"]
fn smoke_study_completes_through_slurm() {
    let e = env("");
    let o = ablate(
        &e,
        &[
            "run",
            "presets/smoke.toml",
            "--set",
            "epochs=1",
            "--data",
            "synthetic:64",
            "--seeds",
            "1",
            "--backend",
            "slurm",
        ],
        &[],
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    let js = jobs(&e.ws);
    // smoke: 4 trained rows (the 5th re-evaluates row 3's runs) x 1 seed.
    assert_eq!(js.len(), 4, "{out}");
    let me = hostname();
    for j in &js {
        assert_eq!(j["state"], "done", "{j}");
        assert!(
            j["slurm_job"].as_str().is_some_and(|s| !s.is_empty()),
            "{j}"
        );
        assert_eq!(j["node"], me.as_str(), "{j}");
    }
    // The table shows all five rows like a local study.
    let t = ablate(&e, &["table", "smoke"], &[]);
    let table = text(&t);
    for row in [
        "Baseline",
        "+ Label Smoothing",
        "+ Mixup",
        "+ EMA",
        "+ Inference Resize",
    ] {
        assert!(table.contains(row), "{table}");
    }
    // status names the Slurm job and node.
    let s = text(&ablate(&e, &["status"], &[]));
    assert!(s.contains(&format!("@{me}")), "{s}");
}

/// A stand-in for `ablate train` that runs until killed.
fn sleeper(e: &Env) -> PathBuf {
    let p = e.ws.parent().unwrap().join("sleep-train.sh");
    std::fs::write(&p, "#!/bin/sh\necho fake train \"$@\"\nexec sleep 600\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

#[test]
#[ignore = "needs a Slurm cluster: scripts/slurm-localhost.sh"]
fn scancel_shows_as_cancelled() {
    let e = env("");
    let fake = sleeper(&e);
    let fake = fake.to_string_lossy().into_owned();
    let o = ablate(
        &e,
        &[
            "run",
            "presets/smoke.toml",
            "--seeds",
            "1",
            "--backend",
            "slurm",
            "--detach",
        ],
        &[("ABLATE_TRAIN_CMD", &fake)],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let running = |j: &serde_json::Value| {
        j["slurm_state"]
            .as_str()
            .is_some_and(|s| s.starts_with("running"))
    };
    wait_for("a Slurm job to run", 60, || jobs(&e.ws).iter().any(running));
    // The user cancels one job with scancel directly...
    let j = jobs(&e.ws).into_iter().find(running).unwrap();
    let sid = j["slurm_job"].as_str().unwrap().to_string();
    let id = j["id"].as_str().unwrap().to_string();
    assert!(Command::new("scancel")
        .arg(&sid)
        .status()
        .unwrap()
        .success());
    wait_for("the scancelled run to show as cancelled", 60, || {
        jobs(&e.ws)
            .iter()
            .any(|j| j["id"] == id.as_str() && j["state"] == "cancelled")
    });
    // ...and ablate cancels the rest with scancel: nothing stays in Slurm's queue.
    let o = ablate(&e, &["cancel", "smoke"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    wait_for("every run to be cancelled", 60, || {
        jobs(&e.ws).iter().all(|j| j["state"] == "cancelled")
    });
    let sids: Vec<String> = jobs(&e.ws)
        .iter()
        .filter_map(|j| j["slurm_job"].as_str().map(String::from))
        .collect();
    let q = Command::new("squeue")
        .args(["-h", "-j", &sids.join(","), "-o", "%i %T"])
        .output()
        .unwrap();
    let left = String::from_utf8_lossy(&q.stdout);
    assert!(
        left.lines()
            .all(|l| !l.contains("RUNNING") && !l.contains("PENDING")),
        "{left}"
    );
    let status = text(&ablate(&e, &["status"], &[]));
    assert!(status.contains("cancelled"), "{status}");
}

#[test]
#[ignore = "needs a Slurm cluster: scripts/slurm-localhost.sh"]
fn requeued_job_resumes_from_its_checkpoint() {
    let e = env("");
    // One run (a recipe file is a one-row study) of 3 short epochs.
    let recipe = e.ws.parent().unwrap().join("three.toml");
    let smoke =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("presets/smoke.toml"))
            .unwrap();
    let baseline = smoke
        .split("[baseline]")
        .nth(1)
        .unwrap()
        .split("[[ingredient]]")
        .next()
        .unwrap();
    std::fs::write(&recipe, baseline).unwrap();
    let r = recipe.to_string_lossy().into_owned();
    let o = ablate(
        &e,
        &[
            "run",
            &r,
            "--set",
            "epochs=3",
            "--data",
            "synthetic:64",
            "--seeds",
            "1",
            "--backend",
            "slurm",
            "--detach",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let run_dir = || {
        std::fs::read_dir(e.ws.join("runs"))
            .unwrap()
            .flatten()
            .next()
            .unwrap()
            .path()
    };
    let epochs = |d: &Path| {
        std::fs::read_to_string(d.join("metrics.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("\"kind\":\"epoch\""))
            .count()
    };
    wait_for("the first epoch", 300, || epochs(&run_dir()) >= 1);
    let dir = run_dir();
    let sid = jobs(&e.ws)[0]["slurm_job"].as_str().unwrap().to_string();
    // Kill it mid-run and put it back in Slurm's queue.
    let st = Command::new("scontrol")
        .args(["requeue", &sid])
        .status()
        .unwrap();
    assert!(st.success());
    wait_for("the requeued run to finish", 420, || {
        jobs(&e.ws)[0]["state"] == "done"
    });
    let metrics = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
    let starts: Vec<i64> = metrics
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["kind"] == "start")
        .map(|v| v["start_epoch"].as_i64().unwrap())
        .collect();
    // The second process started after the checkpointed epochs, not from scratch.
    assert_eq!(starts.len(), 2, "{metrics}");
    assert_eq!(starts[0], 0);
    assert!(starts[1] >= 1, "{metrics}");
    // Every epoch logged exactly once... or at most re-run once for the interrupted one.
    let mut seen: Vec<i64> = metrics
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["kind"] == "epoch")
        .map(|v| v["epoch"].as_i64().unwrap())
        .collect();
    seen.dedup();
    assert_eq!(*seen.last().unwrap(), 2, "{metrics}");
    let log = std::fs::read_to_string(dir.join("log.txt")).unwrap();
    assert!(log.contains("(restart 1)"), "{log}");
}

#[test]
#[ignore = "needs a Slurm cluster: scripts/slurm-localhost.sh"]
fn unreachable_controller_is_a_clear_error_and_queues_nothing() {
    let e = env("");
    let conf = std::fs::read_to_string(
        std::env::var("SLURM_CONF").unwrap_or_else(|_| "/etc/slurm/slurm.conf".into()),
    )
    .unwrap();
    // Same cluster, but the controller's port has nobody listening.
    let dead: String = conf
        .lines()
        .map(|l| {
            if l.starts_with("SlurmctldPort=") {
                "SlurmctldPort=1".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let dead_path = e.ws.parent().unwrap().join("dead.conf");
    std::fs::write(&dead_path, dead).unwrap();
    let o = ablate(
        &e,
        &[
            "run",
            "presets/smoke.toml",
            "--backend",
            "slurm",
            "--detach",
        ],
        &[("SLURM_CONF", &dead_path.to_string_lossy())],
    );
    let out = text(&o);
    assert_ne!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("Slurm controller does not answer"), "{out}");
    assert!(out.contains("nothing was queued"), "{out}");
    assert!(jobs(&e.ws).is_empty());
}

// Not ignored: the backends' argument errors need no cluster and no PyTorch.

#[test]
fn torchrun_backend_without_torchvision_is_a_clear_error() {
    let e = env("");
    let o = ablate(
        &e,
        &[
            "run",
            "presets/smoke.toml",
            "--backend",
            "torchrun",
            "--row",
            "1",
        ],
        &[],
    );
    let out = text(&o);
    assert_ne!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("torchvision_references"), "{out}");
    assert!(jobs(&e.ws).is_empty());
    // A references directory without train.py is named.
    let e = env("torchvision_references = \"/nonexistent/vision/references/classification\"");
    let out = text(&ablate(
        &e,
        &[
            "run",
            "presets/smoke.toml",
            "--backend",
            "torchrun",
            "--row",
            "1",
        ],
        &[],
    ));
    assert!(
        out.contains("/nonexistent/vision/references/classification: no train.py there"),
        "{out}"
    );
    assert!(jobs(&e.ws).is_empty());
}

#[test]
fn backend_flag_errors() {
    let e = env("");
    let out = text(&ablate(
        &e,
        &["run", "presets/smoke.toml", "--backend", "k8s"],
        &[],
    ));
    assert!(
        out.contains("--backend `k8s`: allowed values are local, slurm and torchrun"),
        "{out}"
    );
    let out = text(&ablate(
        &e,
        &["run", "presets/smoke.toml", "--row", "2", "--detach"],
        &[],
    ));
    assert!(
        out.contains("--row applies to --backend torchrun only"),
        "{out}"
    );
    let out = text(&ablate(
        &e,
        &["run", "presets/smoke.toml", "--backend", "torchrun"],
        &[],
    ));
    assert!(out.contains("add --row N"), "{out}");
    assert!(jobs(&e.ws).is_empty());
}

/// Slurm client commands that answer from files, so the scheduler's Slurm pass is tested
/// without a cluster: `squeue.txt` holds squeue's lines, `calls.log` records every call.
fn fake_slurm(dir: &Path) -> String {
    let bin = dir.join("fake-slurm");
    std::fs::create_dir_all(&bin).unwrap();
    let d = dir.display();
    let scripts = [
        ("sinfo", "hostname -s\n".to_string()),
        (
            "sbatch",
            format!(
                "n=$(( $(cat {d}/next 2>/dev/null || echo 0) + 1 )); echo $n > {d}/next\n\
                 echo \"sbatch $*\" >> {d}/calls.log; echo $n\n"
            ),
        ),
        ("squeue", format!("cat {d}/squeue.txt 2>/dev/null; true\n")),
        ("scancel", format!("echo \"scancel $*\" >> {d}/calls.log\n")),
        ("sacct", "exit 1\n".into()),
        ("scontrol", "exit 1\n".into()),
    ];
    for (name, body) in scripts {
        let p = bin.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

#[test]
fn scheduler_follows_slurm_states_with_fake_commands() {
    let e = env("");
    let dir = e.ws.parent().unwrap().to_path_buf();
    let path = fake_slurm(&dir);
    // Every job Slurm is given shows as pending until the test says otherwise.
    let pending: String = (1..=6)
        .map(|i| format!("{i}|PENDING|Priority|\n"))
        .collect();
    std::fs::write(dir.join("squeue.txt"), &pending).unwrap();
    let o = ablate(
        &e,
        &[
            "run",
            "presets/smoke.toml",
            "--seeds",
            "1",
            "--backend",
            "slurm",
            "--detach",
        ],
        &[("PATH", &path), ("ABLATE_SCHEDULER_POLL_MS", "100")],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let by_sid = |sid: &str| {
        jobs(&e.ws)
            .into_iter()
            .find(|j| j["slurm_job"] == sid)
            .unwrap_or(serde_json::Value::Null)
    };
    wait_for("four submissions", 30, || {
        (1..=4).all(|i| by_sid(&i.to_string()) != serde_json::Value::Null)
    });
    let calls = std::fs::read_to_string(dir.join("calls.log")).unwrap();
    assert_eq!(calls.matches("sbatch --parsable").count(), 4, "{calls}");
    let script = std::fs::read_to_string(
        e.ws.join("runs")
            .join(by_sid("1")["id"].as_str().unwrap())
            .join("slurm.sh"),
    )
    .unwrap();
    assert!(
        script.contains("#SBATCH --job-name=ablate-smoke-r0-s0\n"),
        "{script}"
    );
    assert!(script.contains("#SBATCH --cpus-per-task=1\n"), "{script}");
    std::fs::write(
        dir.join("squeue.txt"),
        // 5 is the resubmission of 4 (a job id Slurm gives out next).
        "1|PENDING|Priority|\n2|RUNNING|None|n7\n3|FAILED|None|n7\n4|TIMEOUT|None|n8\n\
         5|PENDING|Resources|\n",
    )
    .unwrap();
    let log_of_3 =
        e.ws.join("runs")
            .join(by_sid("3")["id"].as_str().unwrap())
            .join("log.txt");
    std::fs::write(&log_of_3, "Traceback\nRuntimeError: CUDA out of memory\n").unwrap();
    let id4 = by_sid("4")["id"].as_str().unwrap().to_string();
    let t = Instant::now();
    while !(by_sid("1")["slurm_state"] == "pending (Priority)"
        && by_sid("2")["slurm_state"] == "running on n7"
        && by_sid("3")["state"] == "failed"
        && by_sid("5")["id"] == id4.as_str())
    {
        if t.elapsed() > Duration::from_secs(30) {
            let calls = std::fs::read_to_string(dir.join("calls.log")).unwrap_or_default();
            let log = std::fs::read_to_string(e.ws.join("scheduler.log")).unwrap_or_default();
            panic!("{:#?}\n{calls}\n{log}", jobs(&e.ws));
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    wait_for("the states to land", 30, || {
        by_sid("1")["slurm_state"] == "pending (Priority)"
            && by_sid("2")["slurm_state"] == "running on n7"
            && by_sid("3")["state"] == "failed"
            && by_sid("5")["id"] == id4.as_str()
    });
    let j2 = by_sid("2");
    assert_eq!(
        (j2["state"].as_str(), j2["node"].as_str()),
        (Some("running"), Some("n7"))
    );
    // squeue shows no exit code for a failed job and accounting is off: judged by outputs.
    let j3 = by_sid("3");
    assert!(
        j3["log_tail"]
            .as_str()
            .unwrap()
            .contains("CUDA out of memory"),
        "{j3}"
    );
    // The timed-out job was scancelled (in case Slurm requeues it) and submitted again.
    let j5 = by_sid("5");
    assert_eq!(
        (j5["state"].as_str(), j5["attempts"].as_u64()),
        (Some("running"), Some(2))
    );
    let calls = std::fs::read_to_string(dir.join("calls.log")).unwrap();
    assert!(calls.contains("scancel 4\n"), "{calls}");
    // ablate cancel -> scancel; Slurm's CANCELLED -> cancelled.
    let id1 = by_sid("1")["id"].as_str().unwrap().to_string();
    let o = ablate(&e, &["cancel", &id1], &[("PATH", &path)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    wait_for("scancel 1", 30, || {
        std::fs::read_to_string(dir.join("calls.log"))
            .unwrap()
            .contains("scancel 1\n")
    });
    std::fs::write(
        dir.join("squeue.txt"),
        "1|CANCELLED|None|\n2|COMPLETED|None|n7\n5|COMPLETED|None|n8\n6|PENDING|Priority|\n",
    )
    .unwrap();
    wait_for("the runs to end", 30, || {
        by_sid("1")["state"] == "cancelled" && by_sid("2")["state"] == "done"
    });
    // Row 3's run is re-evaluated by the eval-only row 4: its sweep is another Slurm job.
    wait_for("the sweep follow-up", 30, || {
        by_sid("6")["id"] == id4.as_str()
    });
    assert_eq!(by_sid("6")["step"], "sweep");
    let sweep = std::fs::read_to_string(e.ws.join("runs").join(&id4).join("slurm.sh")).unwrap();
    assert!(sweep.contains(" evaluate "), "{sweep}");
    std::fs::write(dir.join("squeue.txt"), "6|COMPLETED|None|n8\n").unwrap();
    wait_for("the sweep to end", 30, || by_sid("6")["state"] == "done");
    assert_eq!(by_sid("2")["device"], "slurm:2@n7");
    // Nothing left in Slurm's hands: the scheduler goes idle and exits.
    wait_for("the scheduler to exit", 30, || {
        text(&ablate(&e, &["status"], &[("PATH", &path)])).contains("scheduler not running")
            || !text(&ablate(&e, &["status"], &[("PATH", &path)])).contains("scheduler running")
    });
}
