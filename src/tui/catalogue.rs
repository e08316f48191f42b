//! Ingredients the `a` key can add: the 11 steps of torchvision's 2021 recipe (blog order,
//! values of pytorch/vision#3995) and other options torchvision's train.py supports.
use crate::recipe::Ingredient;

const CATALOGUE: &str = r#"
[[ingredient]]
name = "LR optimizations"
description = "batch 128/GPU, lr 0.5, cosine, 5 linear warmup epochs"
set = { batch_size = 128, lr = 0.5, lr_scheduler = "cosineannealinglr", lr_warmup_epochs = 5, lr_warmup_method = "linear", lr_warmup_decay = 0.01 }
[[ingredient]]
name = "TrivialAugment"
set = { auto_augment = "ta_wide" }
[[ingredient]]
name = "Long Training"
set = { epochs = 600 }
[[ingredient]]
name = "Random Erasing"
set = { random_erase = 0.1 }
[[ingredient]]
name = "Label Smoothing"
set = { label_smoothing = 0.1 }
[[ingredient]]
name = "Mixup"
set = { mixup_alpha = 0.2 }
[[ingredient]]
name = "Cutmix"
set = { cutmix_alpha = 1.0 }
[[ingredient]]
name = "Weight Decay tuning"
set = { weight_decay = 2e-5, norm_weight_decay = 0.0 }
[[ingredient]]
name = "FixRes mitigations"
set = { train_crop_size = 176 }
[[ingredient]]
name = "EMA"
set = { model_ema = true, model_ema_steps = 32, model_ema_decay = 0.99998 }
[[ingredient]]
name = "Inference Resize tuning"
set = { val_resize_size = 232 }
[[ingredient]]
name = "RA sampler"
description = "repeated augmentation, 4 repetitions (IMAGENET1K_V2 weights)"
set = { ra_sampler = true, ra_reps = 4 }
[[ingredient]]
name = "RandAugment"
set = { auto_augment = "ra", ra_magnitude = 9 }
[[ingredient]]
name = "AutoAugment"
set = { auto_augment = "imagenet" }
[[ingredient]]
name = "AugMix"
set = { auto_augment = "augmix", augmix_severity = 3 }
[[ingredient]]
name = "Bias weight decay"
set = { bias_weight_decay = 0.0 }
[[ingredient]]
name = "Nesterov"
set = { opt = "sgd_nesterov" }
[[ingredient]]
name = "Zero-init residual"
set = { zero_init_residual = true }
[[ingredient]]
name = "Gradient clipping"
set = { clip_grad_norm = 1.0 }
[[ingredient]]
name = "Mixed precision"
set = { amp = true }
"#;

#[derive(serde::Deserialize)]
struct File {
    ingredient: Vec<Ingredient>,
}

pub fn catalogue() -> Vec<Ingredient> {
    toml::from_str::<File>(CATALOGUE)
        .expect("the embedded catalogue parses")
        .ingredient
}

/// One line saying what an ingredient changes, e.g. `lr=0.5, epochs=600`.
pub fn summary(ing: &Ingredient) -> String {
    if let Some(sw) = &ing.eval_sweep {
        let vals: Vec<String> = sw.values.iter().map(|v| v.to_string()).collect();
        return format!("eval sweep {} over {}", sw.param, vals.join("/"));
    }
    ing.set
        .iter()
        .map(|(k, v)| format!("{k}={}", super::app::fmt_value(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_applies_to_the_default_recipe() {
        let cat = catalogue();
        assert_eq!(cat.len(), 20);
        assert_eq!(cat[2].name, "Long Training");
        for ing in &cat {
            super::super::app::apply_overrides(&crate::recipe::Recipe::default(), &ing.set)
                .unwrap_or_else(|e| panic!("{}: {e}", ing.name));
        }
        assert_eq!(summary(&cat[7]), "norm_weight_decay=0.0, weight_decay=2e-5");
        assert_eq!(summary(&cat[0]).split(", ").next(), Some("batch_size=128"));
    }
}
