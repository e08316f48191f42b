//! `ablate doctor`: every check prints OK or a problem with an actionable fix.
use crate::engine::device::LibtorchInfo;
use anyhow::Result;
use std::path::Path;

pub fn run(ws: &Path) -> Result<i32> {
    let mut problems = 0;
    let mut report = |ok: bool, what: &str, detail: String, fix: &str| {
        if ok {
            println!("ok       {what}: {detail}");
        } else {
            problems += 1;
            println!("PROBLEM  {what}: {detail}\n         fix: {fix}");
        }
    };

    let info = LibtorchInfo::probe();
    let torch_ok = std::panic::catch_unwind(|| {
        let t = tch::Tensor::from_slice(&[1.0f32, 2.0]);
        f64::try_from(t.sum(tch::Kind::Float))
            .map(|v| v == 3.0)
            .unwrap_or(false)
    })
    .unwrap_or(false);
    report(
        torch_ok && info.version.starts_with("2.13"),
        "libtorch",
        format!("{} from {}", info.version, info.lib_dir),
        "run `scripts/libtorch.sh` (or set LIBTORCH to a PyTorch 2.13 install) and rebuild",
    );
    report(
        true,
        "CUDA",
        if info.cuda_available {
            format!(
                "{} device(s), cuDNN {}",
                info.cuda_devices,
                if info.cudnn_available { "yes" } else { "no" }
            )
        } else {
            "none visible; runs use the CPU".into()
        },
        "",
    );
    if !info.cuda_available && Path::new("/dev/nvidiactl").exists() {
        report(
            false,
            "CUDA",
            "an NVIDIA driver is present but libtorch sees no device".into(),
            "check `nvidia-smi` (driver R580+ for CUDA 13), CUDA_VISIBLE_DEVICES, and that libtorch is a CUDA build",
        );
    }

    let writable = std::fs::create_dir_all(ws).is_ok() && {
        let probe = ws.join(".doctor-probe");
        let ok = std::fs::write(&probe, b"ok").is_ok();
        let _ = std::fs::remove_file(&probe);
        ok
    };
    report(
        writable,
        "workspace",
        format!(
            "{} {}",
            ws.display(),
            if writable {
                "is writable"
            } else {
                "is not writable"
            }
        ),
        "pass --workspace DIR or set ABLATE_HOME to a writable directory",
    );

    match crossterm::terminal::size() {
        Ok((w, h)) if w >= 80 && h >= 24 => report(true, "terminal", format!("{w}x{h}"), ""),
        Ok((w, h)) => report(false, "terminal", format!("{w}x{h} is smaller than 80x24"), "enlarge the window or tmux pane"),
        Err(_) => println!("note     terminal: not attached to a terminal (fine for scripts and CI; the TUI needs one)"),
    }
    Ok(if problems == 0 { 0 } else { 1 })
}
