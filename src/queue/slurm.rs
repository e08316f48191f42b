//! The Slurm backend: the scheduler submits each queued run as one `sbatch` job that runs
//! `ablate train ... --resume` into the (shared) workspace, and follows it with `squeue`,
//! then `sacct` (or `scontrol show job` where accounting is off) once it left the queue.
//!
//! Enabled per workspace by `WS/queue/slurm.json` (the [`SlurmSettings`] `ablate run
//! --backend slurm` wrote after [`preflight`]); the scheduler's pass hands over to [`pass`].
//! Pure parts (settings, job names, sbatch scripts, output parsing) are unit-tested below; the
//! parts that call Slurm are tested against a real one-node cluster in `tests/slurm.rs`.
use super::scheduler::{Outcome, Scheduler};
use crate::store::{Job, JobState, Workspace};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// `[slurm]` in settings.toml; `ablate run --backend slurm` snapshots it into the workspace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlurmSettings {
    pub partition: Option<String>,
    pub account: Option<String>,
    pub qos: Option<String>,
    /// `--time`, e.g. `"24:00:00"` or `"2-00:00:00"`.
    pub time: Option<String>,
    /// GPUs per run (`--gres=gpu:N`); 0 trains on the CPU.
    pub gpus: u32,
    /// `--cpus-per-task` (data-loading workers + 1 is a good value).
    pub cpus: Option<u32>,
    /// `--mem`, e.g. `"32G"`.
    pub mem: Option<String>,
    /// Passed to sbatch as they are, e.g. `["--constraint=a100", "--exclude=node7"]`.
    pub extra_args: Vec<String>,
    /// Job name; `{study}`, `{row}`, `{label}`, `{seed}` and `{id}` are replaced.
    pub job_name: String,
    /// Refuse a workspace that is not on a shared filesystem (unless the cluster is this host).
    pub check_shared_fs: bool,
    /// Resubmissions after a timeout or node failure before the run is marked failed.
    pub max_attempts: u32,
}

impl Default for SlurmSettings {
    fn default() -> Self {
        SlurmSettings {
            partition: None,
            account: None,
            qos: None,
            time: None,
            gpus: 1,
            cpus: None,
            mem: None,
            extra_args: Vec::new(),
            job_name: "ablate-{study}-r{row}-s{seed}".into(),
            check_shared_fs: true,
            max_attempts: 5,
        }
    }
}

pub fn settings_path(ws: &Workspace) -> PathBuf {
    ws.queue_dir().join("slurm.json")
}

/// The workspace's Slurm settings when its backend is Slurm.
pub fn enabled(ws: &Workspace) -> Option<SlurmSettings> {
    let bytes = std::fs::read(settings_path(ws)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Selects the backend of a workspace: `Some` = Slurm with these settings, `None` = local.
pub fn set_backend(ws: &Workspace, s: Option<&SlurmSettings>) -> Result<()> {
    let p = settings_path(ws);
    match s {
        Some(s) => crate::store::atomic::write_json_atomic(&p, s)
            .with_context(|| format!("{}", p.display())),
        None => match std::fs::remove_file(&p) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(anyhow::Error::from(e).context(format!("{}", p.display())))
            }
            _ => Ok(()),
        },
    }
}

/// Fills the job-name pattern; Slurm job names keep to `[A-Za-z0-9._-]` here so that they
/// survive `squeue` formatting and shell quoting.
pub fn job_name(
    pattern: &str,
    study: &str,
    row: usize,
    label: &str,
    seed: u64,
    id: &str,
) -> String {
    let name = pattern
        .replace("{study}", study)
        .replace("{row}", &row.to_string())
        .replace("{label}", label)
        .replace("{seed}", &seed.to_string())
        .replace("{id}", id);
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// POSIX single-quoting.
fn sh_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-=:,+@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// The batch script of one run: `#SBATCH` lines from the settings, then `exec` of `argv`
/// (the train command), with output appended to the run's log.txt.
pub fn sbatch_script(s: &SlurmSettings, name: &str, run_dir: &Path, argv: &[String]) -> String {
    let mut lines = vec!["#!/bin/bash".to_string()];
    let mut opt = |o: String| lines.push(format!("#SBATCH {o}"));
    opt(format!("--job-name={name}"));
    opt(format!("--output={}", run_dir.join("log.txt").display()));
    opt("--open-mode=append".into());
    opt(format!("--chdir={}", run_dir.display()));
    // Preemption and node failures put the job back in the queue; train --resume continues.
    opt("--requeue".into());
    opt("--ntasks=1".into());
    if let Some(p) = &s.partition {
        opt(format!("--partition={p}"));
    }
    if let Some(a) = &s.account {
        opt(format!("--account={a}"));
    }
    if let Some(q) = &s.qos {
        opt(format!("--qos={q}"));
    }
    if let Some(t) = &s.time {
        opt(format!("--time={t}"));
    }
    if s.gpus > 0 {
        opt(format!("--gres=gpu:{}", s.gpus));
    }
    if let Some(c) = s.cpus {
        opt(format!("--cpus-per-task={c}"));
    }
    if let Some(m) = &s.mem {
        opt(format!("--mem={m}"));
    }
    for e in &s.extra_args {
        opt(e.clone());
    }
    lines.push(String::new());
    lines.push(
        "echo \"# slurm job ${SLURM_JOB_ID} on $(hostname) (restart ${SLURM_RESTART_COUNT:-0})\""
            .into(),
    );
    // The allocation's CPUs, not the node's, size the trainer's thread pools.
    lines.push("export ABLATE_THREADS=${ABLATE_THREADS:-${SLURM_CPUS_PER_TASK:-$(nproc)}}".into());
    let cmd: Vec<String> = argv.iter().map(|a| sh_quote(a)).collect();
    lines.push(format!("exec {}", cmd.join(" ")));
    lines.push(String::new());
    lines.join("\n")
}

/// A Slurm job's state as ablate needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlurmState {
    /// Waiting, with Slurm's reason (`Priority`, `Resources`, `BeginTime` after a requeue...).
    Pending {
        reason: String,
    },
    Running {
        node: String,
    },
    /// Left the queue; `code`/`signal` from `ExitCode=code:signal`.
    Completed {
        code: i32,
        signal: i32,
    },
    Failed {
        code: i32,
        signal: i32,
    },
    Cancelled,
    /// Ended by something the run can resume from: TIMEOUT, PREEMPTED, NODE_FAIL, BOOT_FAIL.
    Interrupted {
        why: String,
    },
    OutOfMemory,
}

fn parse_exit(s: &str) -> (i32, i32) {
    let mut it = s.trim().split(':');
    let code = it.next().and_then(|x| x.parse().ok()).unwrap_or(0);
    let signal = it.next().and_then(|x| x.parse().ok()).unwrap_or(0);
    (code, signal)
}

/// Maps Slurm's state words (`squeue %T`, `sacct State`, `scontrol JobState`) to a state.
pub fn classify(state: &str, reason: &str, node: &str, exit: &str) -> Option<SlurmState> {
    // sacct writes `CANCELLED by 0`.
    let word = state
        .split_whitespace()
        .next()
        .unwrap_or("")
        .trim_end_matches('+');
    let (code, signal) = parse_exit(exit);
    Some(match word {
        "PENDING" | "REQUEUED" | "REQUEUE_HOLD" | "REQUEUE_FED" | "RESV_DEL_HOLD" | "SUSPENDED"
        | "STOPPED" | "SPECIAL_EXIT" | "RESIZING" => SlurmState::Pending {
            reason: if reason.is_empty() || reason == "None" {
                word.to_lowercase()
            } else {
                reason.to_string()
            },
        },
        "CONFIGURING" | "RUNNING" | "COMPLETING" | "SIGNALING" | "STAGE_OUT" => {
            SlurmState::Running {
                node: node.to_string(),
            }
        }
        "COMPLETED" => SlurmState::Completed { code, signal },
        "FAILED" => SlurmState::Failed { code, signal },
        "CANCELLED" | "REVOKED" | "DEADLINE" => SlurmState::Cancelled,
        "TIMEOUT" | "PREEMPTED" | "NODE_FAIL" | "BOOT_FAIL" => SlurmState::Interrupted {
            why: word.to_lowercase(),
        },
        "OUT_OF_MEMORY" => SlurmState::OutOfMemory,
        _ => return None,
    })
}

/// The format [`squeue_states`] asks for.
pub const SQUEUE_FORMAT: &str = "%i|%T|%r|%N";

/// `squeue -h -o '%i|%T|%r|%N'` lines -> (job id, state).
pub fn parse_squeue(out: &str) -> Vec<(String, SlurmState)> {
    out.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.trim().split('|').collect();
            if f.len() < 4 {
                return None;
            }
            Some((f[0].to_string(), classify(f[1], f[2], f[3], "0:0")?))
        })
        .collect()
}

/// `sacct -n -P -X -o JobID,State,ExitCode,NodeList,Reason` lines -> (job id, state). A
/// requeued job has one line per attempt; the last one wins.
pub fn parse_sacct(out: &str) -> Vec<(String, SlurmState)> {
    let mut v: Vec<(String, SlurmState)> = Vec::new();
    for l in out.lines() {
        let f: Vec<&str> = l.trim().split('|').collect();
        if f.len() < 4 || f[0].contains('.') {
            continue;
        }
        let reason = f.get(4).copied().unwrap_or("");
        if let Some(st) = classify(f[1], reason, f[3], f[2]) {
            v.retain(|(id, _)| id != f[0]);
            v.push((f[0].to_string(), st));
        }
    }
    v
}

/// `scontrol show job -o ID` (one line of KEY=VALUE pairs) -> state.
pub fn parse_scontrol(out: &str) -> Option<(String, SlurmState)> {
    let line = out.lines().find(|l| l.contains("JobId="))?;
    let get = |k: &str| {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(k).and_then(|r| r.strip_prefix('=')))
            .unwrap_or("")
    };
    let nodes = match get("BatchHost") {
        "" => get("NodeList"),
        h => h,
    };
    let st = classify(get("JobState"), get("Reason"), nodes, get("ExitCode"))?;
    Some((get("JobId").to_string(), st))
}

/// Runs a Slurm client command with a deadline (a dead controller host can hang for minutes).
fn slurm_cmd(prog: &str, args: &[&str], stdin_text: Option<&str>) -> Result<String> {
    use std::io::{Read, Write};
    use std::process::Stdio;
    let mut child = Command::new(prog)
        .args(args)
        .stdin(if stdin_text.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| {
            format!("cannot run `{prog}`: are the Slurm client tools installed and on PATH?")
        })?;
    if let (Some(t), Some(mut i)) = (stdin_text, child.stdin.take()) {
        i.write_all(t.as_bytes())?;
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(45);
    let status = loop {
        if let Some(st) = child.try_wait()? {
            break st;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "`{prog} {}` did not answer within 45 s (slurmctld unreachable?)",
                args.join(" ")
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (mut out, mut err) = (String::new(), String::new());
    child.stdout.take().map(|mut o| o.read_to_string(&mut out));
    child.stderr.take().map(|mut e| e.read_to_string(&mut err));
    if !status.success() {
        bail!("`{prog} {}` failed: {}", args.join(" "), err.trim());
    }
    Ok(out)
}

/// Linux `statfs` magic numbers of filesystems every node can mount.
const SHARED_FS: &[(i64, &str)] = &[
    (0x6969, "nfs"),
    (0x0BD0_0BD0, "lustre"),
    (0x4750_4653, "gpfs"),
    (0x1983_0326, "beegfs"),
    (0xFF53_4D42, "cifs"),
    (0xFE53_4D42, "smb2"),
    (0x00C3_6400, "cephfs"),
    (0x0102_1997, "9p/v9fs"),
    (0x5346_414F, "afs"),
];

/// The filesystem type of `path` if it is one of the shared kinds.
pub fn shared_fs_type(path: &Path) -> Option<&'static str> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statfs(c.as_ptr(), &mut st) } != 0 {
        return None;
    }
    let magic = st.f_type as i64;
    SHARED_FS
        .iter()
        .find(|(m, _)| *m == magic)
        .map(|(_, name)| *name)
}

fn short_hostname() -> String {
    let mut buf = [0u8; 256];
    unsafe { libc::gethostname(buf.as_mut_ptr() as *mut libc::c_char, buf.len()) };
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    let h = String::from_utf8_lossy(&buf[..end]).into_owned();
    h.split('.').next().unwrap_or("").to_string()
}

/// Before anything is queued: the controller answers, and the workspace is one the compute
/// nodes can see (a shared filesystem, or a cluster whose only node is this host).
pub fn preflight(ws: &Workspace, s: &SlurmSettings) -> Result<()> {
    let nodes = slurm_cmd("sinfo", &["-h", "-o", "%N"], None).context(
        "the Slurm controller does not answer (check `sinfo`, SLURM_CONF and slurmctld); nothing was queued",
    )?;
    if s.check_shared_fs && shared_fs_type(&ws.root).is_none() {
        let me = short_hostname();
        let only_here = nodes
            .split([',', '\n'])
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .all(|n| n == me);
        if !only_here {
            bail!(
                "workspace {} is not on a shared filesystem (nfs, lustre, gpfs, beegfs, cifs, cephfs), \
                 so Slurm jobs on nodes `{}` cannot read or write it; use a workspace on the cluster's \
                 shared filesystem (--workspace / ABLATE_HOME), or set `check_shared_fs = false` under \
                 [slurm] in settings.toml if it is shared another way; nothing was queued",
                ws.root.display(),
                nodes.trim()
            );
        }
    }
    Ok(())
}

/// Submits one run; returns the Slurm job id.
fn submit(sched: &Scheduler, s: &SlurmSettings, job: &Job) -> Result<String> {
    let ws = sched.workspace();
    let dir = ws.run_dir(&job.id);
    let (study, row, label) = ws
        .run(&job.id)
        .and_then(|r| r.rows.into_iter().next())
        .map(|r| (r.study, r.row, r.label))
        .unwrap_or_default();
    let name = job_name(&s.job_name, &study, row, &label, job.seed, &job.id);
    let device = if s.gpus > 0 {
        super::devices::SlotDevice::Gpu(0)
    } else {
        super::devices::SlotDevice::Cpu
    };
    let cmd = sched.command(job, device, 1);
    let mut argv = vec![cmd.get_program().to_string_lossy().into_owned()];
    argv.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    let script = sbatch_script(s, &name, &dir, &argv);
    let path = dir.join("slurm.sh");
    crate::store::atomic::write_atomic(&path, script.as_bytes())?;
    let out = slurm_cmd("sbatch", &["--parsable", &path.to_string_lossy()], None)?;
    let id = out.trim().split(';').next().unwrap_or("").to_string();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit() || c == '_') {
        bail!("sbatch printed no job id: `{}`", out.trim());
    }
    Ok(id)
}

/// Where each live Slurm job stands: `squeue` for jobs in the queue, then `sacct`, then
/// `scontrol show job` for the rest. Err when the controller does not answer.
fn query(ids: &[String]) -> Result<Vec<(String, SlurmState)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = ids.join(",");
    let mut found = parse_squeue(&slurm_cmd(
        "squeue",
        &["-h", "-t", "all", "-j", &list, "-o", SQUEUE_FORMAT],
        None,
    )?);
    // squeue has no exit codes: ended jobs are looked up in sacct / scontrol too.
    let ended =
        |st: &SlurmState| matches!(st, SlurmState::Completed { .. } | SlurmState::Failed { .. });
    let missing: Vec<String> = ids
        .iter()
        .filter(|i| !found.iter().any(|(f, st)| f == *i && !ended(st)))
        .cloned()
        .collect();
    if missing.is_empty() {
        return Ok(found);
    }
    let acct = slurm_cmd(
        "sacct",
        &[
            "-n",
            "-P",
            "-X",
            "-j",
            &missing.join(","),
            "-o",
            "JobID,State,ExitCode,NodeList,Reason",
        ],
        None,
    )
    .map(|o| parse_sacct(&o))
    .unwrap_or_default();
    for id in &missing {
        let better = if let Some(x) = acct.iter().find(|(a, _)| a == id) {
            Some(x.clone())
        } else {
            slurm_cmd("scontrol", &["show", "job", "-o", id], None)
                .ok()
                .and_then(|o| parse_scontrol(&o))
        };
        if let Some(x) = better {
            found.retain(|(f, _)| f != id);
            found.push(x);
        }
    }
    Ok(found)
}

/// One scheduler pass under the Slurm backend: cancel, follow, then submit.
pub(super) fn pass(sched: &mut Scheduler, s: &SlurmSettings) -> Result<()> {
    let ws = sched.workspace().clone();
    let live: Vec<Job> = ws
        .jobs()
        .into_iter()
        .filter(|j| j.state == JobState::Running && j.slurm_job.is_some())
        .collect();
    for j in live.iter().filter(|j| j.cancel_requested) {
        if let Err(e) = slurm_cmd("scancel", &[j.slurm_job.as_deref().unwrap_or("")], None) {
            super::scheduler::log(&ws, &format!("{}: {e:#}", j.id));
        }
    }
    let ids: Vec<String> = live.iter().filter_map(|j| j.slurm_job.clone()).collect();
    let states = match query(&ids) {
        Ok(s) => s,
        Err(e) => {
            // Never judge runs while the controller is away; try again next pass.
            sched.log_once(&format!("slurm: {e:#}"));
            return Ok(());
        }
    };
    for j in &live {
        let sid = j.slurm_job.as_deref().unwrap_or("");
        let Some((_, st)) = states.iter().find(|(i, _)| i == sid) else {
            // Gone from Slurm's memory (MinJobAge) without accounting: judge by the outputs.
            sched.finish(&j.id, Outcome::Unknown { at_startup: false })?;
            continue;
        };
        follow(sched, s, j, st)?;
    }
    submit_queued(sched, s)
}

fn follow(sched: &mut Scheduler, s: &SlurmSettings, j: &Job, st: &SlurmState) -> Result<()> {
    let ws = sched.workspace().clone();
    let sid = j.slurm_job.clone().unwrap_or_default();
    let show = |what: String| {
        ws.update_job(&j.id, |x| {
            x.device = Some(format!("slurm:{sid} {what}"));
            x.slurm_state = Some(what.clone());
        })
    };
    match st {
        SlurmState::Pending { reason } => {
            show(format!("pending ({reason})"))?;
        }
        SlurmState::Running { node } => {
            ws.update_job(&j.id, |x| x.node = Some(node.clone()))?;
            show(format!("running on {node}"))?;
        }
        SlurmState::Failed { code: 0, signal: 0 } => {
            // Failed, exit status unknown (no accounting): judge by the run's outputs.
            sched.finish(&j.id, Outcome::Unknown { at_startup: false })?;
            ws.update_job(&j.id, |x| {
                x.device = Some(format!("slurm:{sid}@{}", x.node.as_deref().unwrap_or("?")));
                if x.state == JobState::Failed {
                    x.error = Some(format!("slurm job {sid} failed (exit code unknown)"));
                }
            })?;
        }
        SlurmState::Completed { code, signal } | SlurmState::Failed { code, signal } => {
            let outcome = if *signal != 0 && *code == 0 {
                Outcome::Exit {
                    code: None,
                    signal: Some(*signal),
                }
            } else {
                Outcome::Exit {
                    code: Some(*code),
                    signal: None,
                }
            };
            ws.update_job(&j.id, |x| {
                x.device = Some(format!("slurm:{sid}@{}", x.node.as_deref().unwrap_or("?")));
                x.slurm_state = Some(format!("ended (exit {code}:{signal})"));
            })?;
            sched.finish(&j.id, outcome)?;
        }
        SlurmState::Cancelled => {
            // scancel from ablate or from the user directly: either way the run is cancelled.
            ws.update_job(&j.id, |x| x.cancel_requested = true)?;
            show("cancelled".into())?;
            sched.finish(&j.id, Outcome::Unknown { at_startup: false })?;
        }
        SlurmState::Interrupted { why } if j.attempts < s.max_attempts => {
            // Not requeued by Slurm (a timeout is not): submit again; train --resume continues.
            // scancel first, so that a copy Slurm requeues after all never runs beside ours.
            let _ = slurm_cmd("scancel", &[&sid], None);
            ws.update_job(&j.id, |x| {
                x.state = JobState::Queued;
                x.slurm_job = None;
                x.slurm_state = Some(format!("{why}; resubmitting"));
            })?;
            super::scheduler::log(
                &ws,
                &format!("{}: slurm job {sid} {why}; resubmitting", j.id),
            );
        }
        SlurmState::Interrupted { why } => {
            sched.finish(&j.id, Outcome::Unknown { at_startup: false })?;
            ws.update_job(&j.id, |x| {
                if x.state == JobState::Failed {
                    x.error = Some(format!(
                        "slurm job {sid} {why} after {} attempts",
                        x.attempts
                    ));
                }
            })?;
        }
        SlurmState::OutOfMemory => {
            sched.finish(&j.id, Outcome::Unknown { at_startup: false })?;
            ws.update_job(&j.id, |x| {
                if x.state == JobState::Failed {
                    x.error = Some(format!(
                        "slurm job {sid} ran out of memory; raise `mem` under [slurm]"
                    ));
                }
            })?;
        }
    }
    Ok(())
}

fn submit_queued(sched: &mut Scheduler, s: &SlurmSettings) -> Result<()> {
    let ws = sched.workspace().clone();
    if ws.is_paused() {
        return Ok(());
    }
    let mut queued: Vec<Job> = ws
        .jobs()
        .into_iter()
        .filter(|j| j.state == JobState::Queued)
        .collect();
    queued.sort_by_key(|j| (j.step != crate::store::Step::Sweep, -j.priority, j.seq));
    for job in queued {
        let mut claimed = false;
        let Some(job) = ws.update_job(&job.id, |j| {
            if j.state == JobState::Queued {
                claimed = true;
                j.state = JobState::Running;
                j.attempts += 1;
                j.started.get_or_insert(crate::store::time::now());
                j.pid = None;
            }
        })?
        else {
            continue;
        };
        if !claimed {
            continue;
        }
        match submit(sched, s, &job) {
            Ok(sid) => {
                ws.update_job(&job.id, |j| {
                    j.slurm_job = Some(sid.clone());
                    j.slurm_state = Some("submitted".into());
                    j.device = Some(format!("slurm:{sid} submitted"));
                })?;
                super::scheduler::log(&ws, &format!("{}: submitted as slurm job {sid}", job.id));
            }
            Err(e) if !controller_down(&format!("{e:#}")) => {
                // sbatch refused the job (bad partition, gres, account...): say why.
                ws.update_job(&job.id, |j| {
                    j.state = JobState::Failed;
                    j.ended = Some(crate::store::time::now());
                    j.error = Some(format!("{e:#}"));
                })?;
                super::scheduler::log(&ws, &format!("{}: {e:#}", job.id));
            }
            Err(e) => {
                // The controller may be back next pass: leave the run queued, stop this pass.
                ws.update_job(&job.id, |j| {
                    j.state = JobState::Queued;
                    j.attempts = j.attempts.saturating_sub(1);
                })?;
                sched.log_once(&format!("slurm: cannot submit {}: {e:#}", job.id));
                return Ok(());
            }
        }
    }
    Ok(())
}

/// An error that says the controller is away (try again later), not that the job is wrong.
fn controller_down(msg: &str) -> bool {
    [
        "Unable to contact",
        "did not answer",
        "Socket timed out",
        "Connection refused",
    ]
    .iter()
    .any(|m| msg.contains(m))
}

/// Whether any run is in Slurm's hands (the scheduler must keep following it).
pub fn has_live(ws: &Workspace) -> bool {
    ws.jobs()
        .iter()
        .any(|j| j.state == JobState::Running && j.slurm_job.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_name_fills_and_sanitises() {
        assert_eq!(
            job_name(
                "ablate-{study}-r{row}-s{seed}",
                "smoke",
                3,
                "Mixup",
                1,
                "abc-s1"
            ),
            "ablate-smoke-r3-s1"
        );
        assert_eq!(
            job_name(
                "{study}/{label} {id}",
                "rn50 v2",
                0,
                "Label Smoothing",
                0,
                "ab12-s0"
            ),
            "rn50_v2_Label_Smoothing_ab12-s0"
        );
    }

    #[test]
    fn sbatch_script_from_settings() {
        let s = SlurmSettings {
            partition: Some("gpu".into()),
            account: Some("vision".into()),
            qos: Some("high".into()),
            time: Some("2-00:00:00".into()),
            gpus: 2,
            cpus: Some(17),
            mem: Some("64G".into()),
            extra_args: vec!["--constraint=a100".into()],
            ..SlurmSettings::default()
        };
        let argv: Vec<String> = [
            "/opt/ablate",
            "train",
            "/ws/runs/ab-s0/recipe.toml",
            "--seed",
            "0",
            "--out",
            "/ws/runs/ab-s0",
            "--resume",
            "--device",
            "cuda:0",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let script = sbatch_script(&s, "ablate-x-r0-s0", Path::new("/ws/runs/ab-s0"), &argv);
        let expected = "#!/bin/bash
#SBATCH --job-name=ablate-x-r0-s0
#SBATCH --output=/ws/runs/ab-s0/log.txt
#SBATCH --open-mode=append
#SBATCH --chdir=/ws/runs/ab-s0
#SBATCH --requeue
#SBATCH --ntasks=1
#SBATCH --partition=gpu
#SBATCH --account=vision
#SBATCH --qos=high
#SBATCH --time=2-00:00:00
#SBATCH --gres=gpu:2
#SBATCH --cpus-per-task=17
#SBATCH --mem=64G
#SBATCH --constraint=a100

echo \"# slurm job ${SLURM_JOB_ID} on $(hostname) (restart ${SLURM_RESTART_COUNT:-0})\"
export ABLATE_THREADS=${ABLATE_THREADS:-${SLURM_CPUS_PER_TASK:-$(nproc)}}
exec /opt/ablate train /ws/runs/ab-s0/recipe.toml --seed 0 --out /ws/runs/ab-s0 --resume --device cuda:0
";
        assert_eq!(script, expected);
        // Defaults: one GPU, nothing else; odd characters are quoted.
        let d = sbatch_script(
            &SlurmSettings::default(),
            "n",
            Path::new("/w"),
            &["/my dir/ablate".into(), "it's".into()],
        );
        assert!(d.contains("#SBATCH --gres=gpu:1\n"));
        assert!(!d.contains("--partition"));
        assert!(d.contains("exec '/my dir/ablate' 'it'\\''s'\n"));
        let cpu = SlurmSettings {
            gpus: 0,
            ..SlurmSettings::default()
        };
        assert!(!sbatch_script(&cpu, "n", Path::new("/w"), &[]).contains("--gres"));
    }

    #[test]
    fn settings_parse_from_toml_and_reject_unknown_keys() {
        let s: SlurmSettings = toml::from_str(
            "partition = \"gpu\"\ngpus = 4\ncpus = 32\nextra_args = [\"--exclusive\"]\n",
        )
        .unwrap();
        assert_eq!(s.partition.as_deref(), Some("gpu"));
        assert_eq!((s.gpus, s.cpus, s.max_attempts), (4, Some(32), 5));
        assert_eq!(s.job_name, "ablate-{study}-r{row}-s{seed}");
        let e = toml::from_str::<SlurmSettings>("gpu = 4\n").unwrap_err();
        assert!(e.to_string().contains("unknown field `gpu`"), "{e}");
    }

    #[test]
    fn squeue_lines_to_states() {
        let out = "101|PENDING|Priority|\n102|RUNNING|None|node07\n103|PENDING|BeginTime|\n\
                   104|COMPLETING|None|node02\n105|REQUEUED|None|\nbad line\n";
        assert_eq!(
            parse_squeue(out),
            vec![
                (
                    "101".into(),
                    SlurmState::Pending {
                        reason: "Priority".into()
                    }
                ),
                (
                    "102".into(),
                    SlurmState::Running {
                        node: "node07".into()
                    }
                ),
                (
                    "103".into(),
                    SlurmState::Pending {
                        reason: "BeginTime".into()
                    }
                ),
                (
                    "104".into(),
                    SlurmState::Running {
                        node: "node02".into()
                    }
                ),
                (
                    "105".into(),
                    SlurmState::Pending {
                        reason: "requeued".into()
                    }
                ),
            ]
        );
    }

    #[test]
    fn sacct_lines_to_states() {
        // -X drops steps, but older sacct versions print `.batch` lines anyway: skipped.
        let out = "201|COMPLETED|0:0|node01|None\n201.batch|COMPLETED|0:0|node01|\n\
                   202|FAILED|3:0|node02|NonZeroExitCode\n203|CANCELLED by 0|0:15|node03|None\n\
                   204|TIMEOUT|0:0|node04|TimeLimit\n205|PREEMPTED|0:0|node05|\n\
                   206|OUT_OF_MEMORY|0:125|node01|\n\
                   207|NODE_FAIL|0:0|node09|\n208|FAILED|0:9|node01|\n\
                   205|RUNNING|0:0|node06|None\n";
        assert_eq!(
            parse_sacct(out),
            vec![
                ("201".into(), SlurmState::Completed { code: 0, signal: 0 }),
                ("202".into(), SlurmState::Failed { code: 3, signal: 0 }),
                ("203".into(), SlurmState::Cancelled),
                (
                    "204".into(),
                    SlurmState::Interrupted {
                        why: "timeout".into()
                    }
                ),
                ("206".into(), SlurmState::OutOfMemory),
                (
                    "207".into(),
                    SlurmState::Interrupted {
                        why: "node_fail".into()
                    }
                ),
                ("208".into(), SlurmState::Failed { code: 0, signal: 9 }),
                // The requeued attempt of 205 is the one that counts.
                (
                    "205".into(),
                    SlurmState::Running {
                        node: "node06".into()
                    }
                ),
            ]
        );
    }

    #[test]
    fn scontrol_line_to_state() {
        let line = "JobId=17 JobName=ablate-smoke-r0-s0 UserId=root(0) JobState=FAILED \
                    Reason=NonZeroExitCode Dependency=(null) Requeue=1 Restarts=1 \
                    ExitCode=2:0 NodeList=vm BatchHost=vm\n";
        assert_eq!(
            parse_scontrol(line),
            Some(("17".into(), SlurmState::Failed { code: 2, signal: 0 }))
        );
        let pending = "JobId=18 JobState=PENDING Reason=Resources ExitCode=0:0 NodeList=(null)";
        assert_eq!(
            parse_scontrol(pending),
            Some((
                "18".into(),
                SlurmState::Pending {
                    reason: "Resources".into()
                }
            ))
        );
        assert_eq!(
            parse_scontrol("slurm_load_jobs error: Invalid job id"),
            None
        );
    }

    #[test]
    fn user_settings_file_carries_the_backend() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("settings.toml");
        std::fs::write(
            &p,
            "backend = \"slurm\"\ntorchvision_references = \"/src/vision/references/classification\"\n\
             [slurm]\npartition = \"gpu\"\ntime = \"1:00:00\"\ngpus = 8\n",
        )
        .unwrap();
        let s = crate::store::Settings::load_from(&p).unwrap();
        assert_eq!(s.backend.as_deref(), Some("slurm"));
        let slurm = s.slurm.unwrap();
        assert_eq!((slurm.partition.as_deref(), slurm.gpus), (Some("gpu"), 8));
        assert_eq!(
            s.torchvision_references.unwrap(),
            PathBuf::from("/src/vision/references/classification")
        );
        std::fs::write(&p, "[slurm]\npartitions = \"gpu\"\n").unwrap();
        let e = crate::store::Settings::load_from(&p)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("settings.toml") && e.contains("partitions"),
            "{e}"
        );
    }

    #[test]
    fn local_tmp_is_not_shared() {
        // /proc is procfs: never a shared filesystem.
        assert_eq!(shared_fs_type(Path::new("/proc")), None);
    }
}
