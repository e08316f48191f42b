//! Advisory file locks (`flock`): one scheduler per workspace, short critical sections for
//! job edits. The lock is released when the returned guard (the open file) is dropped, or
//! when the process dies, so a kill -9 never leaves a stale lock.
use std::fs::File;
use std::os::unix::io::AsRawFd;
use std::path::Path;

pub struct FileLock {
    _file: File,
}

fn open(path: &Path) -> std::io::Result<File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // std opens with O_CLOEXEC, so children never inherit (and keep) the lock.
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
}

/// Blocks until the lock is ours.
pub fn lock(path: &Path) -> std::io::Result<FileLock> {
    let file = open(path)?;
    loop {
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } == 0 {
            return Ok(FileLock { _file: file });
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// `None` when another process holds it.
pub fn try_lock(path: &Path) -> std::io::Result<Option<FileLock>> {
    let file = open(path)?;
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(Some(FileLock { _file: file }));
    }
    let e = std::io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(None)
    } else {
        Err(e)
    }
}
