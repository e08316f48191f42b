//! The resolved hyper-parameters of one training run, named like the flags of
//! torchvision's `references/classification/train.py` (dashes become underscores).
//! Defaults are torchvision's defaults; ablate's own additions are marked.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Recipe {
    /// `--model`: resnet18/34/50/101/152, resnext50_32x4d, resnext101_32x8d, wide_resnet50_2.
    pub model: String,
    /// ablate: `imagenet` (7x7 conv + max-pool) or `small` (3x3 conv, no max-pool) for 28-32 px data.
    pub stem: Stem,
    /// ablate (torchvision has no flag; the reference leaves it False): zero-init the last BN of each block.
    pub zero_init_residual: bool,
    /// ablate: channels of the first stage (torchvision: 64). Smaller values make a narrow
    /// ResNet for small-image studies on a CPU; torchvision has no such flag.
    pub base_width: i64,
    /// `--data-path`, or an embedded/synthetic dataset name (see engine::data).
    pub dataset: String,
    /// `-b/--batch-size`: per device, torchvision meaning.
    pub batch_size: i64,
    /// Number of devices of the reference run; global batch = batch_size x world_size.
    pub world_size: i64,
    pub epochs: i64,
    pub opt: String,
    pub lr: f64,
    pub momentum: f64,
    pub weight_decay: f64,
    pub norm_weight_decay: Option<f64>,
    pub bias_weight_decay: Option<f64>,
    pub label_smoothing: f64,
    pub mixup_alpha: f64,
    pub cutmix_alpha: f64,
    pub lr_scheduler: LrScheduler,
    pub lr_warmup_epochs: i64,
    pub lr_warmup_method: WarmupMethod,
    pub lr_warmup_decay: f64,
    pub lr_step_size: i64,
    pub lr_gamma: f64,
    pub lr_min: f64,
    pub auto_augment: AutoAugment,
    pub ra_magnitude: i64,
    pub augmix_severity: i64,
    pub random_erase: f64,
    pub model_ema: bool,
    pub model_ema_steps: i64,
    pub model_ema_decay: f64,
    /// ablate: how the nominal EMA decay is rescaled (issue 9).
    pub model_ema_adjust: EmaAdjust,
    pub interpolation: Interpolation,
    pub train_crop_size: i64,
    pub val_resize_size: i64,
    pub val_crop_size: i64,
    pub amp: bool,
    pub clip_grad_norm: Option<f64>,
    pub ra_sampler: bool,
    pub ra_reps: i64,
    pub sync_bn: bool,
    /// ablate: drop the last partial training batch (torchvision never does).
    pub drop_last: bool,
    /// Run seed. Not part of the recipe hash: runs are (recipe, seed).
    pub seed: u64,
}

impl Default for Recipe {
    fn default() -> Self {
        Recipe {
            model: "resnet18".into(),
            stem: Stem::Imagenet,
            zero_init_residual: false,
            base_width: 64,
            dataset: "fashion-mnist".into(),
            batch_size: 32,
            world_size: 1,
            epochs: 90,
            opt: "sgd".into(),
            lr: 0.1,
            momentum: 0.9,
            weight_decay: 1e-4,
            norm_weight_decay: None,
            bias_weight_decay: None,
            label_smoothing: 0.0,
            mixup_alpha: 0.0,
            cutmix_alpha: 0.0,
            lr_scheduler: LrScheduler::Steplr,
            lr_warmup_epochs: 0,
            lr_warmup_method: WarmupMethod::Constant,
            lr_warmup_decay: 0.01,
            lr_step_size: 30,
            lr_gamma: 0.1,
            lr_min: 0.0,
            auto_augment: AutoAugment::None,
            ra_magnitude: 9,
            augmix_severity: 3,
            random_erase: 0.0,
            model_ema: false,
            model_ema_steps: 32,
            model_ema_decay: 0.99998,
            model_ema_adjust: EmaAdjust::Torchvision,
            interpolation: Interpolation::Bilinear,
            train_crop_size: 224,
            val_resize_size: 256,
            val_crop_size: 224,
            amp: false,
            clip_grad_norm: None,
            ra_sampler: false,
            ra_reps: 3,
            sync_bn: false,
            drop_last: false,
            seed: 0,
        }
    }
}

impl Recipe {
    pub fn global_batch(&self) -> i64 {
        self.batch_size * self.world_size
    }
    pub fn nesterov(&self) -> bool {
        self.opt.contains("nesterov")
    }
}

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($var:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $(#[serde(rename = $s)] $var),+ }
        impl $name {
            pub const ALL: &'static [&'static str] = &[$($s),+];
            pub fn as_str(self) -> &'static str { match self { $($name::$var => $s),+ } }
        }
        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s { $($s => Ok($name::$var),)+
                    _ => Err(format!("unknown value `{s}`; allowed: {}", Self::ALL.join(", "))) }
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

string_enum!(Stem { Imagenet = "imagenet", Small = "small" });
string_enum!(LrScheduler { Steplr = "steplr", Cosineannealinglr = "cosineannealinglr", Exponentiallr = "exponentiallr" });
string_enum!(WarmupMethod { Constant = "constant", Linear = "linear" });
string_enum!(AutoAugment { None = "none", TaWide = "ta_wide", Ra = "ra", Imagenet = "imagenet", Augmix = "augmix" });
string_enum!(Interpolation { Bilinear = "bilinear", Bicubic = "bicubic", Nearest = "nearest" });
string_enum!(
    /// `torchvision`: d_eff = 1 - min(1, (1-decay) * global_batch * steps / epochs).
    /// `dataset`: rescale so the averaging window is the same fraction of training as on ImageNet.
    EmaAdjust { Torchvision = "torchvision", Dataset = "dataset" }
);
