//! Process supervision primitives (Linux): detached spawning, liveness, process groups.
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Starts `cmd` in its own session (so it survives its parent and gets its own process
/// group), stdin from /dev/null, stdout and stderr appended to `log`.
pub fn spawn_detached(mut cmd: Command, log: &Path) -> std::io::Result<Child> {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)?;
    cmd.stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out);
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.spawn()
}

/// Alive and not a zombie.
pub fn alive(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    if unsafe { libc::kill(pid, 0) } != 0
        && std::io::Error::last_os_error().raw_os_error() != Some(libc::EPERM)
    {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name.
        Ok(s) => s
            .rsplit_once(')')
            .is_none_or(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

fn cmdline(pid: i32) -> Option<Vec<String>> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(
        raw.split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect(),
    )
}

/// Whether `pid` is alive and one of its arguments is `run_dir` (pid reuse check).
pub fn is_run_process(pid: i32, run_dir: &Path) -> bool {
    let want = run_dir.to_string_lossy();
    alive(pid) && cmdline(pid).is_some_and(|args| args.iter().any(|a| a == want.as_ref()))
}

/// A live process whose arguments include `run_dir` and `train`/`evaluate` (a run started by
/// a scheduler that died before it could record the pid).
pub fn find_run_process(run_dir: &Path) -> Option<i32> {
    let want = run_dir.to_string_lossy();
    let me = std::process::id() as i32;
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: i32 = e.file_name().to_str()?.parse().ok()?;
        let args = cmdline(pid)?;
        let ours = pid != me
            && args.iter().any(|a| a == want.as_ref())
            && args.iter().any(|a| a == "train" || a == "evaluate");
        (ours && alive(pid)).then_some(pid)
    })
}

/// Sends `sig` to the process group led by `pid` (children run in their own session).
pub fn signal_group(pid: i32, sig: i32) {
    if pid > 0 {
        unsafe {
            libc::kill(-pid, sig);
        }
    }
}
