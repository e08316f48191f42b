//! One training run (one recipe, one seed) into a run directory, torchvision's
//! `train_one_epoch` + `evaluate` loop (recipe-semantics §1) on one device.
//!
//! Run directory: `recipe.toml`, `meta.json` (at start), `metrics.jsonl` (append-only),
//! `checkpoint/` (every epoch, see checkpoint.rs), `summary.json` (at the end).
//!
//! Multi-GPU emulation: a step accumulates `world_size` per-device micro-batches, each with its
//! own MixUp/CutMix draw and its own BN batch statistics (DDP without sync_bn), each micro-loss
//! divided by world_size. The last step of an epoch may have fewer micro-batches; its gradient
//! is then the mean over those it has.
//!
//! Resume: the metrics log is rewritten (atomically) to end at the checkpoint's Epoch event, so
//! it stays continuous: no Step or Epoch lines of epochs after the checkpoint remain.
use super::augment;
use super::checkpoint::{self, State};
use super::data::{self, Datasets};
use super::data::{num_train_batches, train_batches};
use super::ema::Ema;
use super::eval::evaluate_model;
use super::model::{self, ResNet};
use super::optim::Sgd;
use crate::recipe::ema::ema_decay;
use crate::recipe::schedule::lr_at_epoch;
use crate::recipe::Recipe;
use crate::store::atomic::{write_atomic, write_json_atomic};
use crate::store::metrics::{
    read_events, Eval, MetricEvent, MetricsWriter, METRICS_FORMAT_VERSION,
};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;
use tch::nn::{ModuleT, VarStore};
use tch::{Device, Kind, Tensor};

/// Optimizer steps between two host read-backs (Step event, divergence check).
pub const LOG_EVERY: i64 = 20;
/// AMP dynamic loss scaling, PyTorch GradScaler defaults.
const SCALE_INIT: f64 = 65536.0;
const SCALE_GROWTH_INTERVAL: u64 = 2000;

pub struct TrainOptions {
    /// The resolved recipe of the run, `seed` set.
    pub recipe: Recipe,
    pub out: PathBuf,
    pub resume: bool,
    pub device: Device,
    /// Recorded in meta.json.
    pub command_line: Vec<String>,
    /// Stop (Outcome::Stopped) once this many epochs are checkpointed: a test hook that
    /// imitates a killed process (`ABLATE_STOP_AFTER_EPOCH` in the CLI).
    pub stop_after_epoch: Option<i64>,
    /// libtorch threads; None: `ABLATE_THREADS`, else the available cores.
    pub threads: Option<i32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// NaN/inf loss (exit code 3).
    Diverged,
    /// `ABLATE_STOP_AFTER_EPOCH` reached (a test hook that imitates a killed process).
    Stopped,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    pub ablate_version: String,
    pub commit: String,
    pub libtorch: String,
    pub device: String,
    pub threads: i32,
    pub amp: bool,
    pub command_line: Vec<String>,
    /// Unix time, seconds.
    pub start_time: f64,
}

/// `summary.json`: final and best validation accuracy of the raw and EMA models.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub version: u32,
    /// "done" or "diverged".
    pub status: String,
    pub epochs: i64,
    pub final_acc1: f64,
    pub final_acc5: f64,
    pub best_acc1: f64,
    pub best_acc5: f64,
    pub best_epoch: i64,
    pub ema_final_acc1: Option<f64>,
    pub ema_final_acc5: Option<f64>,
    pub ema_best_acc1: Option<f64>,
    pub ema_best_acc5: Option<f64>,
    pub ema_best_epoch: Option<i64>,
    /// Mean training throughput over the logged epochs.
    pub images_per_sec: f64,
    /// Wall time of this process (a resumed run counts only its last process).
    pub duration_s: f64,
}

/// libtorch intra-op threads: `explicit`, else `ABLATE_THREADS`, else the available cores.
/// On a loaded machine fewer threads can be much faster (OpenMP spin-waits): measured on the
/// 2-core dev box under load, 1 thread ran an epoch in 3.8 s where 2 threads took 28.7 s.
pub fn configure_threads(explicit: Option<i32>) -> i32 {
    let n = explicit
        .or_else(|| {
            std::env::var("ABLATE_THREADS")
                .ok()
                .and_then(|s| s.parse::<i32>().ok())
        })
        .filter(|&n| n > 0)
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get() as i32)
                .unwrap_or(1)
        });
    tch::set_num_threads(n);
    n
}

/// Decode workers of the input pipeline: `ABLATE_WORKERS`, else the available cores.
pub fn workers() -> usize {
    std::env::var("ABLATE_WORKERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
}

fn seed_i64(parts: &[u64]) -> i64 {
    use rand::RngCore;
    (super::data::loader::keyed_rng(parts).next_u64() >> 1) as i64
}

/// Everything a run keeps between epochs.
struct Run<'a> {
    r: &'a Recipe,
    ds: Datasets,
    device: Device,
    amp: bool,
    vs: VarStore,
    model: ResNet,
    sgd: Sgd,
    ema: Option<Ema>,
    state: State,
    num_classes: i64,
    workers: usize,
}

/// libtorch's RNG (init, per-epoch seed) and thread count are process-global: runs in one
/// process take turns, or two concurrent runs would draw from each other's stream.
static ONE_RUN_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub fn run(opts: &TrainOptions, on_event: &mut dyn FnMut(&MetricEvent)) -> Result<Outcome> {
    let _turn = ONE_RUN_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let started = Instant::now();
    let r = &opts.recipe;
    let threads = configure_threads(opts.threads);
    let device = opts.device;
    if let Device::Cuda(_) = device {
        tch::Cuda::cudnn_set_benchmark(true);
    }
    let amp = r.amp && device.is_cuda();
    data::loader::set_worker_priority(device == Device::Cpu)?;
    let ds = data::open(&r.dataset)?;
    let out = &opts.out;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let hash = crate::plan::recipe_hash(r);

    let prior = if opts.resume {
        checkpoint::load_state(out)?
    } else {
        None
    };
    if let Some(s) = &prior {
        if s.recipe_hash != hash || s.seed != r.seed {
            bail!(
                "{}: the checkpoint is of recipe {} seed {}, not of this run's recipe {} seed {}",
                out.display(),
                s.recipe_hash,
                s.seed,
                hash,
                r.seed
            );
        }
    }
    let recipe_toml = toml::to_string(r)?;
    write_atomic(&out.join("recipe.toml"), recipe_toml.as_bytes())?;
    let info = super::device::LibtorchInfo::probe();
    let meta = Meta {
        ablate_version: env!("CARGO_PKG_VERSION").into(),
        commit: env!("ABLATE_GIT_COMMIT").into(),
        libtorch: info.version,
        device: super::device::device_name(device),
        threads,
        amp,
        command_line: opts.command_line.clone(),
        start_time: crate::store::time::now(),
    };
    if prior.is_none() || !out.join("meta.json").exists() {
        write_json_atomic(&out.join("meta.json"), &meta)?;
    }

    // Initialisation from the run seed alone.
    tch::manual_seed(seed_i64(&[r.seed, 0x696e6974]));
    let num_classes = ds.num_classes as i64;
    let mut vs = VarStore::new(device);
    let model = model::build(&vs.root(), r, num_classes)?;
    let mut sgd = Sgd::new(&vs, r);
    let train_images = ds.train.len();
    let mut ema = if r.model_ema {
        Some(Ema::new(
            &vs,
            r,
            num_classes,
            ema_decay(r, train_images),
            device,
        )?)
    } else {
        None
    };
    let metrics_path = out.join("metrics.jsonl");
    let state = match prior {
        Some(s) => {
            checkpoint::load_vs(out, "model", &mut vs)?;
            checkpoint::load_optim(out, &mut sgd)?;
            if let Some(e) = ema.as_mut() {
                checkpoint::load_vs(out, "ema", &mut e.vs)?;
                e.n_averaged = s.ema_n_averaged;
                e.pair_with(&vs);
            }
            truncate_metrics(&metrics_path, s.epoch)?;
            s
        }
        None => {
            // A fresh run starts a fresh log.
            if metrics_path.exists() {
                std::fs::remove_file(&metrics_path)?;
            }
            State {
                version: checkpoint::STATE_VERSION,
                epoch: -1,
                global_step: 0,
                loss_scale: if amp { SCALE_INIT } else { 1.0 },
                good_steps: 0,
                ema_n_averaged: 0,
                seed: r.seed,
                recipe_hash: hash,
            }
        }
    };
    let mut log = MetricsWriter::append(&metrics_path)
        .with_context(|| format!("opening {}", metrics_path.display()))?;
    let mut emit = |ev: MetricEvent| -> Result<()> {
        log.write(&ev)
            .with_context(|| format!("writing {}", metrics_path.display()))?;
        on_event(&ev);
        Ok(())
    };
    let iters = num_train_batches(train_images, r).div_ceil(r.world_size.max(1) as usize) as i64;
    emit(MetricEvent::Start {
        version: METRICS_FORMAT_VERSION,
        time: crate::store::time::now(),
        seed: r.seed,
        device: meta.device.clone(),
        start_epoch: state.epoch + 1,
        epochs: r.epochs,
        iters_per_epoch: iters,
        train_images: train_images as i64,
        val_images: ds.val.len() as i64,
    })?;

    let mut run = Run {
        r,
        ds,
        device,
        amp,
        vs,
        model,
        sgd,
        ema,
        state,
        num_classes,
        workers: workers(),
    };
    for epoch in (run.state.epoch + 1)..r.epochs {
        match run.epoch(epoch, &mut emit)? {
            Some(diverged) => {
                emit(diverged)?;
                write_summary(out, "diverged", started)?;
                return Ok(Outcome::Diverged);
            }
            None => {
                run.state.epoch = epoch;
                run.state.ema_n_averaged = run.ema.as_ref().map_or(0, |e| e.n_averaged);
                checkpoint::save(
                    out,
                    &run.vs,
                    run.ema.as_ref().map(|e| &e.vs),
                    &run.sgd,
                    &run.state,
                )?;
            }
        }
        if opts.stop_after_epoch == Some(epoch + 1) && epoch + 1 < r.epochs {
            return Ok(Outcome::Stopped);
        }
    }
    emit(MetricEvent::Done {
        time: crate::store::time::now(),
    })?;
    write_summary(out, "done", started)?;
    Ok(Outcome::Done)
}

impl Run<'_> {
    /// One epoch of training, then evaluation of the raw and EMA models. Returns a Diverged
    /// event when a loss was not finite.
    fn epoch(
        &mut self,
        epoch: i64,
        emit: &mut dyn FnMut(MetricEvent) -> Result<()>,
    ) -> Result<Option<MetricEvent>> {
        let r = self.r;
        let t0 = Instant::now();
        // Per-epoch torch seed: resume at an epoch boundary replays the same random stream.
        tch::manual_seed(seed_i64(&[r.seed, epoch as u64, 0x65706f63]));
        let lr = lr_at_epoch(r, epoch);
        let world = r.world_size.max(1) as usize;
        let nb = num_train_batches(self.ds.train.len(), r);
        let in_warmup = epoch < r.lr_warmup_epochs;
        let dev = self.device;
        let zero = || Tensor::zeros([], (Kind::Float, dev));
        let (mut loss_sum, mut c1, mut c5) = (zero(), zero(), zero());
        let mut seen = 0usize;
        let mut window: Vec<Tensor> = Vec::new();
        let (mut window_images, mut window_t) = (0usize, Instant::now());
        let mut group_loss = zero();
        let mut in_group = 0usize;
        let mut step_in_epoch = 0i64;
        self.sgd.zero_grad();
        for (bi, batch) in train_batches(&self.ds, r, r.seed, epoch, self.workers)?.enumerate() {
            let b = batch?;
            let (x, labels) = augment::to_device(&b, self.ds.mean, self.ds.std, dev);
            let mix = augment::draw_mix(r, r.seed, epoch, bi as u64, b.h as i64, b.w as i64);
            let (x, target) = augment::apply_mix(x, &labels, self.num_classes, mix);
            let logits = model::forward(&self.model, &x, true, self.amp);
            let loss = augment::loss(&logits, &target, r.label_smoothing);
            (&loss * (self.state.loss_scale / world as f64)).backward();
            tch::no_grad(|| {
                let loss = loss.detach();
                let (a1, a5) =
                    augment::correct_top1_top5(&logits.detach(), &augment::hard_labels(&target));
                loss_sum += &loss;
                group_loss += loss;
                c1 += a1;
                c5 += a5;
            });
            seen += b.n;
            window_images += b.n;
            in_group += 1;
            if in_group < world && bi + 1 < nb {
                continue;
            }
            // One optimizer step over the group's micro-batches.
            let unscale = world as f64 / in_group as f64 / self.state.loss_scale;
            let finite = if self.amp {
                self.sgd
                    .scale_grads(&Tensor::from(unscale as f32).to_device(dev));
                let ok = self.sgd.grad_norm().isfinite().int64_value(&[]) != 0;
                self.update_scale(ok);
                ok
            } else {
                if unscale != 1.0 {
                    self.sgd
                        .scale_grads(&Tensor::from(unscale as f32).to_device(dev));
                }
                true
            };
            if finite {
                if let Some(max) = r.clip_grad_norm {
                    let _ = self.sgd.clip_grad_norm(max);
                }
                self.sgd.step(lr);
            }
            self.sgd.zero_grad();
            if let Some(e) = self.ema.as_mut() {
                if step_in_epoch % r.model_ema_steps.max(1) == 0 {
                    e.update(in_warmup);
                }
            }
            window.push(&group_loss / in_group as f64);
            group_loss = zero();
            in_group = 0;
            step_in_epoch += 1;
            self.state.global_step += 1;
            if self.state.global_step % LOG_EVERY == 0 || bi + 1 == nb {
                let losses = Vec::<f64>::try_from(
                    Tensor::stack(&window, 0)
                        .to_kind(Kind::Double)
                        .to_device(Device::Cpu),
                )?;
                if let Some(k) = losses.iter().position(|l| !l.is_finite()) {
                    let step = self.state.global_step - (losses.len() - k) as i64 + 1;
                    return Ok(Some(MetricEvent::Diverged {
                        epoch,
                        global_step: step,
                        loss: losses[k],
                    }));
                }
                let dt = window_t.elapsed().as_secs_f64().max(1e-9);
                emit(MetricEvent::Step {
                    epoch,
                    iter: step_in_epoch - 1,
                    global_step: self.state.global_step,
                    loss: losses.iter().sum::<f64>() / losses.len() as f64,
                    lr,
                    images_per_sec: window_images as f64 / dt,
                })?;
                window.clear();
                window_images = 0;
                window_t = Instant::now();
            }
        }
        let train_time = t0.elapsed().as_secs_f64();
        let sums = Vec::<f64>::try_from(
            Tensor::stack(&[loss_sum, c1, c5], 0)
                .to_kind(Kind::Double)
                .to_device(Device::Cpu),
        )?;
        let n = seen.max(1) as f64;
        let val = evaluate_model(&self.model, &self.ds, r, None, dev, self.workers)?;
        let ema: Option<Eval> = match &self.ema {
            Some(e) => Some(evaluate_model(
                &e.model,
                &self.ds,
                r,
                None,
                dev,
                self.workers,
            )?),
            None => None,
        };
        emit(MetricEvent::Epoch {
            epoch,
            lr,
            // torchvision's MetricLogger: loss averaged over batches, accuracy over images.
            train_loss: sums[0] / nb.max(1) as f64,
            train_acc1: 100.0 * sums[1] / n,
            train_acc5: 100.0 * sums[2] / n,
            val,
            ema,
            epoch_time_s: t0.elapsed().as_secs_f64(),
            images_per_sec: seen as f64 / train_time.max(1e-9),
        })?;
        Ok(None)
    }

    /// GradScaler's update: x0.5 after a non-finite step, x2 after 2000 finite ones.
    fn update_scale(&mut self, finite: bool) {
        let s = &mut self.state;
        if finite {
            s.good_steps += 1;
            if s.good_steps >= SCALE_GROWTH_INTERVAL {
                s.loss_scale *= 2.0;
                s.good_steps = 0;
            }
        } else {
            s.loss_scale *= 0.5;
            s.good_steps = 0;
        }
    }
}

/// Keeps the log up to (and including) the Epoch event of `last_epoch`; drops what came after.
fn truncate_metrics(path: &Path, last_epoch: i64) -> Result<()> {
    let events = read_events(path)?;
    let end = events
        .iter()
        .rposition(|e| matches!(e, MetricEvent::Epoch { epoch, .. } if *epoch == last_epoch))
        .map_or(0, |k| k + 1);
    let mut text = String::new();
    for e in &events[..end] {
        text.push_str(&serde_json::to_string(e)?);
        text.push('\n');
    }
    write_atomic(path, text.as_bytes()).with_context(|| format!("rewriting {}", path.display()))
}

/// Builds summary.json from the metrics log (the last Epoch event of each epoch counts).
/// (raw, EMA, images/s) of one epoch.
type EpochRow = (Eval, Option<Eval>, f64);

pub fn summarize(events: &[MetricEvent], status: &str, duration_s: f64) -> Summary {
    let mut by_epoch: std::collections::BTreeMap<i64, EpochRow> = Default::default();
    for e in events {
        if let MetricEvent::Epoch {
            epoch,
            val,
            ema,
            images_per_sec,
            ..
        } = e
        {
            by_epoch.insert(*epoch, (*val, *ema, *images_per_sec));
        }
    }
    let last = by_epoch.values().last();
    let best = |f: &dyn Fn(&EpochRow) -> Option<Eval>| {
        by_epoch
            .iter()
            .filter_map(|(k, v)| f(v).map(|e| (*k, e)))
            .fold(None, |acc: Option<(i64, Eval)>, (k, e)| match acc {
                Some((_, b)) if b.acc1 >= e.acc1 => acc,
                _ => Some((k, e)),
            })
    };
    let raw_best = best(&|v| Some(v.0));
    let ema_best = best(&|v| v.1);
    let ips: Vec<f64> = by_epoch.values().map(|v| v.2).collect();
    Summary {
        version: 1,
        status: status.into(),
        epochs: by_epoch.len() as i64,
        final_acc1: last.map_or(0.0, |v| v.0.acc1),
        final_acc5: last.map_or(0.0, |v| v.0.acc5),
        best_acc1: raw_best.map_or(0.0, |b| b.1.acc1),
        best_acc5: raw_best.map_or(0.0, |b| b.1.acc5),
        best_epoch: raw_best.map_or(-1, |b| b.0),
        ema_final_acc1: last.and_then(|v| v.1).map(|e| e.acc1),
        ema_final_acc5: last.and_then(|v| v.1).map(|e| e.acc5),
        ema_best_acc1: ema_best.map(|b| b.1.acc1),
        ema_best_acc5: ema_best.map(|b| b.1.acc5),
        ema_best_epoch: ema_best.map(|b| b.0),
        images_per_sec: if ips.is_empty() {
            0.0
        } else {
            ips.iter().sum::<f64>() / ips.len() as f64
        },
        duration_s,
    }
}

fn write_summary(out: &Path, status: &str, started: Instant) -> Result<()> {
    let events = read_events(&out.join("metrics.jsonl"))?;
    let s = summarize(&events, status, started.elapsed().as_secs_f64());
    write_json_atomic(&out.join("summary.json"), &s)
        .with_context(|| format!("writing {}/summary.json", out.display()))
}

/// The reference for engine overhead: a bare forward/backward/SGD-step loop.
pub struct BareLoop {
    pub images_per_sec: f64,
    pub batches: usize,
    /// Trainable parameters of the model (compare with torchvision's `p.numel()` sum).
    pub params: i64,
}

/// `steps` forward/backward/step iterations of a throwaway model on random input of the
/// recipe's batch shape: creates libtorch's one-time state (oneDNN primitives, allocator
/// pools) so that timed loops after it, in this process, start warm.
pub fn warm_up(r: &Recipe, device: Device, num_classes: i64, steps: usize) -> Result<()> {
    let vs = VarStore::new(device);
    let model = model::build(&vs.root(), r, num_classes)?;
    let mut sgd = Sgd::new(&vs, r);
    let c = r.train_crop_size;
    let x = Tensor::randn([r.batch_size, 3, c, c], (Kind::Float, device));
    let y = Tensor::zeros([r.batch_size], (Kind::Int64, device));
    for _ in 0..steps {
        let loss = augment::loss(&model.forward_t(&x, true), &y, r.label_smoothing);
        sgd.zero_grad();
        loss.backward();
        sgd.step(r.lr);
    }
    let _ = f64::try_from(vs.trainable_variables()[0].sum(Kind::Float))?;
    Ok(())
}

/// Pre-loaded input is capped at this many bytes of float pixels.
const BARE_LOOP_MAX_BYTES: usize = 1 << 30;

/// Images/s of a bare forward/backward/SGD-step loop over the first epoch's training batches,
/// loaded (and moved to the device) beforehand: the same batches, count and first-step
/// warm-up as the engine's epoch, up to `BARE_LOOP_MAX_BYTES` of input.
pub fn bare_loop(r: &Recipe, device: Device) -> Result<BareLoop> {
    let ds = data::open(&r.dataset)?;
    let crop = r.train_crop_size.max(1) as usize;
    let per_batch = r.batch_size.max(1) as usize * 3 * crop * crop * 4;
    let max_batches = (BARE_LOOP_MAX_BYTES / per_batch).max(1);
    let batches: Vec<(Tensor, Tensor)> = train_batches(&ds, r, r.seed, 0, workers())?
        .take(max_batches)
        .map(|b| b.map(|b| augment::to_device(&b, ds.mean, ds.std, device)))
        .collect::<Result<_>>()?;
    // Same initialisation as the engine's run.
    tch::manual_seed(seed_i64(&[r.seed, 0x696e6974]));
    let vs = VarStore::new(device);
    let model = model::build(&vs.root(), r, ds.num_classes as i64)?;
    let params = vs
        .trainable_variables()
        .iter()
        .map(|t| t.numel() as i64)
        .sum();
    let mut sgd = Sgd::new(&vs, r);
    let t0 = Instant::now();
    let mut n = 0;
    for (x, y) in &batches {
        let loss = augment::loss(&model.forward_t(x, true), y, r.label_smoothing);
        sgd.zero_grad();
        loss.backward();
        sgd.step(r.lr);
        n += x.size()[0];
    }
    let _ = f64::try_from(vs.trainable_variables()[0].sum(Kind::Float))?; // wait for the device
    Ok(BareLoop {
        images_per_sec: n as f64 / t0.elapsed().as_secs_f64().max(1e-9),
        batches: batches.len(),
        params,
    })
}
