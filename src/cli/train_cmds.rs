//! `train`, `evaluate`, `bench` (owner: engine).
use super::PresetArgs;
use crate::engine::eval::{evaluate_run, evaluate_sweep_on};
use crate::engine::train::{self, Outcome, TrainOptions};
use crate::recipe::{parse_set, Recipe};
use crate::store::metrics::{Eval, MetricEvent};
use anyhow::{bail, Context, Result};
use std::io::IsTerminal;
use std::path::Path;

/// Exit codes the scheduler relies on: 0 done, 3 diverged, anything else failed.
pub const EXIT_DIVERGED: i32 = 3;
/// `ABLATE_STOP_AFTER_EPOCH` stop: the code of a process killed by SIGKILL.
pub const EXIT_STOPPED: i32 = 137;

pub struct TrainArgs<'a> {
    pub preset: &'a PresetArgs,
    pub row: usize,
    pub seed: u64,
    pub out: &'a Path,
    pub resume: bool,
    pub device: Option<&'a str>,
}

/// The resolved recipe of one row of a preset, with the run seed set.
pub fn row_recipe(preset: &PresetArgs, row: usize, seed: u64) -> Result<Recipe> {
    let study = crate::recipe::resolve_study(preset)?;
    let rows = crate::plan::expand(&study)?;
    let n = rows.len();
    let mut r = rows
        .into_iter()
        .nth(row)
        .map(|row| row.recipe)
        .with_context(|| {
            format!(
                "--row {row}: the preset {} has rows 0..{}",
                preset.preset,
                n - 1
            )
        })?;
    r.seed = seed;
    Ok(r)
}

/// One line per epoch for a human at a terminal; nothing otherwise (the scheduler logs to a file).
fn progress_line(ev: &MetricEvent) -> Option<String> {
    match ev {
        MetricEvent::Start { device, start_epoch, epochs, .. } => Some(format!("training on {device}, epochs {start_epoch}..{epochs}")),
        MetricEvent::Epoch { epoch, lr, train_loss, val, ema, epoch_time_s, images_per_sec, .. } => Some(format!(
            "epoch {epoch}: lr {lr:.5} train loss {train_loss:.4} val acc@1 {:.2} acc@5 {:.2}{} ({epoch_time_s:.1}s, {images_per_sec:.0} img/s)",
            val.acc1,
            val.acc5,
            ema.map(|e| format!(" ema acc@1 {:.2}", e.acc1)).unwrap_or_default()
        )),
        MetricEvent::Diverged { global_step, loss, .. } => Some(format!("diverged at step {global_step} (loss {loss})")),
        _ => None,
    }
}

pub fn train(args: TrainArgs<'_>) -> Result<i32> {
    let recipe = row_recipe(args.preset, args.row, args.seed)?;
    let device = crate::engine::device::choose(args.device)?;
    let tty = std::io::stdout().is_terminal();
    if tty && recipe.amp && !device.is_cuda() {
        println!("amp requested but the device is the CPU: training in fp32");
    }
    let opts = TrainOptions {
        recipe,
        out: args.out.to_path_buf(),
        resume: args.resume,
        device,
        command_line: std::env::args().collect(),
        stop_after_epoch: std::env::var("ABLATE_STOP_AFTER_EPOCH")
            .ok()
            .and_then(|s| s.parse().ok()),
        threads: None,
    };
    let outcome = train::run(&opts, &mut |ev| {
        if tty {
            if let Some(l) = progress_line(ev) {
                println!("{l}");
            }
        }
    })?;
    Ok(match outcome {
        Outcome::Done => 0,
        Outcome::Diverged => EXIT_DIVERGED,
        Outcome::Stopped => EXIT_STOPPED,
    })
}

fn eval_line(label: &str, e: &Eval) -> String {
    format!(
        "{label}: loss {:.4} acc@1 {:.2} acc@5 {:.2}",
        e.loss, e.acc1, e.acc5
    )
}

/// `ablate evaluate RUN_DIR [--set k=v]... [--sweep k=v1,v2,...] [--device D]`.
pub fn evaluate(
    run_dir: &Path,
    set: &[String],
    sweep: Option<&str>,
    device: Option<&str>,
) -> Result<i32> {
    let device = crate::engine::device::choose(device)?;
    train::configure_threads(None);
    let overrides = set
        .iter()
        .map(|kv| parse_set(kv))
        .collect::<Result<Vec<_>>>()?;
    if let Some(spec) = sweep {
        if !overrides.is_empty() {
            bail!("--sweep and --set cannot be combined: the sweep evaluates the run's own recipe");
        }
        let (param, list) = spec
            .split_once('=')
            .with_context(|| format!("--sweep `{spec}`: expected KEY=V1,V2,..."))?;
        let values = list
            .split(',')
            .map(|v| {
                v.trim()
                    .parse::<i64>()
                    .with_context(|| format!("--sweep {param}: `{v}` is not an integer"))
            })
            .collect::<Result<Vec<_>>>()?;
        for ev in evaluate_sweep_on(run_dir, param.trim(), &values, device)? {
            if let MetricEvent::Sweep {
                param,
                value,
                half,
                model,
                eval,
            } = ev
            {
                println!(
                    "{}",
                    eval_line(&format!("{param}={value} half {half} {model}"), &eval)
                );
            }
        }
        return Ok(0);
    }
    let (raw, ema) = evaluate_run(run_dir, &overrides, device)?;
    println!("{}", eval_line("raw", &raw));
    if let Some(e) = ema {
        println!("{}", eval_line("ema", &e));
    }
    Ok(0)
}
/// `ablate bench <what> ...` (see BENCHMARKS.md).
pub fn bench(args: &[String]) -> Result<i32> {
    match args.first().map(String::as_str) {
        Some("train") => bench_train(&args[1..]),
        Some("transforms") => {
            let report = crate::engine::data::bench::transforms_cli(&args[1..])?;
            println!("{report}");
            Ok(0)
        }
        Some("tui") => {
            print!("{}", crate::tui::bench::report());
            Ok(0)
        }
        other => bail!(
            "bench `{}`: allowed: train [PRESET] [--row N] [--set KEY=VALUE]... [--data PATH] [--device D] | transforms --images DIR [--threads N] | tui",
            other.unwrap_or("")
        ),
    }
}

/// Untimed steps before `bench train`'s timed loops.
const WARM_UP_STEPS: usize = 2;

/// Images/s of one training epoch of a preset's row (default: `fashion-mnist-quick`, row 0),
/// and of a bare forward/backward/step loop over the same, pre-loaded batches: the difference
/// is the engine's overhead (input pipeline, per-batch device work, metrics, eval excluded).
/// `scripts/bench_torchvision_train.py` is the PyTorch side of the same epoch.
fn bench_train(args: &[String]) -> Result<i32> {
    let mut preset = PresetArgs {
        preset: "fashion-mnist-quick".into(),
        ..Default::default()
    };
    let mut device = None;
    let mut row = 0;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--set" => preset
                .set
                .push(it.next().context("--set needs KEY=VALUE")?.clone()),
            "--data" => preset.data = Some(it.next().context("--data needs a PATH")?.clone()),
            "--row" => {
                let v = it.next().context("--row needs a row number")?;
                row = v
                    .parse()
                    .with_context(|| format!("--row `{v}`: expected a row number"))?;
            }
            "--device" => device = Some(it.next().context("--device needs a value")?.clone()),
            p if !p.starts_with('-') => preset.preset = p.into(),
            other => bail!(
                "bench train: unknown flag `{other}`; allowed: --row, --set, --data, --device"
            ),
        }
    }
    // One epoch at the row's peak LR: the schedule does not change the work per step.
    preset.set.push("epochs=1".into());
    preset.set.push("lr_warmup_epochs=0".into());
    let r = row_recipe(&preset, row, 0)?;
    let device = crate::engine::device::choose(device.as_deref())?;
    // Both timed loops start warm: libtorch's one-time kernel setup would otherwise fall on
    // the engine's epoch, which runs first (scripts/bench_torchvision_train.py warms up too).
    train::configure_threads(None);
    let num_classes = crate::engine::data::open(&r.dataset)?.num_classes as i64;
    train::warm_up(&r, device, num_classes, WARM_UP_STEPS)?;
    let tmp = std::env::temp_dir().join(format!("ablate-bench-{}", std::process::id()));
    let opts = TrainOptions {
        recipe: r.clone(),
        out: tmp.clone(),
        resume: false,
        device,
        command_line: vec![],
        stop_after_epoch: None,
        threads: None,
    };
    let (mut engine_ips, mut images) = (0.0, 0);
    train::run(&opts, &mut |ev| match ev {
        MetricEvent::Epoch { images_per_sec, .. } => engine_ips = *images_per_sec,
        MetricEvent::Start { train_images, .. } => images = *train_images,
        _ => {}
    })?;
    let _ = std::fs::remove_dir_all(&tmp);
    let bare = crate::engine::train::bare_loop(&r, device)?;
    println!(
        "{} row {row} ({} stem {} base_width {} ({} params), crop {}, batch {}, {} images) on {}, {} threads, {} workers: \
         engine {:.1} img/s, bare loop {:.1} img/s over {} batches, overhead {:.1} %",
        preset.preset,
        r.model,
        r.stem,
        r.base_width,
        bare.params,
        r.train_crop_size,
        r.batch_size,
        images,
        crate::engine::device::device_name(device),
        tch::get_num_threads(),
        train::workers(),
        engine_ips,
        bare.images_per_sec,
        bare.batches,
        100.0 * (1.0 - engine_ips / bare.images_per_sec)
    );
    Ok(0)
}
