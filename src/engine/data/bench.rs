//! `ablate bench transforms`: throughput of the recipe's train transform per core
//! (decode, RandomResizedCrop 176, flip, TrivialAugmentWide, RandomErasing 0.1 box, and the
//! u8 -> normalised f32 CHW conversion torchvision's ToTensor + Normalize would do), to
//! compare with `scripts/bench_torchvision_transforms.py`. Files are read into memory first
//! so both sides measure CPU work, not the disk.
use super::folder::decode_crop;
use super::loader::keyed_rng;
use super::transforms::TrainTransform;
use super::wide::with_avx2;
use super::{Image, IMAGENET_MEAN, IMAGENET_STD};
use crate::recipe::{AutoAugment, Recipe};
use anyhow::{ensure, Context, Result};
use clap::Parser;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Debug, Parser)]
#[command(
    name = "ablate bench transforms",
    about = "Images/s of the recipe's train transform"
)]
pub struct TransformsArgs {
    /// Folder of JPEG/PNG photos (scripts/make-bench-photos.py makes one).
    #[arg(long)]
    pub images: PathBuf,
    /// Worker threads (the result is also reported per thread).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Minimum measuring time in seconds (after one warm-up pass).
    #[arg(long, default_value_t = 5.0)]
    pub seconds: f64,
    /// Train crop size (the recipe's FixRes value by default).
    #[arg(long, default_value_t = 176)]
    pub crop: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TransformsReport {
    pub images: usize,
    pub threads: usize,
    pub processed: usize,
    pub elapsed: Duration,
    /// CPU time of the benchmark threads (robust to other processes sharing the cores).
    pub cpu: Duration,
    /// Fraction of the time spent decoding (single-thread measurement).
    pub decode_share: f64,
}

impl TransformsReport {
    pub fn images_per_s(&self) -> f64 {
        self.processed as f64 / self.elapsed.as_secs_f64()
    }
    /// Images per second of CPU time: the per-core throughput.
    pub fn images_per_cpu_s(&self) -> f64 {
        self.processed as f64 / self.cpu.as_secs_f64()
    }
}

/// CPU time consumed so far by the calling thread.
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes the timespec we pass.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

impl std::fmt::Display for TransformsReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ablate train transform (decode + RRC + flip + TrivialAugmentWide + RandomErasing 0.1 + normalise): \
             {} images over {:.1} s on {} thread(s): {:.1} images/s wall, {:.1} images per CPU-second per core (decode {:.0} %)",
            self.processed,
            self.elapsed.as_secs_f64(),
            self.threads,
            self.images_per_s(),
            self.images_per_cpu_s(),
            100.0 * self.decode_share
        )
    }
}

/// The recipe's train transform as benchmarked (V2 recipe values).
pub fn bench_recipe(crop: i64) -> Recipe {
    Recipe {
        train_crop_size: crop,
        auto_augment: AutoAugment::TaWide,
        random_erase: 0.1,
        ..Recipe::default()
    }
}

/// ToTensor + Normalize + RandomErasing(value 0) on the CPU: CHW f32.
pub fn normalise_chw(
    img: &Image,
    mean: [f32; 3],
    std: [f32; 3],
    erase: Option<[usize; 4]>,
) -> Vec<f32> {
    let plane = img.width * img.height;
    let mut out = vec![0f32; plane * 3];
    with_avx2(|| {
        for (c, o) in out.chunks_exact_mut(plane).enumerate() {
            for (o, p) in o.iter_mut().zip(img.data.chunks_exact(3)) {
                *o = (p[c] as f32 / 255.0 - mean[c]) / std[c];
            }
        }
    });
    if let Some([t, l, h, w]) = erase {
        for c in 0..3 {
            for y in t..t + h {
                out[c * plane + y * img.width + l..c * plane + y * img.width + l + w].fill(0.0);
            }
        }
    }
    out
}

fn list_images(dir: &Path) -> Result<Vec<(PathBuf, Vec<u8>)>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "jpg" | "jpeg" | "png"))
        })
        .collect();
    files.sort();
    ensure!(
        !files.is_empty(),
        "{}: no .jpg/.jpeg/.png files to benchmark",
        dir.display()
    );
    files
        .into_iter()
        .map(|p| {
            let b = std::fs::read(&p).with_context(|| format!("cannot read {}", p.display()))?;
            Ok((p, b))
        })
        .collect()
}

/// One image through the whole train transform; returns a checksum so nothing is optimised away.
fn one(tf: &TrainTransform, path: &Path, bytes: &[u8], key: u64) -> Result<(f32, Duration)> {
    let mut rng = keyed_rng(&[key]);
    // Decoding includes the header read and the crop draw (as in the loader's workers).
    let t0 = Instant::now();
    let crop = decode_crop(bytes, path, tf.crop, tf.scaled_decode, &mut |w, h| {
        tf.draw_box(&mut rng, w, h)
    })?;
    let dt = t0.elapsed();
    let (out, erase) = tf.apply_crop(&crop, &mut rng);
    let x = normalise_chw(&out, IMAGENET_MEAN, IMAGENET_STD, erase);
    Ok((x[x.len() / 2], dt))
}

pub fn run_transforms(a: &TransformsArgs) -> Result<TransformsReport> {
    ensure!(a.threads > 0, "--threads must be >= 1");
    let files = list_images(&a.images)?;
    let tf = TrainTransform::from_recipe(&bench_recipe(a.crop))?;
    // Warm-up pass, single thread; also measures the decode share.
    let (mut dec, t0) = (Duration::ZERO, Instant::now());
    for (k, (p, b)) in files.iter().enumerate() {
        dec += one(&tf, p, b, k as u64)?.1;
    }
    let decode_share = dec.as_secs_f64() / t0.elapsed().as_secs_f64();
    let min = Duration::from_secs_f64(a.seconds);
    let start = Instant::now();
    let counts = std::thread::scope(|s| {
        let handles: Vec<_> = (0..a.threads)
            .map(|t| {
                let (files, tf) = (&files, &tf);
                s.spawn(move || -> Result<(usize, Duration)> {
                    let c0 = thread_cpu_time();
                    let mut n = 0usize;
                    let mut sink = 0f32;
                    while start.elapsed() < min {
                        for (k, (p, b)) in files.iter().enumerate().skip(t).step_by(a.threads) {
                            sink += one(tf, p, b, (n * 7919 + k) as u64)?.0;
                            n += 1;
                        }
                    }
                    std::hint::black_box(sink);
                    Ok((n, thread_cpu_time() - c0))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("bench thread panicked"))
            .collect::<Result<Vec<_>>>()
    })?;
    Ok(TransformsReport {
        images: files.len(),
        threads: a.threads,
        elapsed: start.elapsed(),
        processed: counts.iter().map(|c| c.0).sum(),
        cpu: counts.iter().map(|c| c.1).sum(),
        decode_share,
    })
}

/// Entry point for `ablate bench transforms ...` (args after `transforms`).
pub fn transforms_cli(args: &[String]) -> Result<TransformsReport> {
    let a = TransformsArgs::try_parse_from(
        std::iter::once("ablate bench transforms".to_string()).chain(args.iter().cloned()),
    )?;
    run_transforms(&a)
}
