//! Per-batch work on the device: u8 NHWC -> normalised float NCHW, RandomErasing boxes,
//! MixUp/CutMix (recipe-semantics §9) and the label-smoothed loss on soft or hard targets (§10).
use super::data::Batch;
use crate::recipe::Recipe;
use rand::{Rng, SeedableRng};
use rand_distr::{Beta, Distribution};
use tch::{Device, Kind, Tensor};

/// A stable 64-bit mix of several integers (splitmix64 steps), for per-(seed, epoch, batch) RNGs.
pub fn mix_seed(parts: &[u64]) -> u64 {
    let mut h = 0x9E37_79B9_7F4A_7C15u64;
    for &p in parts {
        h ^= p
            .wrapping_add(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(h << 6)
            .wrapping_add(h >> 2);
        let mut z = h;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        h = z ^ (z >> 31);
    }
    h
}

/// Moves a batch to the device as float NCHW in [0,1], normalised, with its erase boxes set to
/// 0 (the dataset-mean colour, as torchvision erases after normalisation). Returns (x, labels).
pub fn to_device(b: &Batch, mean: [f32; 3], std: [f32; 3], device: Device) -> (Tensor, Tensor) {
    let (n, h, w) = (b.n as i64, b.h as i64, b.w as i64);
    let x = Tensor::from_slice(&b.pixels)
        .view([n, h, w, 3])
        .to_device(device)
        .permute([0, 3, 1, 2])
        .to_kind(Kind::Float)
        / 255.0;
    let m = Tensor::from_slice(&mean)
        .view([1, 3, 1, 1])
        .to_device(device);
    let s = Tensor::from_slice(&std)
        .view([1, 3, 1, 1])
        .to_device(device);
    let x = ((x - m) / s).contiguous();
    for (i, bx) in b.erase.iter().enumerate() {
        if let Some([top, left, eh, ew]) = *bx {
            let _ = x
                .get(i as i64)
                .narrow(1, top as i64, eh as i64)
                .narrow(2, left as i64, ew as i64)
                .fill_(0.0);
        }
    }
    let labels = Tensor::from_slice(&b.labels).to_device(device);
    (x, labels)
}

/// What one per-device batch gets: drawn on the CPU so it is reproducible on any device.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mix {
    None,
    Mixup {
        lam: f64,
    },
    /// Box (y1, y2, x1, x2) pasted from the rolled batch; `lam` is already corrected.
    Cutmix {
        lam: f64,
        y1: i64,
        y2: i64,
        x1: i64,
        x2: i64,
    },
}

/// torchvision's RandomChoice([MixUp, CutMix]) for one per-device batch, RNG seeded from
/// (seed, epoch, micro-batch index).
pub fn draw_mix(r: &Recipe, seed: u64, epoch: i64, batch: u64, h: i64, w: i64) -> Mix {
    let mut on = Vec::new();
    if r.mixup_alpha > 0.0 {
        on.push((true, r.mixup_alpha));
    }
    if r.cutmix_alpha > 0.0 {
        on.push((false, r.cutmix_alpha));
    }
    if on.is_empty() {
        return Mix::None;
    }
    let mut rng =
        rand::rngs::StdRng::seed_from_u64(mix_seed(&[seed, epoch as u64, batch, 0x6d6978]));
    let (mixup, alpha) = on[rng.random_range(0..on.len())];
    let lam = Beta::new(alpha, alpha).expect("alpha > 0").sample(&mut rng);
    if mixup {
        return Mix::Mixup { lam };
    }
    let cx = rng.random_range(0..w);
    let cy = rng.random_range(0..h);
    let r_ = 0.5 * (1.0 - lam).sqrt();
    let (hw, hh) = ((r_ * w as f64) as i64, (r_ * h as f64) as i64);
    let (x1, x2) = ((cx - hw).max(0), (cx + hw).min(w));
    let (y1, y2) = ((cy - hh).max(0), (cy + hh).min(h));
    let lam = 1.0 - ((x2 - x1) * (y2 - y1)) as f64 / (w * h) as f64;
    Mix::Cutmix {
        lam,
        y1,
        y2,
        x1,
        x2,
    }
}

/// Applies `mix` with the partner batch rolled by 1; returns (x, target) where the target is
/// Int64 labels without mixing and one-hot float mixtures with it.
pub fn apply_mix(x: Tensor, labels: &Tensor, num_classes: i64, mix: Mix) -> (Tensor, Tensor) {
    let onehot = || labels.one_hot(num_classes).to_kind(Kind::Float);
    match mix {
        Mix::None => (x, labels.shallow_clone()),
        Mix::Mixup { lam } => {
            let y = onehot();
            let x = &x * lam + x.roll([1], [0]) * (1.0 - lam);
            let y = &y * lam + y.roll([1], [0]) * (1.0 - lam);
            (x, y)
        }
        Mix::Cutmix {
            lam,
            y1,
            y2,
            x1,
            x2,
        } => {
            let rolled = x.roll([1], [0]);
            let x = x.copy();
            x.narrow(2, y1, y2 - y1)
                .narrow(3, x1, x2 - x1)
                .copy_(&rolled.narrow(2, y1, y2 - y1).narrow(3, x1, x2 - x1));
            let y = onehot();
            let y = &y * lam + y.roll([1], [0]) * (1.0 - lam);
            (x, y)
        }
    }
}

/// Cross-entropy with label smoothing on hard (Int64) or soft (float) targets, batch mean.
pub fn loss(logits: &Tensor, target: &Tensor, label_smoothing: f64) -> Tensor {
    logits.to_kind(Kind::Float).cross_entropy_loss::<Tensor>(
        target,
        None,
        tch::Reduction::Mean,
        -100,
        label_smoothing,
    )
}

/// Hard labels of a target: itself, or the argmax of a mixed target (torchvision's train acc).
pub fn hard_labels(target: &Tensor) -> Tensor {
    if target.dim() == 2 {
        target.argmax(1, false)
    } else {
        target.shallow_clone()
    }
}

/// Number of samples whose label is in the top-1 and top-k (k = min(5, classes)), as device
/// scalars (float), without a host sync.
pub fn correct_top1_top5(logits: &Tensor, labels: &Tensor) -> (Tensor, Tensor) {
    let k = logits.size()[1].min(5);
    let (_, top) = logits.topk(k, 1, true, true);
    let hit = top.eq_tensor(&labels.unsqueeze(1));
    let c1 = hit.narrow(1, 0, 1).to_kind(Kind::Float).sum(Kind::Float);
    let c5 = hit.to_kind(Kind::Float).sum(Kind::Float);
    (c1, c5)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recipe(mixup: f64, cutmix: f64) -> Recipe {
        Recipe {
            mixup_alpha: mixup,
            cutmix_alpha: cutmix,
            ..Recipe::default()
        }
    }

    #[test]
    fn mixed_targets_sum_to_one_and_cutmix_lambda_is_area() {
        let labels = Tensor::from_slice(&[0i64, 1, 2, 3]);
        let x = Tensor::arange(4 * 3 * 8 * 10, (Kind::Float, Device::Cpu)).view([4, 3, 8, 10]);
        let mut kinds = [0, 0];
        for b in 0..40 {
            let mix = draw_mix(&recipe(0.2, 1.0), 7, 0, b, 8, 10);
            let (xm, y) = apply_mix(x.shallow_clone(), &labels, 5, mix);
            let sums = y.sum_dim_intlist(1, false, Kind::Float);
            assert!((sums - 1.0).abs().max().double_value(&[]) < 1e-6);
            match mix {
                Mix::Mixup { lam } => {
                    kinds[0] += 1;
                    assert!((y.double_value(&[1, 1]) - lam).abs() < 1e-6);
                    assert!((y.double_value(&[1, 0]) - (1.0 - lam)).abs() < 1e-6);
                }
                Mix::Cutmix {
                    lam,
                    y1,
                    y2,
                    x1,
                    x2,
                } => {
                    kinds[1] += 1;
                    // pixels that differ from the original are exactly the box (rolled batch
                    // differs everywhere here), so 1 - lam is the pasted area fraction.
                    let changed = xm
                        .ne_tensor(&x)
                        .get(0)
                        .get(0)
                        .to_kind(Kind::Float)
                        .sum(Kind::Float);
                    let area = ((y2 - y1) * (x2 - x1)) as f64;
                    assert_eq!(changed.double_value(&[]), area);
                    assert!((1.0 - lam - area / 80.0).abs() < 1e-12);
                    // sample 0's box comes from sample 3 (roll by 1)
                    if area > 0.0 {
                        assert_eq!(
                            xm.double_value(&[0, 0, y1, x1]),
                            x.double_value(&[3, 0, y1, x1])
                        );
                    }
                }
                Mix::None => unreachable!(),
            }
        }
        // both on: each is chosen about half the time (40 draws).
        assert!(kinds[0] >= 10 && kinds[1] >= 10, "{kinds:?}");
        assert_eq!(draw_mix(&recipe(0.0, 0.0), 7, 0, 0, 8, 10), Mix::None);
        // reproducible from (seed, epoch, batch)
        assert_eq!(
            draw_mix(&recipe(0.2, 1.0), 7, 3, 5, 8, 10),
            draw_mix(&recipe(0.2, 1.0), 7, 3, 5, 8, 10)
        );
    }

    /// Hand computation: logits [0, ln 2, ln 4] -> softmax [1/7, 2/7, 4/7]; target class 2,
    /// eps 0.1, C 3: q' = [1/30, 1/30, 0.9 + 1/30];
    /// loss = -(1/30 ln(1/7) + 1/30 ln(2/7) + (28/30) ln(4/7)) = 0.6289305 (torch 2.13 F.cross_entropy agrees)
    /// Soft target [0.5, 0, 0.5] with eps 0: -(0.5 ln(1/7) + 0.5 ln(4/7)) = 1.2527630...
    #[test]
    fn label_smoothing_loss_matches_hand_computation() {
        let z = Tensor::from_slice(&[0.0f32, 2f32.ln(), 4f32.ln()]).view([1, 3]);
        let hard = loss(&z, &Tensor::from_slice(&[2i64]), 0.1).double_value(&[]);
        let want = -((1.0 / 30.0) * (1f64 / 7.0).ln()
            + (1.0 / 30.0) * (2f64 / 7.0).ln()
            + (28.0 / 30.0) * (4f64 / 7.0).ln());
        assert!((hard - want).abs() < 1e-6, "{hard} vs {want}");
        assert!((want - 0.6289305).abs() < 1e-6);
        let soft = loss(
            &z,
            &Tensor::from_slice(&[0.5f32, 0.0, 0.5]).view([1, 3]),
            0.0,
        )
        .double_value(&[]);
        assert!((soft - 1.2527630).abs() < 1e-6, "{soft}");
    }

    #[test]
    fn to_device_normalises_and_erases() {
        let b = Batch {
            pixels: vec![255u8; 2 * 4 * 4 * 3],
            n: 2,
            h: 4,
            w: 4,
            labels: vec![1, 0],
            erase: vec![None, Some([1, 2, 2, 1])],
        };
        let (x, y) = to_device(&b, [0.5; 3], [0.25; 3], Device::Cpu);
        assert_eq!(x.size(), vec![2, 3, 4, 4]);
        assert_eq!(x.double_value(&[0, 1, 1, 2]), 2.0); // (1 - 0.5) / 0.25
        assert_eq!(x.double_value(&[1, 2, 2, 2]), 0.0);
        assert_eq!(x.double_value(&[1, 2, 2, 3]), 2.0);
        assert_eq!(x.sum(Kind::Float).double_value(&[]), 2.0 * (96.0 - 6.0));
        assert_eq!(Vec::<i64>::try_from(y).unwrap(), vec![1, 0]);
    }
}
