//! The scheduler: one per workspace (flock on `queue/scheduler.lock`), started detached on
//! demand. Each pass it reaps finished runs, forwards cancels, and fills free slots with the
//! next queued runs. All state is in job files, so a kill -9 loses nothing: the next
//! scheduler adopts live runs and requeues interrupted ones (they restart with `--resume`).
use super::devices::{capacity, detect_gpus, SlotDevice};
use super::process::{alive, find_run_process, is_run_process, signal_group, spawn_detached};
use crate::store::metrics::MetricEvent;
use crate::store::{Job, JobState, Step, Workspace};
use anyhow::Result;
use std::collections::BTreeMap;
use std::process::Child;
use std::time::{Duration, Instant};

/// Exit code of `ablate train` for a NaN/inf loss.
pub const EXIT_DIVERGED: i32 = 3;
/// SIGTERM, then SIGKILL after this long.
const KILL_AFTER: Duration = Duration::from_secs(10);

struct Active {
    pid: i32,
    /// `None` for a run adopted from a previous scheduler (not our child: no exit status).
    child: Option<Child>,
    device: SlotDevice,
    term_sent: Option<Instant>,
}

pub(crate) enum Outcome {
    Exit {
        code: Option<i32>,
        signal: Option<i32>,
    },
    /// The process is gone and was not our child; judge by its outputs.
    Unknown { at_startup: bool },
}

/// `ABLATE_SCHEDULER_POLL_MS` (default 500) and `ABLATE_SCHEDULER_IDLE_S` (default 30: how
/// long an idle scheduler waits for new work before it exits).
fn env_duration(key: &str, default_ms: u64, scale: u64) -> Duration {
    let v = std::env::var(key).ok().and_then(|s| s.parse::<u64>().ok());
    Duration::from_millis(v.map(|v| v * scale).unwrap_or(default_ms))
}

pub struct Scheduler {
    ws: Workspace,
    active: BTreeMap<String, Active>,
    gpus: Vec<u32>,
    last_config_error: Option<String>,
}

/// Runs the scheduler until the queue has been empty (or paused with nothing running) for the
/// idle time. Returns at once when another scheduler holds the workspace.
pub fn run(ws: &Workspace) -> Result<i32> {
    let lock_path = ws.scheduler_lock_path();
    let Some(mut lock) = crate::store::lock::try_lock(&lock_path)? else {
        log(ws, "another scheduler holds this workspace; exiting");
        return Ok(0);
    };
    let poll = env_duration("ABLATE_SCHEDULER_POLL_MS", 500, 1);
    let idle_exit = env_duration("ABLATE_SCHEDULER_IDLE_S", 30_000, 1000);
    let mut s = Scheduler {
        ws: ws.clone(),
        active: BTreeMap::new(),
        gpus: detect_gpus(),
        last_config_error: None,
    };
    log(
        ws,
        &format!(
            "scheduler {} started (GPUs: {:?})",
            std::process::id(),
            s.gpus
        ),
    );
    // For people and tests; the lock, not this file, is what makes the scheduler single.
    crate::store::atomic::write_atomic(
        &ws.queue_dir().join("scheduler.pid"),
        std::process::id().to_string().as_bytes(),
    )?;
    s.adopt()?;
    let mut idle_since: Option<Instant> = None;
    loop {
        s.pass()?;
        if s.active.is_empty() && !s.has_startable() && !super::slurm::has_live(&s.ws) {
            let since = *idle_since.get_or_insert_with(Instant::now);
            if since.elapsed() >= idle_exit {
                // Release, then look again: a client may have queued work after our last pass
                // while it saw our lock and so started no scheduler.
                drop(lock);
                if !s.has_startable() {
                    break;
                }
                match crate::store::lock::try_lock(&lock_path)? {
                    Some(l) => lock = l,
                    None => break,
                }
                idle_since = None;
            }
        } else {
            idle_since = None;
        }
        std::thread::sleep(poll);
    }
    log(
        ws,
        &format!("scheduler {} idle; exiting", std::process::id()),
    );
    Ok(0)
}

/// Appends a timestamped line to `WS/scheduler.log` (never stdout: the TUI may own it).
pub(crate) fn log(ws: &Workspace, msg: &str) {
    use std::io::Write;
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(ws.scheduler_log())
    {
        let _ = writeln!(
            f,
            "{} {msg}",
            crate::store::time::iso(crate::store::time::now())
        );
    }
}

/// The last `n` lines of a run's log.txt.
pub fn log_tail(path: &std::path::Path, n: usize) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    let text =
        String::from_utf8_lossy(&bytes[bytes.len().saturating_sub(64 * 1024)..]).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    Some(lines[lines.len().saturating_sub(n)..].join("\n"))
}

fn pending_sweeps(job: &Job, sweep_events: &[MetricEvent]) -> Vec<crate::recipe::EvalSweep> {
    job.sweeps
        .iter()
        .filter(|sw| {
            !sweep_events
                .iter()
                .any(|e| matches!(e, MetricEvent::Sweep { param, .. } if *param == sw.param))
        })
        .cloned()
        .collect()
}

impl Scheduler {
    pub(crate) fn workspace(&self) -> &Workspace {
        &self.ws
    }

    /// Logs `msg` unless it repeats the last such message (a pass runs twice a second).
    pub(crate) fn log_once(&mut self, msg: &str) {
        if self.last_config_error.as_deref() != Some(msg) {
            log(&self.ws, msg);
            self.last_config_error = Some(msg.to_string());
        }
    }

    fn has_startable(&self) -> bool {
        !self.ws.is_paused()
            && self
                .ws
                .jobs()
                .iter()
                .any(|j| j.state == JobState::Queued && !self.active.contains_key(&j.id))
    }

    /// Takes over runs a previous scheduler left: live ones are watched, dead ones judged.
    fn adopt(&mut self) -> Result<()> {
        for job in self
            .ws
            .jobs()
            .into_iter()
            .filter(|j| j.state == JobState::Running && j.slurm_job.is_none())
        {
            let dir = self.ws.run_dir(&job.id);
            let pid = job
                .pid
                .filter(|p| is_run_process(*p, &dir))
                .or_else(|| find_run_process(&dir));
            match pid {
                Some(pid) => {
                    let device = job
                        .device
                        .as_deref()
                        .and_then(SlotDevice::parse)
                        .unwrap_or(SlotDevice::Cpu);
                    self.ws.update_job(&job.id, |j| j.pid = Some(pid))?;
                    self.active.insert(
                        job.id.clone(),
                        Active {
                            pid,
                            child: None,
                            device,
                            term_sent: None,
                        },
                    );
                    log(&self.ws, &format!("adopted {} (pid {pid})", job.id));
                }
                None => self.finish(&job.id, Outcome::Unknown { at_startup: true })?,
            }
        }
        Ok(())
    }

    /// One scheduling pass.
    pub fn pass(&mut self) -> Result<()> {
        if let Some(slurm) = super::slurm::enabled(&self.ws) {
            return super::slurm::pass(self, &slurm);
        }
        self.reap()?;
        self.forward_cancels()?;
        if !self.ws.is_paused() {
            self.fill()?;
        }
        Ok(())
    }

    fn reap(&mut self) -> Result<()> {
        let mut ended = Vec::new();
        for (id, a) in self.active.iter_mut() {
            let outcome = match a.child.as_mut() {
                Some(child) => match child.try_wait()? {
                    Some(st) => {
                        use std::os::unix::process::ExitStatusExt;
                        Outcome::Exit {
                            code: st.code(),
                            signal: st.signal(),
                        }
                    }
                    None => continue,
                },
                None if alive(a.pid) => continue,
                None => Outcome::Unknown { at_startup: false },
            };
            ended.push((id.clone(), outcome));
        }
        for (id, outcome) in ended {
            self.active.remove(&id);
            self.finish(&id, outcome)?;
        }
        Ok(())
    }

    /// Records how a run's process ended.
    pub(crate) fn finish(&mut self, id: &str, outcome: Outcome) -> Result<()> {
        let events = self.ws.events(id);
        let sweep_events = self.ws.sweep_events(id);
        let has_done = events.iter().any(|e| matches!(e, MetricEvent::Done { .. }));
        let diverged = events.iter().rev().find_map(|e| match e {
            MetricEvent::Diverged {
                epoch,
                global_step,
                loss,
            } => Some((*epoch, *global_step, *loss)),
            _ => None,
        });
        let tail = log_tail(&self.ws.run_dir(id).join("log.txt"), 20);
        let now = crate::store::time::now();
        let job = self.ws.update_job(id, |j| {
            let pending = pending_sweeps(j, &sweep_events);
            let (ok, div) = match &outcome {
                Outcome::Exit { code, signal } => {
                    j.exit_code = *code;
                    j.signal = *signal;
                    (*code == Some(0), *code == Some(EXIT_DIVERGED))
                }
                Outcome::Unknown { .. } => match j.step {
                    Step::Train => (has_done, diverged.is_some()),
                    Step::Sweep => (pending.is_empty(), false),
                },
            };
            j.pid = None;
            if j.cancel_requested {
                j.state = JobState::Cancelled;
                j.ended = Some(now);
            } else if ok && j.step == Step::Train && !pending.is_empty() {
                // The eval-only follow-up runs next, ahead of other queued work.
                j.state = JobState::Queued;
                j.step = Step::Sweep;
            } else if ok {
                j.state = JobState::Done;
                j.ended = Some(now);
            } else if div {
                j.state = JobState::Diverged;
                j.ended = Some(now);
                j.error = Some(match diverged {
                    Some((e, s, l)) => format!("diverged: loss {l} at epoch {e}, step {s}"),
                    None => "diverged (exit code 3)".into(),
                });
            } else if matches!(outcome, Outcome::Unknown { at_startup: true }) {
                // Interrupted (scheduler and run killed, or a reboot): continue from the last
                // checkpoint.
                j.state = JobState::Queued;
            } else {
                j.state = JobState::Failed;
                j.ended = Some(now);
                let what = if j.step == Step::Sweep { "evaluate --sweep" } else { "train" };
                j.error = Some(match &outcome {
                    Outcome::Exit { code: Some(c), .. } => format!("{what} exited with code {c}"),
                    Outcome::Exit { signal: Some(s), .. } => format!("{what} killed by signal {s}"),
                    _ => format!("{what} ended without finishing (started by a previous scheduler; exit status unknown)"),
                });
                j.log_tail = tail.clone();
            }
        })?;
        if let Some(j) = job {
            log(
                &self.ws,
                &format!(
                    "{id}: {}{}",
                    j.state,
                    j.error
                        .as_deref()
                        .map(|e| format!(" ({e})"))
                        .unwrap_or_default()
                ),
            );
        }
        Ok(())
    }

    fn forward_cancels(&mut self) -> Result<()> {
        for (id, a) in self.active.iter_mut() {
            let wants = self
                .ws
                .job(id)
                .ok()
                .flatten()
                .is_some_and(|j| j.cancel_requested);
            match a.term_sent {
                None if wants => {
                    signal_group(a.pid, libc::SIGTERM);
                    a.term_sent = Some(Instant::now());
                    log(
                        &self.ws,
                        &format!("{id}: cancel: SIGTERM to process group {}", a.pid),
                    );
                }
                Some(t) if t.elapsed() > KILL_AFTER => {
                    signal_group(a.pid, libc::SIGKILL);
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn fill(&mut self) -> Result<()> {
        let cfg = super::client::read_config(&self.ws);
        let caps = match capacity(&cfg, &self.gpus) {
            Ok(c) => c,
            Err(e) => {
                let msg = e.to_string();
                if self.last_config_error.as_ref() != Some(&msg) {
                    log(&self.ws, &format!("cannot start runs: {msg}"));
                    self.last_config_error = Some(msg);
                }
                return Ok(());
            }
        };
        let mut queued: Vec<Job> = self
            .ws
            .jobs()
            .into_iter()
            .filter(|j| j.state == JobState::Queued && !self.active.contains_key(&j.id))
            .collect();
        // Follow-up sweeps first, then priority, then enqueue order (plan::runs order: seed 0
        // of every row, then seed 1, ...).
        queued.sort_by_key(|j| (j.step != Step::Sweep, -j.priority, j.seq));
        let mut queued = queued.into_iter();
        for (device, cap) in caps {
            let used = self.active.values().filter(|a| a.device == device).count() as u32;
            for _ in used..cap {
                let Some(job) = queued.next() else {
                    return Ok(());
                };
                self.start(job, device, cap)?;
            }
        }
        Ok(())
    }

    /// `slots`: runs sharing `device`.
    pub(crate) fn command(
        &self,
        job: &Job,
        device: SlotDevice,
        slots: u32,
    ) -> std::process::Command {
        let prog = std::env::var_os("ABLATE_TRAIN_CMD")
            .map(std::path::PathBuf::from)
            .or_else(|| std::env::current_exe().ok())
            .unwrap_or_else(|| "ablate".into());
        let dir = self.ws.run_dir(&job.id);
        let mut cmd = std::process::Command::new(prog);
        match job.step {
            Step::Train => {
                cmd.arg("train").arg(dir.join("recipe.toml"));
                cmd.arg("--seed")
                    .arg(job.seed.to_string())
                    .arg("--out")
                    .arg(&dir)
                    .arg("--resume");
                cmd.arg("--device").arg(if device == SlotDevice::Cpu {
                    "cpu"
                } else {
                    "cuda:0"
                });
            }
            Step::Sweep => {
                cmd.arg("evaluate").arg(&dir);
                for sw in pending_sweeps(job, &self.ws.sweep_events(&job.id)) {
                    let vals: Vec<String> = sw.values.iter().map(|v| v.to_string()).collect();
                    cmd.arg("--sweep")
                        .arg(format!("{}={}", sw.param, vals.join(",")));
                }
            }
        }
        // CPU runs share the cores: oversubscribed OpenMP threads spin and make every run
        // several times slower. A user's ABLATE_THREADS wins.
        if device == SlotDevice::Cpu && std::env::var_os("ABLATE_THREADS").is_none() {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
            cmd.env("ABLATE_THREADS", (cores / slots.max(1)).max(1).to_string());
        }
        // Pin the GPU; a CPU run sees none.
        cmd.env(
            "CUDA_VISIBLE_DEVICES",
            match device {
                SlotDevice::Gpu(k) => k.to_string(),
                SlotDevice::Cpu => String::new(),
            },
        );
        cmd
    }

    fn start(&mut self, job: Job, device: SlotDevice, slots: u32) -> Result<()> {
        let now = crate::store::time::now();
        let mut claimed = false;
        // Claim under the lock: a client may have cancelled it since we listed the queue.
        let Some(job) = self.ws.update_job(&job.id, |j| {
            if j.state == JobState::Queued {
                claimed = true;
                j.state = JobState::Running;
                j.device = Some(device.label());
                j.attempts += 1;
                j.started.get_or_insert(now);
                j.pid = None;
            }
        })?
        else {
            return Ok(());
        };
        if !claimed {
            return Ok(());
        }
        let cmd = self.command(&job, device, slots);
        let log_path = self.ws.run_dir(&job.id).join("log.txt");
        {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log_path)?;
            writeln!(
                f,
                "# ablate scheduler: attempt {} on {}: {:?}",
                job.attempts,
                device.label(),
                cmd
            )?;
        }
        match spawn_detached(cmd, &log_path) {
            Ok(child) => {
                let pid = child.id() as i32;
                self.ws.update_job(&job.id, |j| j.pid = Some(pid))?;
                self.active.insert(
                    job.id.clone(),
                    Active {
                        pid,
                        child: Some(child),
                        device,
                        term_sent: None,
                    },
                );
                log(
                    &self.ws,
                    &format!(
                        "{}: started {:?} on {} (pid {pid})",
                        job.id,
                        job.step,
                        device.label()
                    ),
                );
            }
            Err(e) => {
                self.ws.update_job(&job.id, |j| {
                    j.state = JobState::Failed;
                    j.ended = Some(now);
                    j.error = Some(format!("cannot start the run process: {e}"));
                })?;
            }
        }
        Ok(())
    }
}
