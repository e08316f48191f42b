//! Data pipeline tests. Expected numbers come from the spec (recipe-semantics §5-§8), from
//! hand computation, or from PIL/torch (the generating snippet is next to each constant).
use super::autoaugment::*;
use super::loader::*;
use super::transforms::*;
use super::*;
use crate::recipe::{AutoAugment, Interpolation, Recipe};
use rand::SeedableRng;

fn rng(s: u64) -> rand::rngs::StdRng {
    rand::rngs::StdRng::seed_from_u64(s)
}

fn img(w: usize, h: usize, f: impl Fn(usize, usize, usize) -> u8) -> Image {
    let mut data = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            for c in 0..3 {
                data.push(f(x, y, c));
            }
        }
    }
    Image {
        width: w,
        height: h,
        data,
    }
}

fn chan0(i: &Image) -> Vec<u8> {
    i.data.iter().step_by(3).copied().collect()
}

#[test]
fn embedded_fashion_mnist_is_balanced_10k_2k() {
    let ds = open("fashion-mnist").unwrap();
    assert_eq!(
        (ds.train.len(), ds.val.len(), ds.num_classes),
        (10_000, 2_000, 10)
    );
    assert_eq!(ds.train.typical_size(), Some((28, 28)));
    for (src, per) in [(&ds.train, 1000), (&ds.val, 200)] {
        let mut counts = [0usize; 10];
        for i in 0..src.len() {
            counts[src.get(i, None).unwrap().1 as usize] += 1;
        }
        assert_eq!(counts, [per; 10]);
    }
    // Train-set statistics of the subset (computed with numpy over the 7.84M pixels: 0.28668, 0.35401).
    assert!(
        (ds.mean[0] - 0.28668).abs() < 1e-4 && (ds.std[0] - 0.35401).abs() < 1e-4,
        "{:?} {:?}",
        ds.mean,
        ds.std
    );
    let (im, _) = ds.train.get(0, None).unwrap();
    assert_eq!((im.width, im.height, im.data.len()), (28, 28, 28 * 28 * 3));
}

#[test]
fn rrc_fallback_is_centred_crop() {
    // 100x10: ratio 10 > 4/3 -> h = 10, w = round(10 * 4/3) = 13, left = (100-13)//2 = 43.
    assert_eq!(rrc_fallback(100, 10, (0.75, 4.0 / 3.0)), (0, 43, 10, 13));
    // 10x100: ratio 0.1 < 3/4 -> w = 10, h = round(10 / 0.75) = round(13.33) = 13, top = 43.
    assert_eq!(rrc_fallback(10, 100, (0.75, 4.0 / 3.0)), (43, 0, 13, 10));
    // 30x30 inside the ratio range -> whole image.
    assert_eq!(rrc_fallback(30, 30, (0.75, 4.0 / 3.0)), (0, 0, 30, 30));
    // 1x1000 can never fit a try (h would need area/h <= 1): every draw falls back.
    let mut r = rng(1);
    for _ in 0..50 {
        assert_eq!(rrc_params(&mut r, 1, 1000), (499, 0, 1, 1));
    }
}

#[test]
fn rrc_params_obey_bounds() {
    let mut r = rng(7);
    let (w, h) = (500usize, 375usize);
    let mut min_frac: f64 = 1.0;
    let mut max_frac: f64 = 0.0;
    for _ in 0..5000 {
        let (t, l, ch, cw) = rrc_params(&mut r, w, h);
        assert!(ch > 0 && cw > 0 && t + ch <= h && l + cw <= w);
        let frac = (ch * cw) as f64 / (w * h) as f64;
        let ratio = cw as f64 / ch as f64;
        // Rounding w and h moves the area and ratio slightly off the drawn values.
        assert!(frac > 0.075 && frac < 1.0 + 1e-9, "{frac}");
        assert!(ratio > 0.74 && ratio < 1.345, "{ratio}");
        min_frac = min_frac.min(frac);
        max_frac = max_frac.max(frac);
    }
    assert!(min_frac < 0.1 && max_frac > 0.9, "{min_frac} {max_frac}");
}

#[test]
fn erasing_boxes_obey_bounds() {
    let mut r = rng(3);
    let (w, h) = (176usize, 176usize);
    let mut hits = 0;
    for _ in 0..4000 {
        if let Some([t, l, eh, ew]) = erase_params(&mut r, 0.5, w, h) {
            hits += 1;
            assert!(eh < h && ew < w && t + eh <= h && l + ew <= w);
            let a = (eh * ew) as f64 / (w * h) as f64;
            let ratio = eh as f64 / ew as f64;
            assert!(a > 0.015 && a < 0.35, "{a}");
            assert!(ratio > 0.27 && ratio < 3.7, "{ratio}");
        }
    }
    // p = 0.5 over 4000 draws: 2000 +- 4 sigma (sigma = 31.6).
    assert!((1873..=2127).contains(&hits), "{hits}");
    assert_eq!(erase_params(&mut r, 0.0, w, h), None);
}

#[test]
fn eval_resize_and_crop_sizes() {
    assert_eq!(resize_shorter(500, 375, 256), (341, 256));
    assert_eq!(resize_shorter(375, 500, 232), (232, 309));
    assert_eq!(resize_shorter(28, 28, 32), (32, 32));
    // (H - C) / 2 = 2.5 rounds half-to-even to 2; 3.5 -> 4.
    let im = img(10, 9, |x, y, _| (y * 10 + x) as u8);
    let c = center_crop(&im, 4);
    assert_eq!(c.data[0], 2 * 10 + 3); // top round(2.5)=2, left round(3.0)=3
    let im = img(11, 11, |x, y, _| (y * 11 + x) as u8);
    let c = center_crop(&im, 4); // round(3.5) = 4
    assert_eq!(c.data[0], 4 * 11 + 4);
    let out = eval_transform(
        &img(500, 375, |x, _, _| x as u8),
        256,
        224,
        Interpolation::Bilinear,
    );
    assert_eq!((out.width, out.height), (224, 224));
    // Crop larger than the image pads with zeros: 2x2 -> 4x4, image at rows/cols 1..3.
    let p = center_crop(&img(2, 2, |_, _, _| 9), 4);
    assert_eq!(
        chan0(&p),
        vec![0, 0, 0, 0, 0, 9, 9, 0, 0, 9, 9, 0, 0, 0, 0, 0]
    );
}

fn recipe(bs: i64, crop: i64) -> Recipe {
    Recipe {
        batch_size: bs,
        train_crop_size: crop,
        val_resize_size: crop,
        val_crop_size: crop,
        auto_augment: AutoAugment::TaWide,
        random_erase: 0.5,
        ..Recipe::default()
    }
}

#[test]
fn loader_deterministic_across_worker_counts() {
    let ds = open("synthetic:40").unwrap();
    let r = recipe(16, 24);
    assert_eq!(num_train_batches(40, &r), 3);
    let a: Vec<Batch> = train_batches(&ds, &r, 5, 2, 0)
        .unwrap()
        .map(|b| b.unwrap())
        .collect();
    let b: Vec<Batch> = train_batches(&ds, &r, 5, 2, 2)
        .unwrap()
        .map(|b| b.unwrap())
        .collect();
    let c: Vec<Batch> = train_batches(&ds, &r, 6, 2, 2)
        .unwrap()
        .map(|b| b.unwrap())
        .collect();
    assert_eq!(a.len(), 3);
    assert_eq!([a[0].n, a[1].n, a[2].n], [16, 16, 8]); // drop_last = false
    assert_eq!(
        (a[0].h, a[0].w, a[0].pixels.len()),
        (24, 24, 16 * 24 * 24 * 3)
    );
    assert_eq!(a, b);
    assert_ne!(a[0].pixels, c[0].pixels);
    // Each epoch visits every image exactly once.
    let mut labels: Vec<i64> = a.iter().flat_map(|b| b.labels.clone()).collect();
    labels.sort();
    assert_eq!(labels.iter().filter(|&&l| l == 0).count(), 10);
    let dl = Recipe {
        drop_last: true,
        ..r.clone()
    };
    assert_eq!(train_batches(&ds, &dl, 5, 2, 1).unwrap().count(), 2);
    // Dropping a half-consumed iterator stops its workers (the test would hang otherwise).
    let mut it = train_batches(&ds, &r, 5, 3, 3).unwrap();
    it.next().unwrap().unwrap();
    drop(it);
}

#[test]
fn ra_sampler_repeats_images() {
    let r = Recipe {
        ra_sampler: true,
        ra_reps: 4,
        ..Recipe::default()
    };
    let o = epoch_order(10, &r, 1, 0);
    assert_eq!(o.len(), 10);
    // ceil(10 / 4) = 3 distinct images, 4 + 4 + 2 copies in a row.
    assert!(o[0..4].iter().all(|&i| i == o[0]) && o[4..8].iter().all(|&i| i == o[4]));
    assert_eq!(&o[8..], &[o[8], o[8]]);
}

#[test]
fn eval_loader_subsets_and_sizes() {
    let ds = open("synthetic:40").unwrap();
    let r = recipe(16, 24);
    let batches: Vec<Batch> = eval_batches(&ds, &r, 4, Some(vec![1, 3, 5, 7, 9]), 2)
        .unwrap()
        .map(|b| b.unwrap())
        .collect();
    assert_eq!(batches.iter().map(|b| b.n).collect::<Vec<_>>(), vec![4, 1]);
    assert_eq!(batches[0].labels, vec![1, 3, 1, 3]);
    assert!(eval_batches(&ds, &r, 4, Some(vec![10]), 0).is_err());
}

#[test]
fn trivial_augment_magnitude_tables() {
    // Translate bins after int() truncation (spec §6): 0-15, 17-30, 32.
    let (t, signed) = magnitudes(Op::TranslateX, 31, true, 176, 176);
    assert!(signed);
    let tr: Vec<i64> = t.iter().map(|m| m.trunc() as i64).collect();
    let want: Vec<i64> = (0..=15).chain(17..=30).chain([32]).collect();
    assert_eq!(tr, want);
    assert!(t[15] < 16.0 && t[15] > 15.9999);
    let (p, signed) = magnitudes(Op::Posterize, 31, true, 1, 1);
    assert!(!signed);
    let bits: Vec<u8> = p.iter().map(|&b| b as u8).collect();
    let mut want = vec![8, 8, 8];
    for b in [7, 6, 5, 4, 3] {
        want.extend([b; 5]);
    }
    want.extend([2, 2, 2]);
    assert_eq!(bits, want);
    let (s, _) = magnitudes(Op::Solarize, 31, true, 1, 1);
    assert_eq!((s[0], s[1], s[30]), (255.0, 246.5, 0.0));
    let (sh, _) = magnitudes(Op::ShearX, 31, true, 1, 1);
    assert_eq!((sh[0], sh[30]), (0.0, 0.99f32 as f64));
    let (rot, _) = magnitudes(Op::Rotate, 31, true, 1, 1);
    assert_eq!((rot[1], rot[30]), (4.5, 135.0));
    // RandAugment at bin 9 (spec §7): shear 0.09, rotate 9, enhance 0.27, 7 bits, 178.5.
    let ra = |op| magnitudes(op, 31, false, 224, 224).0[9];
    assert!((ra(Op::ShearX) - 0.09).abs() < 1e-6 && (ra(Op::Rotate) - 9.0).abs() < 1e-5);
    assert!((ra(Op::Brightness) - 0.27).abs() < 1e-6 && ra(Op::Posterize) == 7.0);
    assert!((ra(Op::Solarize) - 178.5).abs() < 1e-4);
    assert_eq!(ra(Op::TranslateX).trunc(), 30.0);
    // AutoAugment: 10 bins, posterize 8,8,7,7,6,6,5,5,4,4.
    assert_eq!(
        magnitudes(Op::Posterize, 10, false, 1, 1).0,
        vec![8.0, 8.0, 7.0, 7.0, 6.0, 6.0, 5.0, 5.0, 4.0, 4.0]
    );
}

#[test]
fn linspace_matches_libtorch_bit_for_bit() {
    for (a, b, n) in [
        (0.0f32, 0.99f32, 31usize),
        (0.0, 32.0, 31),
        (0.0, 135.0, 31),
        (255.0, 0.0, 31),
        (0.0, 0.3, 10),
        (0.0, 101.5, 31),
    ] {
        let t = tch::Tensor::linspace(
            a as f64,
            b as f64,
            n as i64,
            (tch::Kind::Float, tch::Device::Cpu),
        );
        let want: Vec<f32> = Vec::<f32>::try_from(&t).unwrap();
        let got: Vec<f32> = linspace_f32(a, b, n).iter().map(|&v| v as f32).collect();
        assert_eq!(got, want, "linspace({a}, {b}, {n})");
    }
}

#[test]
fn trivial_augment_draws_all_ops_and_bins() {
    let mut r = rng(11);
    let mut ops = std::collections::HashMap::new();
    let mut bins = std::collections::HashSet::new();
    let mut neg = 0;
    let n = 14_000;
    for _ in 0..n {
        let (op, m) = draw_trivial(&mut r, 176, 176);
        *ops.entry(format!("{op:?}")).or_insert(0usize) += 1;
        if op == Op::Rotate {
            bins.insert((m.abs() / 4.5).round() as i64);
            neg += (m < 0.0) as usize;
        }
    }
    assert_eq!(ops.len(), 14);
    // Uniform over 14 ops: 1000 each, +- 5 sigma (sigma = 30.4).
    assert!(ops.values().all(|&c| (848..=1152).contains(&c)), "{ops:?}");
    assert_eq!(bins.len(), 31); // includes bin 0
    assert!(neg > 350 && neg < 650, "{neg}");
}
