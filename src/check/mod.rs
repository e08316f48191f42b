//! Recipe pitfalls found before a GPU hour is spent. Pure: the caller supplies what it knows
//! about the dataset and the machine in `CheckContext`.
//! CONTRACT (TUI and queue use these names): Finding, Severity, CheckContext, check_study.
use crate::plan::{expand_unvalidated, Row};
use crate::recipe::{ema, Recipe, Study};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The run would crash (or torchvision would refuse it).
    Error,
    /// An ingredient will not do what its name says.
    Warning,
    Note,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub row: usize,
    pub severity: Severity,
    pub code: &'static str,
    /// One line, with the numbers behind it.
    pub message: String,
    /// A fix applicable as `--set key=value`.
    pub fix: Option<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CheckContext {
    pub train_images: Option<usize>,
    /// (width, height) of the training images, when all share one size.
    pub image_size: Option<(usize, usize)>,
    pub cuda: bool,
}

impl CheckContext {
    /// What is known without opening the data: the embedded datasets' sizes.
    pub fn for_dataset(dataset: &str, cuda: bool) -> CheckContext {
        let (train_images, image_size) = if dataset == "fashion-mnist" {
            // The embedded subset (assets/fashion-mnist): 10,000 train images, 28x28.
            (Some(10_000), Some((28, 28)))
        } else if let Some(rest) = dataset.strip_prefix("synthetic") {
            // engine::data: `synthetic[:N]`, N train images (default 256), 32x32.
            let n = rest.trim_start_matches(':').parse().unwrap_or(256);
            (Some(n), Some((32, 32)))
        } else {
            (None, None)
        };
        CheckContext {
            train_images,
            image_size,
            cuda,
        }
    }
}

fn finding(
    row: usize,
    severity: Severity,
    code: &'static str,
    message: String,
    fix: Option<(&str, String)>,
) -> Finding {
    Finding {
        row,
        severity,
        code,
        message,
        fix: fix.map(|(k, v)| (k.to_string(), v)),
    }
}

/// All findings for every row of the study's plan, in row order.
pub fn check_study(study: &Study, ctx: &CheckContext) -> Vec<Finding> {
    let rows = match expand_unvalidated(study) {
        Ok(rows) => rows,
        Err(e) => return vec![finding(0, Severity::Error, "plan", format!("{e:#}"), None)],
    };
    let mut out = Vec::new();
    if ctx.train_images.is_none() {
        out.push(finding(
            0,
            Severity::Note,
            "dataset-size-unknown",
            format!(
                "dataset `{}`: size not known before opening it; EMA and last-batch checks skipped",
                study.baseline_dataset()
            ),
            None,
        ));
    }
    let base = &rows[0].recipe;
    // An eval-only row re-evaluates the previous row's runs: its recipe was checked there.
    for row in rows.iter().filter(|r| r.eval_sweep.is_none()) {
        let r = &row.recipe;
        let i = row.index;
        invalid_values(i, r, &mut out);
        warmup(i, r, &mut out);
        if let Some(n) = ctx.train_images {
            if r.model_ema {
                ema_window(i, r, n, &mut out);
            }
            last_batch(i, r, n, &mut out);
        }
        lr_scaling(i, base, r, &mut out);
        crops(i, r, ctx.image_size, &mut out);
        no_op_flags(i, r, ctx.cuda, &mut out);
    }
    ingredients(study, &rows, &mut out);
    out.sort_by_key(|f| (f.row, f.severity));
    out
}

/// Value errors not covered by a dedicated check below.
fn invalid_values(row: usize, r: &Recipe, out: &mut Vec<Finding>) {
    for msg in r.validate() {
        if !msg.starts_with("lr_warmup_epochs") {
            out.push(finding(row, Severity::Error, "invalid", msg, None));
        }
    }
}

fn warmup(row: usize, r: &Recipe, out: &mut Vec<Finding>) {
    use crate::recipe::LrScheduler::Cosineannealinglr;
    let (w, e) = (r.lr_warmup_epochs, r.epochs);
    let cosine = r.lr_scheduler == Cosineannealinglr;
    if e >= 1 && (w > e || (cosine && w == e)) {
        let why = if w > e {
            "longer than training"
        } else {
            "leaves CosineAnnealingLR T_max = epochs - warmup = 0 (torchvision divides by it)"
        };
        out.push(finding(
            row,
            Severity::Error,
            "warmup-too-long",
            format!("lr_warmup_epochs = {w} with epochs = {e}: {why}"),
            Some(("lr_warmup_epochs", ((e - 1).max(0)).to_string())),
        ));
    }
}

/// The EMA must move away from its starting weights and average over less than the run.
fn ema_window(row: usize, r: &Recipe, n: usize, out: &mut Vec<Finding>) {
    let alpha = ema::ema_alpha(r, n);
    let per_epoch = ema::ema_updates_per_epoch(r, n);
    // Updates during warmup are copies (n_averaged reset): blending starts at epoch W.
    let blending = per_epoch * (r.epochs - r.lr_warmup_epochs).max(0) as usize;
    let fix = (r.model_ema_adjust == crate::recipe::EmaAdjust::Torchvision)
        .then(|| ("model_ema_adjust", "dataset".to_string()));
    if alpha >= 1.0 {
        out.push(finding(
            row,
            Severity::Warning,
            "ema-copy",
            format!(
                "EMA decay rescales to d_eff = 0 (alpha = (1 - {}) x adjust capped at 1): the EMA is a copy of the live model, no averaging",
                r.model_ema_decay
            ),
            None,
        ));
        return;
    }
    let window = 1.0 / alpha;
    if window > blending as f64 {
        let kept = (1.0 - alpha).powf(blending as f64);
        out.push(finding(
            row,
            Severity::Warning,
            "ema-window",
            format!(
                "EMA time constant {window:.0} updates > {blending} updates in the run \
                 (d_eff = {:.6}, {per_epoch}/epoch): it keeps {:.0}% of its initial weights",
                1.0 - alpha,
                kept * 100.0
            ),
            fix,
        ));
    }
}

/// BatchNorm in train mode cannot normalise a batch of one sample: torch raises.
fn last_batch(row: usize, r: &Recipe, n: usize, out: &mut Vec<Finding>) {
    if r.drop_last {
        return;
    }
    let gb = r.global_batch().max(1) as usize;
    // Per device, as DistributedSampler splits it (ceil(N / world) images per rank).
    let per_rank = n.div_ceil(r.world_size.max(1) as usize);
    let last_global = n % gb;
    let last_rank = per_rank % r.batch_size.max(1) as usize;
    if last_global == 1 || last_rank == 1 {
        out.push(finding(
            row,
            Severity::Error,
            "bn-last-batch",
            format!(
                "{n} images in batches of {} x {}: the last batch holds 1 image and BatchNorm fails on it",
                r.batch_size, r.world_size
            ),
            Some(("drop_last", "true".into())),
        ));
    }
}

fn lr_scaling(row: usize, base: &Recipe, r: &Recipe, out: &mut Vec<Finding>) {
    let (b0, b) = (base.global_batch(), r.global_batch());
    if row > 0 && b != b0 && r.lr == base.lr {
        let scaled = base.lr * b as f64 / b0 as f64;
        out.push(finding(
            row,
            Severity::Note,
            "lr-not-scaled",
            format!(
                "global batch {b0} -> {b} with lr unchanged at {}: the linear scaling rule gives {scaled} (torchvision never scales it for you)",
                r.lr
            ),
            Some(("lr", scaled.to_string())),
        ));
    }
}

fn crops(row: usize, r: &Recipe, image: Option<(usize, usize)>, out: &mut Vec<Finding>) {
    if let Some((w, h)) = image {
        let side = w.min(h) as i64;
        if r.train_crop_size > side {
            out.push(finding(
                row,
                Severity::Warning,
                "train-crop-upsample",
                format!(
                    "train_crop_size = {} > the images' {w}x{h}: every training crop is upsampled",
                    r.train_crop_size
                ),
                Some(("train_crop_size", side.to_string())),
            ));
        }
    }
    if r.val_crop_size > r.val_resize_size {
        out.push(finding(
            row,
            Severity::Warning,
            "val-crop-gt-resize",
            format!(
                "val_crop_size = {} > val_resize_size = {}: CenterCrop pads the resized image with black",
                r.val_crop_size, r.val_resize_size
            ),
            Some(("val_crop_size", r.val_resize_size.to_string())),
        ));
    }
}

fn no_op_flags(row: usize, r: &Recipe, cuda: bool, out: &mut Vec<Finding>) {
    if r.sync_bn && r.world_size == 1 {
        out.push(finding(
            row,
            Severity::Note,
            "sync-bn-one-device",
            "sync_bn with world_size = 1: one process already sees the whole batch, a no-op".into(),
            Some(("sync_bn", "false".into())),
        ));
    }
    if r.ra_sampler && r.world_size == 1 {
        out.push(finding(
            row,
            Severity::Note,
            "ra-sampler-one-device",
            format!(
                "ra_sampler with world_size = 1: torchvision uses RASampler only when distributed, so its script ignores it (ra_reps = {})",
                r.ra_reps
            ),
            Some(("ra_sampler", "false".into())),
        ));
    }
    if r.amp && !cuda {
        out.push(finding(
            row,
            Severity::Warning,
            "amp-on-cpu",
            "amp on a machine without CUDA: torchvision's autocast/GradScaler are CUDA-only, the run is plain fp32".into(),
            Some(("amp", "false".into())),
        ));
    }
}

/// (word in the ingredient's name, code, is it off on its row?, what is off, fix key and value)
type NamedCheck<'a> = (&'a str, &'static str, bool, String, (&'a str, &'a str));

/// Checks on ingredients as named: Mixup/Cutmix with alpha 0, an ingredient that changes
/// nothing, an eval-only sweep placed before training ingredients.
fn ingredients(study: &Study, rows: &[Row], out: &mut Vec<Finding>) {
    let enabled: Vec<_> = study.ingredients.iter().filter(|i| i.enabled).collect();
    for ing in &enabled {
        let label = format!("+ {}", ing.name);
        let Some(pos) = rows.iter().position(|r| r.label == label) else {
            continue;
        };
        let r = &rows[pos].recipe;
        let name = ing.name.to_lowercase();
        let words: Vec<&str> = name.split(|c: char| !c.is_alphanumeric()).collect();
        let named = |w: &str| {
            if w.contains(' ') {
                name.contains(w)
            } else {
                words.contains(&w)
            }
        };
        let named_checks: [NamedCheck; 7] = [
            (
                "mixup",
                "mix-alpha-zero",
                r.mixup_alpha == 0.0,
                "mixup_alpha = 0".into(),
                ("mixup_alpha", "0.2"),
            ),
            (
                "cutmix",
                "mix-alpha-zero",
                r.cutmix_alpha == 0.0,
                "cutmix_alpha = 0".into(),
                ("cutmix_alpha", "1.0"),
            ),
            (
                "label smoothing",
                "ingredient-off",
                r.label_smoothing == 0.0,
                "label_smoothing = 0".into(),
                ("label_smoothing", "0.1"),
            ),
            (
                "random erasing",
                "ingredient-off",
                r.random_erase == 0.0,
                "random_erase = 0".into(),
                ("random_erase", "0.1"),
            ),
            (
                "ema",
                "ingredient-off",
                !r.model_ema,
                "model_ema = false".into(),
                ("model_ema", "true"),
            ),
            (
                "trivialaugment",
                "ingredient-off",
                r.auto_augment != crate::recipe::AutoAugment::TaWide,
                format!("auto_augment = \"{}\"", r.auto_augment),
                ("auto_augment", "ta_wide"),
            ),
            (
                "fixres",
                "ingredient-off",
                r.train_crop_size >= r.val_crop_size,
                format!(
                    "train_crop_size = {} is not below val_crop_size = {}",
                    r.train_crop_size, r.val_crop_size
                ),
                ("train_crop_size", ""),
            ),
        ];
        for (word, code, off, what, (key, fix)) in named_checks {
            if named(word) && off && ing.eval_sweep.is_none() {
                out.push(finding(
                    pos,
                    Severity::Warning,
                    code,
                    format!(
                        "ingredient \"{}\" is enabled but {what} on its row: it does nothing",
                        ing.name
                    ),
                    (!fix.is_empty()).then(|| (key, fix.to_string())),
                ));
            }
        }
        let stacked = study.plan.kind == crate::recipe::PlanKind::Stacked;
        if ing.eval_sweep.is_none() && pos > 0 && stacked && rows[pos - 1].recipe == *r {
            out.push(finding(
                pos,
                Severity::Warning,
                "ingredient-no-op",
                format!(
                    "ingredient \"{}\" changes nothing: its overrides equal the previous row's values",
                    ing.name
                ),
                None,
            ));
        }
    }
    if let Some(first_eval) = enabled.iter().position(|i| i.eval_sweep.is_some()) {
        if let Some(later) = enabled[first_eval + 1..]
            .iter()
            .find(|i| i.eval_sweep.is_none())
        {
            let ev = enabled[first_eval];
            let row = rows
                .iter()
                .position(|r| r.label == format!("+ {}", ev.name))
                .unwrap_or(0);
            out.push(finding(
                row,
                Severity::Warning,
                "eval-before-training",
                format!(
                    "eval-only \"{}\" comes before training ingredient \"{}\": its sweep is chosen on a model the final recipe no longer trains; move it last",
                    ev.name, later.name
                ),
                None,
            ));
        }
    }
}

#[cfg(test)]
mod tests;
