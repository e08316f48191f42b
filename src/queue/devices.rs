//! Slots: which devices the scheduler fills and how many runs each takes (pure but for
//! [`detect_gpus`]). The queue never links libtorch: GPUs are counted with `nvidia-smi -L`.
use serde::{Deserialize, Serialize};

/// Persisted in `WS/queue/config.json` by `ablate run` (flags, else settings.toml).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QueueConfig {
    /// Physical GPU indices to use (default: all detected).
    pub devices: Option<Vec<u32>>,
    /// Runs per GPU (default 1), or concurrent CPU runs without CUDA (default 1).
    pub per_device: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SlotDevice {
    /// A physical GPU index: the child gets `CUDA_VISIBLE_DEVICES=K` and `--device cuda:0`.
    Gpu(u32),
    Cpu,
}

impl SlotDevice {
    /// As recorded in job.json: `cuda:K` (physical index) or `cpu`.
    pub fn label(self) -> String {
        match self {
            SlotDevice::Gpu(k) => format!("cuda:{k}"),
            SlotDevice::Cpu => "cpu".into(),
        }
    }
    pub fn parse(label: &str) -> Option<SlotDevice> {
        if label == "cpu" {
            return Some(SlotDevice::Cpu);
        }
        label
            .strip_prefix("cuda:")?
            .parse()
            .ok()
            .map(SlotDevice::Gpu)
    }
}

/// Parses `--devices 0,2,3`.
pub fn parse_devices(s: &str) -> anyhow::Result<Vec<u32>> {
    s.split(',')
        .map(|p| {
            p.trim().parse::<u32>().map_err(|_| {
                anyhow::anyhow!("--devices: `{p}` is not a GPU index; expected e.g. `0,2,3`")
            })
        })
        .collect()
}

/// Capacity per device. Requested GPUs that are not present are an error, not silently CPU.
pub fn capacity(cfg: &QueueConfig, gpus: &[u32]) -> anyhow::Result<Vec<(SlotDevice, u32)>> {
    let k = cfg.per_device.unwrap_or(1).max(1);
    if gpus.is_empty() {
        if let Some(d) = cfg.devices.as_ref().filter(|d| !d.is_empty()) {
            anyhow::bail!(
                "GPUs {d:?} were requested (--devices / settings.toml) but none is present"
            );
        }
        return Ok(vec![(SlotDevice::Cpu, k)]);
    }
    let chosen = match &cfg.devices {
        Some(d) if !d.is_empty() => {
            if let Some(bad) = d.iter().find(|g| !gpus.contains(g)) {
                anyhow::bail!("GPU {bad} was requested but this machine has GPUs {gpus:?}");
            }
            d.clone()
        }
        _ => gpus.to_vec(),
    };
    Ok(chosen
        .into_iter()
        .map(|g| (SlotDevice::Gpu(g), k))
        .collect())
}

/// GPU indices present: `ABLATE_GPUS=0,1` (tests, or to hide GPUs: `ABLATE_GPUS=`),
/// else `nvidia-smi -L`; none when it is missing or fails.
pub fn detect_gpus() -> Vec<u32> {
    if let Ok(s) = std::env::var("ABLATE_GPUS") {
        return parse_devices(&s).unwrap_or_default();
    }
    let Ok(out) = std::process::Command::new("nvidia-smi").arg("-L").output() else {
        return Vec::new();
    };
    if !out.status.success() {
        return Vec::new();
    }
    let n = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("GPU "))
        .count();
    (0..n as u32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacities() {
        let cfg = |devices: Option<Vec<u32>>, per_device| QueueConfig {
            devices,
            per_device,
        };
        assert_eq!(
            capacity(&cfg(None, None), &[]).unwrap(),
            vec![(SlotDevice::Cpu, 1)]
        );
        assert_eq!(
            capacity(&cfg(None, Some(2)), &[]).unwrap(),
            vec![(SlotDevice::Cpu, 2)]
        );
        assert_eq!(
            capacity(&cfg(None, None), &[0, 1]).unwrap(),
            vec![(SlotDevice::Gpu(0), 1), (SlotDevice::Gpu(1), 1)]
        );
        assert_eq!(
            capacity(&cfg(Some(vec![0, 3]), Some(2)), &[0, 1, 2, 3]).unwrap(),
            vec![(SlotDevice::Gpu(0), 2), (SlotDevice::Gpu(3), 2)]
        );
        assert!(capacity(&cfg(Some(vec![5]), None), &[0]).is_err());
        assert!(capacity(&cfg(Some(vec![0]), None), &[]).is_err());
        assert_eq!(parse_devices("0, 2,3").unwrap(), vec![0, 2, 3]);
        assert!(parse_devices("0,x").is_err());
        assert_eq!(SlotDevice::parse("cuda:3"), Some(SlotDevice::Gpu(3)));
        assert_eq!(
            SlotDevice::parse(&SlotDevice::Cpu.label()),
            Some(SlotDevice::Cpu)
        );
    }
}
