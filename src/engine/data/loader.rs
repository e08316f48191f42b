//! The batch loader: std worker threads, bounded prefetch, order preserved.
//!
//! Randomness is keyed by position, not by thread: the epoch order comes from an RNG seeded
//! with (seed, epoch), and image k of the epoch is augmented with an RNG seeded with
//! (seed, epoch, k). Batches are therefore identical for any worker count and after a
//! resume at an epoch boundary.
use super::transforms::{eval_transform, TrainTransform};
use super::{Batch, Datasets, Image, Source};
use crate::recipe::Interpolation;
use crate::recipe::Recipe;
use anyhow::{ensure, Result};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Batches prefetched per worker.
const PREFETCH: usize = 2;

/// SplitMix64 finaliser: decorrelates nearby seeds before they reach the RNG.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Key domains, so the shuffle stream never equals some image's augmentation stream.
const ORDER_KEY: u64 = 1;
const SAMPLE_KEY: u64 = 2;

/// An RNG keyed by a tuple of integers.
pub fn keyed_rng(keys: &[u64]) -> StdRng {
    let s = keys.iter().fold(0x5EED_u64, |acc, &k| mix(acc ^ mix(k)));
    StdRng::seed_from_u64(s)
}

/// Number of per-device batches in one training epoch of `n` images.
pub fn num_train_batches(n: usize, r: &Recipe) -> usize {
    let b = r.batch_size.max(1) as usize;
    if r.drop_last {
        n / b
    } else {
        n.div_ceil(b)
    }
}

/// The sample order of one epoch (dataset indices, one entry per drawn sample).
/// With `ra_sampler`, the single-device equivalent of torchvision's RASampler: the first
/// ceil(n / reps) shuffled images, each repeated `ra_reps` times in a row, cut to n.
pub fn epoch_order(n: usize, r: &Recipe, seed: u64, epoch: i64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut keyed_rng(&[ORDER_KEY, seed, epoch as u64]));
    if r.ra_sampler && r.ra_reps > 1 {
        let reps = r.ra_reps as usize;
        order = order[..n.div_ceil(reps)]
            .iter()
            .flat_map(|&i| std::iter::repeat_n(i, reps))
            .take(n)
            .collect();
    }
    order
}

type Job = Box<dyn Fn(usize) -> Result<Batch> + Send + Sync>;

/// Ordered batches from worker threads. Dropping it stops the workers.
pub struct BatchIter {
    next: usize,
    total: usize,
    job: Arc<Job>,
    receivers: Vec<Receiver<Result<Batch>>>,
    stop: Arc<AtomicBool>,
    handles: Vec<JoinHandle<()>>,
}

/// Nice value given to decode workers started from now on (0 = the default priority).
static WORKER_NICE: AtomicI32 = AtomicI32::new(0);

/// Sets the decode workers' priority for this process (one run). When training on the CPU
/// they compete with libtorch's compute threads for the cores, and those wait for each other
/// at every parallel region, so a preempted one stalls both: the workers then run at nice 19
/// (Linux nice values are per thread), fill the gaps, and the bounded prefetch absorbs the
/// delay. On resnet18 at 64 px with every ingredient on 2 cores this took the epoch from ~89 %
/// of the bare training loop's speed to ~100 % (BENCHMARKS.md). On a GPU the workers are the
/// critical path and keep the default priority. `ABLATE_WORKER_NICE` overrides both.
pub fn set_worker_priority(cpu_training: bool) -> Result<()> {
    let env = std::env::var("ABLATE_WORKER_NICE").ok();
    WORKER_NICE.store(
        worker_nice(env.as_deref(), cpu_training)?,
        Ordering::Relaxed,
    );
    Ok(())
}

/// The workers' nice value: `ABLATE_WORKER_NICE` if set, else 19 on the CPU and 0 on a GPU.
pub(super) fn worker_nice(env: Option<&str>, cpu_training: bool) -> Result<i32> {
    let Some(v) = env else {
        return Ok(if cpu_training { 19 } else { 0 });
    };
    match v.trim().parse::<i32>() {
        Ok(n) if (-20..=19).contains(&n) => Ok(n),
        _ => anyhow::bail!(
            "ABLATE_WORKER_NICE `{v}`: allowed: a nice value from -20 to 19 (0 = unchanged)"
        ),
    }
}

fn apply_worker_priority() {
    let nice = WORKER_NICE.load(Ordering::Relaxed);
    if nice != 0 {
        // SAFETY: setpriority only reads its arguments; `who` = 0 is the calling thread.
        // A failure (e.g. a seccomp filter) keeps the default priority, which is harmless.
        unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, nice) };
    }
}

impl BatchIter {
    /// Runs `job(b)` for b in 0..total on `workers` threads (0 = inline in `next`). Worker w
    /// computes batches w, w + workers, ... into its own bounded channel, so reading the
    /// channels round-robin yields batches in order.
    fn spawn(total: usize, workers: usize, job: Job) -> Self {
        let job = Arc::new(job);
        let stop = Arc::new(AtomicBool::new(false));
        let mut receivers = Vec::new();
        let mut handles = Vec::new();
        for w in 0..workers.min(total) {
            let (tx, rx) = sync_channel(PREFETCH);
            let (job, stop) = (job.clone(), stop.clone());
            let nw = workers.min(total);
            handles.push(std::thread::spawn(move || {
                apply_worker_priority();
                let mut b = w;
                while b < total && !stop.load(Ordering::Relaxed) {
                    if tx.send(job(b)).is_err() {
                        break;
                    }
                    b += nw;
                }
            }));
            receivers.push(rx);
        }
        BatchIter {
            next: 0,
            total,
            job,
            receivers,
            stop,
            handles,
        }
    }

    /// Batches in this pass.
    pub fn total(&self) -> usize {
        self.total
    }
}

impl Iterator for BatchIter {
    type Item = Result<Batch>;
    fn next(&mut self) -> Option<Result<Batch>> {
        if self.next >= self.total {
            return None;
        }
        let b = self.next;
        self.next += 1;
        if self.receivers.is_empty() {
            return Some((self.job)(b));
        }
        let rx = &self.receivers[b % self.receivers.len()];
        Some(
            rx.recv()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("data loader worker died"))),
        )
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.total - self.next;
        (left, Some(left))
    }
}

impl Drop for BatchIter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Dropping the receivers unblocks workers waiting on a full channel.
        self.receivers.clear();
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }
}

/// Assembles one batch of `size` x `size` images.
fn collect(items: Vec<(Image, i64, Option<[usize; 4]>)>, size: usize) -> Result<Batch> {
    let n = items.len();
    let mut pixels = Vec::with_capacity(n * size * size * 3);
    let mut labels = Vec::with_capacity(n);
    let mut erase = Vec::with_capacity(n);
    for (img, l, e) in items {
        debug_assert_eq!((img.width, img.height), (size, size));
        pixels.extend_from_slice(&img.data);
        labels.push(l);
        erase.push(e);
    }
    Ok(Batch {
        pixels,
        n,
        h: size,
        w: size,
        labels,
        erase,
    })
}

/// One epoch of augmented training batches of `r.batch_size` images.
pub fn train_batches(
    ds: &Datasets,
    r: &Recipe,
    seed: u64,
    epoch: i64,
    workers: usize,
) -> Result<BatchIter> {
    ensure!(
        r.batch_size > 0,
        "batch_size must be > 0 (got {})",
        r.batch_size
    );
    ensure!(
        !ds.train.is_empty(),
        "dataset `{}`: the train split is empty",
        ds.name
    );
    let tf = TrainTransform::from_recipe(r)?;
    let order = epoch_order(ds.train.len(), r, seed, epoch);
    let bs = r.batch_size as usize;
    let total = num_train_batches(order.len(), r);
    let src: Arc<dyn Source> = ds.train.clone();
    let job: Job = Box::new(move |b| {
        let positions = b * bs..((b + 1) * bs).min(order.len());
        let items = positions
            .map(|k| {
                let mut rng = keyed_rng(&[SAMPLE_KEY, seed, epoch as u64, k as u64]);
                // The crop box is drawn before decoding, so JPEGs decode only what it needs.
                let (crop, label) =
                    src.get_crop(order[k], tf.crop, tf.scaled_decode, &mut |w, h| {
                        tf.draw_box(&mut rng, w, h)
                    })?;
                let (out, erase) = tf.apply_crop(&crop, &mut rng);
                Ok((out, label, erase))
            })
            .collect::<Result<Vec<_>>>()?;
        collect(items, tf.crop)
    });
    Ok(BatchIter::spawn(total, workers, job))
}

/// Validation batches (Resize shorter side to `val_resize_size`, CenterCrop `val_crop_size`),
/// in index order, optionally restricted to `indices`.
pub fn eval_batches(
    ds: &Datasets,
    r: &Recipe,
    batch_size: usize,
    indices: Option<Vec<usize>>,
    workers: usize,
) -> Result<BatchIter> {
    ensure!(batch_size > 0, "eval batch size must be > 0");
    ensure!(
        r.val_resize_size > 0 && r.val_crop_size > 0,
        "val_resize_size and val_crop_size must be > 0 (got {}, {})",
        r.val_resize_size,
        r.val_crop_size
    );
    let n = ds.val.len();
    let indices = indices.unwrap_or_else(|| (0..n).collect());
    if let Some(&bad) = indices.iter().find(|&&i| i >= n) {
        anyhow::bail!("eval index {bad} out of range: the val split has {n} images");
    }
    let (resize_to, crop) = (r.val_resize_size as usize, r.val_crop_size as usize);
    let interp: Interpolation = r.interpolation;
    let src: Arc<dyn Source> = ds.val.clone();
    let total = indices.len().div_ceil(batch_size);
    let job: Job = Box::new(move |b| {
        let items = indices[b * batch_size..((b + 1) * batch_size).min(indices.len())]
            .iter()
            .map(|&i| {
                let (img, label) = src.get(i, Some(resize_to))?;
                Ok((eval_transform(&img, resize_to, crop, interp), label, None))
            })
            .collect::<Result<Vec<_>>>()?;
        collect(items, crop)
    });
    Ok(BatchIter::spawn(total, workers, job))
}
