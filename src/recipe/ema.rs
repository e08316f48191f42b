//! EMA decay and cadence (recipe-semantics §4). CONTRACT: used by the engine and by `check`.
//!
//! torchvision rescales the nominal decay by the pycls trick:
//!   α = min(1, (1 − decay) · global_batch · S / E),  d_eff = 1 − α.
//! With U = E · ⌈iters/S⌉ total updates and iters ≈ N / global_batch, α · U ≈ (1 − decay) · N:
//! the averaging window 1/α is a fixed fraction 1/((1 − decay)·N) of training. On ImageNet
//! (N = 1,281,167, decay 0.99998) α·U ≈ 25.6, a window of ≈ 4 % of the run. On a 10k-image
//! dataset the same formula gives α·U ≈ 0.2: the EMA barely leaves its initial weights.
//!
//! `model_ema_adjust = "dataset"` keeps the ImageNet fraction instead:
//!   α = min(1, (1 − decay) · 1,281,167 / U),
//! so α·U ≈ 25.6 whatever the dataset, batch, S or E.
use super::{EmaAdjust, Recipe};

/// ImageNet-1k train images: the dataset the nominal decay 0.99998 was tuned on.
pub const IMAGENET_TRAIN_IMAGES: usize = 1_281_167;

/// Optimizer steps per epoch (global batches): ⌈N / global batch⌉, ⌊⌋ with drop_last.
pub fn iters_per_epoch(r: &Recipe, train_images: usize) -> usize {
    let gb = r.global_batch().max(1) as usize;
    if r.drop_last {
        train_images / gb
    } else {
        train_images.div_ceil(gb)
    }
}

/// EMA updates per epoch: the update runs when `i % S == 0`, i.e. ⌈iters / S⌉ times.
pub fn ema_updates_per_epoch(r: &Recipe, train_images: usize) -> usize {
    iters_per_epoch(r, train_images).div_ceil(r.model_ema_steps.max(1) as usize)
}

/// Total EMA updates over the run.
pub fn ema_total_updates(r: &Recipe, train_images: usize) -> usize {
    ema_updates_per_epoch(r, train_images) * r.epochs.max(0) as usize
}

/// α = 1 − d_eff, the weight of the live model in each update.
pub fn ema_alpha(r: &Recipe, train_images: usize) -> f64 {
    let one_minus = 1.0 - r.model_ema_decay;
    let alpha = match r.model_ema_adjust {
        EmaAdjust::Torchvision => {
            let adjust = (r.global_batch() * r.model_ema_steps) as f64 / r.epochs.max(1) as f64;
            one_minus * adjust
        }
        EmaAdjust::Dataset => {
            let updates = ema_total_updates(r, train_images).max(1) as f64;
            one_minus * IMAGENET_TRAIN_IMAGES as f64 / updates
        }
    };
    alpha.min(1.0)
}

/// The decay the EMA actually uses (d_eff). `train_images` matters only for `dataset`.
pub fn ema_decay(r: &Recipe, train_images: usize) -> f64 {
    1.0 - ema_alpha(r, train_images)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The V2 recipe: 8 x 128, S = 32, E = 600, decay 0.99998.
    fn recipe() -> Recipe {
        Recipe {
            batch_size: 128,
            world_size: 8,
            epochs: 600,
            model_ema: true,
            ..Recipe::default()
        }
    }

    // d_eff values: recipe-semantics §4 (adjust = 1024·32/600 = 54.6133 → 0.998908;
    // E = 90: adjust = 364.1 → 0.99272).
    #[test]
    fn torchvision_adjust_matches_spec() {
        assert!((ema_decay(&recipe(), IMAGENET_TRAIN_IMAGES) - 0.998908).abs() < 5e-7);
        let e90 = Recipe {
            epochs: 90,
            ..recipe()
        };
        assert!((ema_decay(&e90, IMAGENET_TRAIN_IMAGES) - 0.99272).abs() < 5e-6);
        // The torchvision adjust ignores the dataset size.
        assert_eq!(ema_decay(&recipe(), 10), ema_decay(&recipe(), 10_000_000));
    }

    #[test]
    fn imagenet_cadence() {
        // ⌈1,281,167 / 1024⌉ = 1252 iterations, ⌈1252 / 32⌉ = 40 updates per epoch.
        assert_eq!(iters_per_epoch(&recipe(), IMAGENET_TRAIN_IMAGES), 1252);
        assert_eq!(ema_updates_per_epoch(&recipe(), IMAGENET_TRAIN_IMAGES), 40);
        assert_eq!(ema_total_updates(&recipe(), IMAGENET_TRAIN_IMAGES), 24_000);
        let dl = Recipe {
            drop_last: true,
            ..recipe()
        };
        assert_eq!(iters_per_epoch(&dl, IMAGENET_TRAIN_IMAGES), 1251);
        assert_eq!(ema_updates_per_epoch(&dl, IMAGENET_TRAIN_IMAGES), 40);
    }

    #[test]
    fn dataset_adjust_keeps_the_imagenet_window() {
        // On ImageNet the two adjusts agree up to the ceil rounding of the cadence:
        // α·U = 1.09227e-3 · 24000 = 26.2 (torchvision) vs 25.62334 (dataset, by construction).
        let ds = Recipe {
            model_ema_adjust: EmaAdjust::Dataset,
            ..recipe()
        };
        let a_tv = ema_alpha(&recipe(), IMAGENET_TRAIN_IMAGES);
        let a_ds = ema_alpha(&ds, IMAGENET_TRAIN_IMAGES);
        assert!((a_ds * 24_000.0 - 25.62334).abs() < 1e-4);
        assert!((a_ds / a_tv - 1.0).abs() < 0.03, "{a_ds} vs {a_tv}");
        // fashion-mnist-quick's EMA row: 10,000 images, 128 x 1, S = 4, E = 8:
        // iters 79, 20 updates/epoch, U = 160, α = 25.62334 / 160 = 0.160146.
        let fm = Recipe {
            batch_size: 128,
            world_size: 1,
            epochs: 8,
            model_ema_steps: 4,
            model_ema_adjust: EmaAdjust::Dataset,
            ..Recipe::default()
        };
        assert_eq!(ema_total_updates(&fm, 10_000), 160);
        assert!((ema_decay(&fm, 10_000) - (1.0 - 0.160146)).abs() < 1e-6);
        // The torchvision adjust on the same run: α = 2e-5 · 128 · 4 / 8 = 1.28e-3, so
        // α·U = 0.2: the EMA stays ~80 % its initial weights.
        let fm_tv = Recipe {
            model_ema_adjust: EmaAdjust::Torchvision,
            ..fm
        };
        assert!((ema_alpha(&fm_tv, 10_000) - 1.28e-3).abs() < 1e-12);
    }

    #[test]
    fn alpha_is_capped_at_one() {
        let tiny = Recipe {
            model_ema_adjust: EmaAdjust::Dataset,
            epochs: 1,
            ..recipe()
        };
        assert_eq!(ema_decay(&tiny, 1000), 0.0);
    }
}
