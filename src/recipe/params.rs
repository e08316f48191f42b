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
    /// ablate: smallest area fraction of RandomResizedCrop; unset = torchvision's fixed 0.08.
    /// For images far smaller than ImageNet's (28 px), where a 0.08 crop is 8 px wide.
    pub rrc_min_scale: Option<f64>,
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
    /// ablate: decode training JPEGs at a DCT-reduced scale (1/8..8/8) when the crop still has
    /// `train_crop_size` pixels per side; false gives torchvision's (Pillow's) exact pixels.
    /// Omitted from the canonical TOML when true, so recipe hashes predating it still hold.
    #[serde(skip_serializing_if = "is_true")]
    pub jpeg_scaled_decode: bool,
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
            rrc_min_scale: None,
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
            jpeg_scaled_decode: true,
            seed: 0,
        }
    }
}

/// The architectures `--model` accepts (those of torchvision's ResNet family ablate builds).
pub const MODELS: &[&str] = &[
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
    "resnext50_32x4d",
    "resnext101_32x8d",
    "wide_resnet50_2",
];

impl Recipe {
    pub fn global_batch(&self) -> i64 {
        self.batch_size * self.world_size
    }
    /// RandomResizedCrop's area scale range.
    pub fn rrc_scale(&self) -> (f64, f64) {
        (self.rrc_min_scale.unwrap_or(0.08), 1.0)
    }
    pub fn nesterov(&self) -> bool {
        self.opt.contains("nesterov")
    }

    /// Every key a recipe table may hold, in declaration order is not guaranteed (sorted).
    /// Derived from serde so it can never drift from the struct.
    pub fn keys() -> Vec<String> {
        full_table().keys().cloned().collect()
    }

    /// This recipe with one parameter replaced, the value checked against the key's type.
    /// Integers are accepted for float keys (`norm_weight_decay = 0`). Errors name the key
    /// and what is allowed; the caller adds the file and line.
    pub fn with_value(&self, key: &str, value: &toml::Value) -> Result<Recipe, String> {
        let types = full_table();
        let Some(template) = types.get(key) else {
            return Err(unknown_key_message(key, &Recipe::keys()));
        };
        let value = match (template, value) {
            (toml::Value::Float(_), toml::Value::Integer(i)) => toml::Value::Float(*i as f64),
            _ => value.clone(),
        };
        let mut table = toml::Table::try_from(self).expect("a recipe always serialises");
        table.insert(key.to_string(), value.clone());
        table
            .try_into::<Recipe>()
            .map_err(|e| format!("`{key}` = {value}: {}", first_line(&e.to_string())))
    }

    /// Semantic checks torchvision would crash on (or silently misread). Each message names the
    /// key, its value and what is allowed.
    pub fn validate(&self) -> Vec<String> {
        let mut errs = Vec::new();
        let mut need = |ok: bool, msg: String| {
            if !ok {
                errs.push(msg)
            }
        };
        need(
            MODELS.contains(&self.model.as_str()),
            format!(
                "model = \"{}\" is unknown; allowed: {}",
                self.model,
                MODELS.join(", ")
            ),
        );
        need(!self.dataset.is_empty(), "dataset is empty".into());
        need(
            self.epochs >= 1,
            format!("epochs = {} must be >= 1", self.epochs),
        );
        need(
            self.batch_size >= 1,
            format!("batch_size = {} must be >= 1", self.batch_size),
        );
        need(
            self.world_size >= 1,
            format!("world_size = {} must be >= 1", self.world_size),
        );
        need(
            self.base_width >= 1,
            format!("base_width = {} must be >= 1", self.base_width),
        );
        let opt_ok = self.opt.starts_with("sgd") || self.opt == "rmsprop" || self.opt == "adamw";
        need(
            opt_ok,
            format!(
                "opt = \"{}\" is unknown; allowed: sgd, sgd_nesterov, rmsprop, adamw",
                self.opt
            ),
        );
        need(self.lr > 0.0, format!("lr = {} must be > 0", self.lr));
        need(
            (0.0..1.0).contains(&self.momentum),
            format!("momentum = {} must be in [0, 1)", self.momentum),
        );
        for (k, v) in [
            ("weight_decay", Some(self.weight_decay)),
            ("norm_weight_decay", self.norm_weight_decay),
            ("bias_weight_decay", self.bias_weight_decay),
            ("mixup_alpha", Some(self.mixup_alpha)),
            ("cutmix_alpha", Some(self.cutmix_alpha)),
            ("lr_min", Some(self.lr_min)),
        ] {
            if let Some(v) = v {
                need(v >= 0.0, format!("{k} = {v} must be >= 0"));
            }
        }
        for (k, v) in [
            ("label_smoothing", self.label_smoothing),
            ("random_erase", self.random_erase),
            ("lr_warmup_decay", self.lr_warmup_decay),
        ] {
            need(
                (0.0..=1.0).contains(&v),
                format!("{k} = {v} is a probability/fraction and must be in [0, 1]"),
            );
        }
        if let Some(v) = self.rrc_min_scale {
            need(
                v > 0.0 && v <= 1.0,
                format!("rrc_min_scale = {v} is an area fraction and must be in (0, 1]"),
            );
        }
        need(
            self.lr_warmup_epochs >= 0,
            format!("lr_warmup_epochs = {} must be >= 0", self.lr_warmup_epochs),
        );
        need(
            self.lr_warmup_epochs <= self.epochs,
            format!(
                "lr_warmup_epochs = {} is longer than training (epochs = {})",
                self.lr_warmup_epochs, self.epochs
            ),
        );
        if self.lr_scheduler == LrScheduler::Cosineannealinglr
            && self.lr_warmup_epochs == self.epochs
            && self.epochs >= 1
        {
            // torchvision builds CosineAnnealingLR(T_max = epochs - warmup) = T_max 0: ZeroDivisionError.
            errs.push(format!(
                "lr_warmup_epochs = {} equals epochs with cosineannealinglr: T_max = epochs - warmup = 0 \
                 (torchvision crashes); use lr_warmup_epochs < epochs",
                self.lr_warmup_epochs
            ));
        }
        let mut need = |ok: bool, msg: String| {
            if !ok {
                errs.push(msg)
            }
        };
        need(
            self.lr_step_size >= 1,
            format!("lr_step_size = {} must be >= 1", self.lr_step_size),
        );
        need(
            self.lr_gamma > 0.0,
            format!("lr_gamma = {} must be > 0", self.lr_gamma),
        );
        need(
            (0..=30).contains(&self.ra_magnitude),
            format!(
                "ra_magnitude = {} must be a bin in 0..=30",
                self.ra_magnitude
            ),
        );
        need(
            (1..=10).contains(&self.augmix_severity),
            format!(
                "augmix_severity = {} must be in 1..=10",
                self.augmix_severity
            ),
        );
        need(
            self.model_ema_steps >= 1,
            format!("model_ema_steps = {} must be >= 1", self.model_ema_steps),
        );
        need(
            (0.0..1.0).contains(&self.model_ema_decay),
            format!(
                "model_ema_decay = {} must be in [0, 1)",
                self.model_ema_decay
            ),
        );
        for (k, v) in [
            ("train_crop_size", self.train_crop_size),
            ("val_resize_size", self.val_resize_size),
            ("val_crop_size", self.val_crop_size),
            ("ra_reps", self.ra_reps),
        ] {
            need(v >= 1, format!("{k} = {v} must be >= 1"));
        }
        if let Some(c) = self.clip_grad_norm {
            need(c > 0.0, format!("clip_grad_norm = {c} must be > 0"));
        }
        errs
    }
}

/// A recipe table with every optional key present, so its keys and value types are complete.
fn full_table() -> toml::Table {
    let full = Recipe {
        norm_weight_decay: Some(0.0),
        bias_weight_decay: Some(0.0),
        clip_grad_norm: Some(0.0),
        rrc_min_scale: Some(0.08),
        jpeg_scaled_decode: false,
        ..Recipe::default()
    };
    toml::Table::try_from(&full).expect("a recipe always serialises")
}

fn is_true(b: &bool) -> bool {
    *b
}

fn first_line(s: &str) -> String {
    // toml's errors add "in `key`" lines after the message; callers give their own location.
    s.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(s)
        .trim()
        .to_string()
}

/// The key in `allowed` closest to `key` (Jaro-Winkler), if any is reasonably close.
pub fn closest_key<'a>(key: &str, allowed: &'a [String]) -> Option<&'a str> {
    allowed
        .iter()
        .map(|k| (strsim::jaro_winkler(key, k), k))
        .filter(|(score, _)| *score > 0.7)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k.as_str())
}

/// "unknown key `lr_sheduler` (did you mean `lr_scheduler`?)".
pub fn unknown_key_message(key: &str, allowed: &[String]) -> String {
    match closest_key(key, allowed) {
        Some(k) => format!("unknown key `{key}` (did you mean `{k}`?)"),
        None => format!("unknown key `{key}`; allowed: {}", allowed.join(", ")),
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
