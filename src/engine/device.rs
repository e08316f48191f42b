//! Which libtorch we run on and which device a run uses.
use tch::{Cuda, Device};

#[derive(Debug, Clone)]
pub struct LibtorchInfo {
    pub version: String,
    pub lib_dir: String,
    pub cuda_available: bool,
    pub cuda_devices: i64,
    pub cudnn_available: bool,
}

impl LibtorchInfo {
    pub fn probe() -> Self {
        let lib_dir = option_env!("ABLATE_LIBTORCH_LIB")
            .unwrap_or("unknown")
            .to_string();
        LibtorchInfo {
            version: libtorch_version(&lib_dir),
            cuda_available: Cuda::is_available(),
            cuda_devices: Cuda::device_count(),
            cudnn_available: Cuda::cudnn_is_available(),
            lib_dir,
        }
    }
}

/// libtorch has no version call through tch; the pip wheel's `version.py` next to `lib/` has it.
fn libtorch_version(lib_dir: &str) -> String {
    let root = std::path::Path::new(lib_dir)
        .parent()
        .map(|p| p.to_path_buf());
    let from_py = root
        .as_ref()
        .and_then(|r| std::fs::read_to_string(r.join("version.py")).ok())
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("__version__"))
                .and_then(|l| l.split('\'').nth(1).map(str::to_string))
        });
    let from_file = || {
        root.as_ref()
            .and_then(|r| std::fs::read_to_string(r.join("build-version")).ok())
            .map(|s| s.trim().to_string())
    };
    from_py
        .or_else(from_file)
        .unwrap_or_else(|| "2.13 (exact version unknown)".into())
}

/// Parses `cpu`, `cuda`, `cuda:K`; `None` picks CUDA 0 when present, else CPU.
pub fn choose(spec: Option<&str>) -> anyhow::Result<Device> {
    match spec {
        None => Ok(Device::cuda_if_available()),
        Some("cpu") => Ok(Device::Cpu),
        Some("cuda") => cuda(0),
        Some(s) => match s
            .strip_prefix("cuda:")
            .and_then(|k| k.parse::<usize>().ok())
        {
            Some(k) => cuda(k),
            None => anyhow::bail!("--device `{s}`: allowed values are cpu, cuda, cuda:K"),
        },
    }
}

fn cuda(k: usize) -> anyhow::Result<Device> {
    let n = Cuda::device_count() as usize;
    if k >= n {
        anyhow::bail!("--device cuda:{k}: this machine has {n} CUDA device(s) visible to libtorch");
    }
    Ok(Device::Cuda(k))
}

pub fn device_name(d: Device) -> String {
    match d {
        Device::Cpu => "cpu".into(),
        Device::Cuda(k) => format!("cuda:{k}"),
        other => format!("{other:?}").to_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensor_on_best_device() {
        let dev = choose(None).unwrap();
        let a = tch::Tensor::from_slice(&[1.0f32, 2.0, 3.0]).to_device(dev);
        let b = (&a * &a).sum(tch::Kind::Float);
        assert_eq!(b.device(), dev);
        assert_eq!(f64::try_from(b).unwrap(), 14.0);
    }

    #[test]
    fn bad_device_names_are_errors() {
        assert!(choose(Some("gpu"))
            .unwrap_err()
            .to_string()
            .contains("allowed values"));
        assert!(choose(Some("cuda:99")).is_err());
    }
}
