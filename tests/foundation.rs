//! The built binary starts without LD_LIBRARY_PATH (rpath) and `doctor` passes on this machine.
use std::process::Command;

fn ablate() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ablate"));
    c.env_remove("LD_LIBRARY_PATH");
    c
}

#[test]
fn version_runs_without_ld_library_path() {
    let out = ablate().arg("--version").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with(concat!("ablate ", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    assert!(text.contains("libtorch 2.13"), "{text}");
    assert!(text.contains("CUDA device"), "{text}");
}

#[test]
fn doctor_exits_zero() {
    let ws = tempfile::tempdir().unwrap();
    let out = ablate()
        .arg("doctor")
        .arg("--workspace")
        .arg(ws.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "doctor failed:\n{text}");
    assert!(text.contains("ok       libtorch"), "{text}");
    assert!(text.contains("is writable"), "{text}");
}
