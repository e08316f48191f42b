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

/// Area fractions (min, max) over 5000 draws, each box checked against the bounds.
fn rrc_fraction_range(scale: (f64, f64)) -> (f64, f64) {
    let mut r = rng(7);
    let (w, h) = (500usize, 375usize);
    let mut min_frac: f64 = 1.0;
    let mut max_frac: f64 = 0.0;
    for _ in 0..5000 {
        let (t, l, ch, cw) = rrc_params_with(&mut r, w, h, scale, (3.0 / 4.0, 4.0 / 3.0));
        assert!(ch > 0 && cw > 0 && t + ch <= h && l + cw <= w);
        let frac = (ch * cw) as f64 / (w * h) as f64;
        let ratio = cw as f64 / ch as f64;
        // Rounding w and h moves the area and ratio slightly off the drawn values.
        assert!(frac > scale.0 * 0.95 && frac < 1.0 + 1e-9, "{frac}");
        assert!(ratio > 0.74 && ratio < 1.345, "{ratio}");
        min_frac = min_frac.min(frac);
        max_frac = max_frac.max(frac);
    }
    (min_frac, max_frac)
}

#[test]
fn rrc_params_obey_bounds() {
    let (lo, hi) = rrc_fraction_range((0.08, 1.0));
    assert!(lo < 0.1 && hi > 0.9, "{lo} {hi}");
    // rrc_params is torchvision's default range.
    let (mut a, mut b) = (rng(5), rng(5));
    for _ in 0..100 {
        assert_eq!(
            rrc_params(&mut a, 320, 240),
            rrc_params_with(&mut b, 320, 240, (0.08, 1.0), (0.75, 4.0 / 3.0))
        );
    }
}

#[test]
fn rrc_min_scale_raises_the_smallest_crop() {
    let r = Recipe {
        rrc_min_scale: Some(0.3),
        ..Recipe::default()
    };
    let t = TrainTransform::from_recipe(&r).unwrap();
    assert_eq!(t.rrc_scale, (0.3, 1.0));
    assert_eq!(
        TrainTransform::from_recipe(&Recipe::default())
            .unwrap()
            .rrc_scale,
        (0.08, 1.0)
    );
    let (lo, hi) = rrc_fraction_range(t.rrc_scale);
    assert!(lo > 0.285 && lo < 0.32 && hi > 0.9, "{lo} {hi}");
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
    // A fresh iterator for the same (seed, epoch), as after a resume, gives the same batches;
    // another epoch reshuffles.
    let resumed: Vec<Batch> = train_batches(&ds, &r, 5, 2, 1)
        .unwrap()
        .map(|b| b.unwrap())
        .collect();
    assert_eq!(a, resumed);
    let e3 = train_batches(&ds, &r, 5, 3, 0)
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    assert_ne!(a[0].labels, e3.labels);
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

fn one_channel(vals: &[u8]) -> Image {
    img(vals.len(), 1, |x, _, _| vals[x])
}

fn run(o: Op, m: f64, vals: &[u8]) -> Vec<u8> {
    let mut im = one_channel(vals);
    apply_op(&mut im, o, m, Interpolation::Bilinear);
    chan0(&im)
}

#[test]
fn photometric_ops_hand_computed() {
    // Posterize 3 bits: v & 0b1110_0000.
    assert_eq!(
        run(Op::Posterize, 3.0, &[0, 31, 32, 200, 255]),
        vec![0, 0, 32, 192, 224]
    );
    assert_eq!(run(Op::Posterize, 8.0, &[7, 200]), vec![7, 200]);
    // Solarize at 128: v >= 128 -> 255 - v; at 255 a white pixel still inverts.
    assert_eq!(
        run(Op::Solarize, 128.0, &[0, 127, 128, 255]),
        vec![0, 127, 127, 0]
    );
    assert_eq!(run(Op::Solarize, 255.0, &[254, 255]), vec![254, 0]);
    assert_eq!(run(Op::Solarize, 246.5, &[246, 247]), vec![246, 8]);
    // Autocontrast: [50, 100, 150] -> (v - 50) * 255 / 100 = 0, 127.5 -> 127, 255.
    assert_eq!(
        run(Op::AutoContrast, 0.0, &[50, 100, 150]),
        vec![0, 127, 255]
    );
    assert_eq!(run(Op::AutoContrast, 0.0, &[9, 9]), vec![9, 9]);
    // Brightness m = 0.5: 1.5 v, truncated and clamped: 10 -> 15, 101 -> 151.5 -> 151, 200 -> 255.
    assert_eq!(
        run(Op::Brightness, 0.5, &[10, 101, 200]),
        vec![15, 151, 255]
    );
    // m = -0.99: 0.01 v: 250 -> 2.5 -> 2.
    assert_eq!(run(Op::Brightness, -0.99, &[250, 99]), vec![2, 0]);
    // Contrast m = 1 (f = 2) on a gray image [0, 100, 200]: gray = trunc(0.2989v + 0.587v + 0.114v)
    // = trunc(0.9999 v) = [0, 99, 199]; mean 99.333; 2v - mean = [-99.3 -> 0, 100.67 -> 100, 300.7 -> 255].
    assert_eq!(run(Op::Contrast, 1.0, &[0, 100, 200]), vec![0, 100, 255]);
    // Color (saturation) f = 0 on pure red (255, 0, 0): gray = trunc(0.2989 * 255) = 76 everywhere.
    let mut red = img(1, 1, |_, _, c| if c == 0 { 255 } else { 0 });
    apply_op(&mut red, Op::Color, -1.0, Interpolation::Bilinear);
    assert_eq!(red.data, vec![76, 76, 76]);
    // Invert.
    assert_eq!(run(Op::Invert, 0.0, &[0, 5, 255]), vec![255, 250, 0]);
    // Equalize (PIL): values [0, 0, 1, 2] -> hist {0: 2, 1: 1, 2: 1}, step = (4 - 1) / 255 = 0
    // -> unchanged; with 256+ pixels: 255 zeros and 256 copies of 10 -> step = 255 / 255 = 1,
    // lut[0] = 0, lut[10] = (0 + 255) / 1 = 255.
    assert_eq!(run(Op::Equalize, 0.0, &[0, 0, 1, 2]), vec![0, 0, 1, 2]);
    let mut v = vec![0u8; 255];
    v.extend([10u8; 256]);
    let out = run(Op::Equalize, 0.0, &v);
    assert_eq!((out[0], out[300]), (0, 255));
}

#[test]
fn sharpness_hand_computed() {
    // 3x3 with a bright centre: blur(centre) = round((8 * 10 + 5 * 100) / 13) = round(44.6) = 45;
    // f = 2 (m = 1): 2 * 100 - 45 = 155. Border pixels keep their value whatever f is.
    let mut im = img(3, 3, |x, y, _| if x == 1 && y == 1 { 100 } else { 10 });
    apply_op(&mut im, Op::Sharpness, 1.0, Interpolation::Bilinear);
    assert_eq!(chan0(&im), vec![10, 10, 10, 10, 155, 10, 10, 10, 10]);
}

#[test]
fn shear_and_translate_hand_computed() {
    // TranslateX +2.9 truncates to 2 px: columns move right, the left two become 0.
    assert_eq!(
        run(Op::TranslateX, 2.9, &[1, 2, 3, 4, 5]),
        vec![0, 0, 1, 2, 3]
    );
    assert_eq!(
        run(Op::TranslateX, -1.5, &[1, 2, 3, 4, 5]),
        vec![2, 3, 4, 5, 0]
    );
    // ShearX m = 1 on a 2-row image: out(x, y) = in(x + (y + 0.5), y) at pixel centres, i.e.
    // row 0 samples half way between x and x+1, row 1 is shifted left by 1.5 px; a centre
    // mapped to x >= 4 lies outside the image and gets the fill 0.
    let mut im = img(4, 2, |x, y, _| (10 * x + 100 * y) as u8);
    apply_op(&mut im, Op::ShearX, 1.0, Interpolation::Bilinear);
    assert_eq!(chan0(&im), vec![5, 15, 25, 0, 115, 125, 0, 0]);
}

fn err_of(spec: &std::path::Path) -> String {
    format!(
        "{:#}",
        open(spec.to_str().unwrap())
            .err()
            .expect("open should fail")
    )
}

fn idx_images(n: u32, h: u32, w: u32, magic: u32) -> Vec<u8> {
    let mut b = [magic, n, h, w]
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect::<Vec<u8>>();
    b.extend((0..n * h * w).map(|i| (i % 256) as u8));
    b
}

fn idx_labels(n: u32) -> Vec<u8> {
    let mut b = [2049u32, n]
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect::<Vec<u8>>();
    b.extend((0..n).map(|i| (i % 3) as u8));
    b
}

#[test]
fn idx_directory_and_bad_idx_errors_name_the_file() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    std::fs::write(p.join("train-images-idx3-ubyte"), idx_images(6, 4, 5, 2051)).unwrap();
    std::fs::write(p.join("train-labels-idx1-ubyte"), idx_labels(6)).unwrap();
    std::fs::write(p.join("t10k-images-idx3-ubyte"), idx_images(3, 4, 5, 2051)).unwrap();
    std::fs::write(p.join("t10k-labels-idx1-ubyte"), idx_labels(3)).unwrap();
    let ds = open(p.to_str().unwrap()).unwrap();
    assert_eq!((ds.train.len(), ds.val.len(), ds.num_classes), (6, 3, 3));
    let (im, l) = ds.train.get(1, None).unwrap();
    assert_eq!((im.width, im.height, l), (5, 4, 1));
    assert_eq!(&im.data[..6], &[20, 20, 20, 21, 21, 21]); // gray -> RGB, image 1 starts at byte 20

    std::fs::write(p.join("t10k-labels-idx1-ubyte"), idx_labels(2)).unwrap();
    let e = err_of(p);
    assert!(
        e.contains("t10k-labels-idx1-ubyte") && e.contains("2 labels") && e.contains("3 images"),
        "{e}"
    );

    std::fs::write(p.join("train-images-idx3-ubyte"), idx_images(6, 4, 5, 2049)).unwrap();
    let e = err_of(p);
    assert!(
        e.contains("train-images-idx3-ubyte") && e.contains("magic"),
        "{e}"
    );

    std::fs::remove_file(p.join("t10k-images-idx3-ubyte")).unwrap();
    std::fs::write(p.join("train-images-idx3-ubyte"), idx_images(6, 4, 5, 2051)).unwrap();
    let e = err_of(p);
    assert!(e.contains("t10k-images-idx3-ubyte"), "{e}");
}

#[test]
fn cifar10_binary() {
    let d = tempfile::tempdir().unwrap();
    let rec = |label: u8, r: u8| -> Vec<u8> {
        let mut v = vec![label];
        v.extend(std::iter::repeat_n(r, 1024)); // R plane
        v.extend(std::iter::repeat_n(1, 1024)); // G plane
        v.extend(std::iter::repeat_n(2, 1024)); // B plane
        v
    };
    std::fs::write(
        d.path().join("data_batch_1.bin"),
        [rec(3, 7), rec(9, 8)].concat(),
    )
    .unwrap();
    std::fs::write(d.path().join("test_batch.bin"), rec(0, 5)).unwrap();
    let ds = open(d.path().to_str().unwrap()).unwrap();
    assert_eq!((ds.train.len(), ds.val.len(), ds.num_classes), (2, 1, 10));
    let (im, l) = ds.train.get(1, None).unwrap();
    assert_eq!((l, &im.data[..6]), (9, &[8u8, 1, 2, 8, 1, 2][..]));
    // Mean over the train set: R (7 + 8) / 2 / 255, G 1/255, B 2/255; std of R = 0.5/255.
    assert!((ds.mean[0] - 7.5 / 255.0).abs() < 1e-6 && (ds.std[0] - 0.5 / 255.0).abs() < 1e-6);
    assert!((ds.mean[1] - 1.0 / 255.0).abs() < 1e-6 && ds.std[2] < 1e-6);
    // The archive's parent folder works too.
    let parent = tempfile::tempdir().unwrap();
    let sub = parent.path().join("cifar-10-batches-bin");
    std::fs::create_dir(&sub).unwrap();
    for f in ["data_batch_1.bin", "test_batch.bin"] {
        std::fs::copy(d.path().join(f), sub.join(f)).unwrap();
    }
    assert_eq!(
        open(parent.path().to_str().unwrap()).unwrap().train.len(),
        2
    );
    std::fs::write(d.path().join("test_batch.bin"), &rec(0, 5)[..100]).unwrap();
    let e = err_of(d.path());
    assert!(
        e.contains("test_batch.bin") && e.contains("3073-byte"),
        "{e}"
    );
}

#[test]
fn image_folder_layout_and_errors() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    for (split, class, name, gray_png) in [
        ("train", "b_dog", "x.png", true),
        ("train", "a_cat", "2.jpg", false),
        ("train", "a_cat", "1.JPEG", false),
        ("val", "a_cat", "v.png", false),
        ("val", "b_dog", "v.jpg", false),
    ] {
        let dir = root.join(split).join(class);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        let fmt = if name.ends_with("png") {
            image::ImageFormat::Png
        } else {
            image::ImageFormat::Jpeg
        };
        if gray_png {
            image::GrayImage::from_pixel(6, 4, image::Luma([77]))
                .save_with_format(&path, fmt)
                .unwrap();
        } else {
            image::RgbImage::from_pixel(8, 5, image::Rgb([200, 100, 50]))
                .save_with_format(&path, fmt)
                .unwrap();
        }
    }
    std::fs::write(root.join("train/a_cat/notes.txt"), "ignored").unwrap();
    let ds = open(root.to_str().unwrap()).unwrap();
    assert_eq!((ds.train.len(), ds.val.len(), ds.num_classes), (3, 2, 2));
    assert_eq!((ds.mean, ds.std), (IMAGENET_MEAN, IMAGENET_STD));
    // Classes sorted (a_cat = 0), files sorted within a class ("1.JPEG" < "2.jpg").
    let (im, l) = ds.train.get(2, None).unwrap();
    assert_eq!(
        (l, im.width, im.height, &im.data[..3]),
        (1, 6, 4, &[77u8, 77, 77][..])
    );
    assert_eq!(ds.train.get(0, None).unwrap().1, 0);
    let r = Recipe {
        train_crop_size: 4,
        batch_size: 2,
        ..Recipe::default()
    };
    let n: usize = train_batches(&ds, &r, 0, 0, 1)
        .unwrap()
        .map(|b| b.unwrap().n)
        .sum();
    assert_eq!(n, 3);

    // A corrupt image is named at open time.
    std::fs::write(
        root.join("val/a_cat/bad.jpg"),
        b"\xFF\xD8 not really a jpeg",
    )
    .unwrap();
    let e = err_of(root);
    assert!(e.contains("bad.jpg"), "{e}");
    std::fs::remove_file(root.join("val/a_cat/bad.jpg")).unwrap();
    // An empty class is named.
    std::fs::create_dir_all(root.join("train/c_empty")).unwrap();
    std::fs::create_dir_all(root.join("val/c_empty")).unwrap();
    let e = err_of(root);
    assert!(e.contains("c_empty") && e.contains("empty class"), "{e}");
    // A missing val folder is named.
    std::fs::remove_dir_all(root.join("val")).unwrap();
    let e = err_of(root);
    assert!(e.contains("val") && e.contains("missing folder"), "{e}");
}

#[test]
fn unknown_dataset_lists_what_is_allowed() {
    let e = format!("{:#}", open("/nonexistent/imagenet").err().unwrap());
    assert!(
        e.contains("/nonexistent/imagenet")
            && e.contains("fashion-mnist")
            && e.contains("synthetic"),
        "{e}"
    );
    assert!(open("synthetic:0").is_err() && open("synthetic:abc").is_err());
    let r = Recipe {
        auto_augment: AutoAugment::Augmix,
        ..Recipe::default()
    };
    let ds = open("synthetic:8").unwrap();
    let e = format!("{:#}", train_batches(&ds, &r, 0, 0, 0).err().unwrap());
    assert!(e.contains("augmix") && e.contains("not supported"), "{e}");
    let r = Recipe {
        auto_augment: AutoAugment::Ra,
        ra_magnitude: 31,
        ..Recipe::default()
    };
    let e = format!("{:#}", train_batches(&ds, &r, 0, 0, 0).err().unwrap());
    assert!(e.contains("ra_magnitude") && e.contains("0..=30"), "{e}");
    let r = Recipe {
        auto_augment: AutoAugment::Ra,
        ra_magnitude: 9,
        ..Recipe::default()
    };
    assert_eq!(
        Policy::from_recipe(&r).unwrap(),
        Policy::RandAugment {
            num_ops: 2,
            magnitude: 9
        }
    );
}

#[test]
fn fashion_mnist_full_or_install_hint() {
    let dir = std::path::Path::new(FASHION_MNIST_FULL_DIR);
    match open("fashion-mnist-full") {
        Ok(ds) => {
            assert!(dir.is_dir());
            assert_eq!(
                (ds.train.len(), ds.val.len(), ds.num_classes),
                (60_000, 10_000, 10)
            );
            // Published Fashion-MNIST train statistics: mean 0.2860, std 0.3530.
            assert!((ds.mean[0] - 0.2860).abs() < 1e-4 && (ds.std[0] - 0.3530).abs() < 1e-4);
        }
        Err(e) => {
            assert!(!dir.join("train-images-idx3-ubyte.gz").exists());
            assert!(format!("{e:#}").contains("apt-get install dataset-fashion-mnist"));
        }
    }
}

#[test]
fn bench_normalise_and_erase() {
    use super::bench::normalise_chw;
    // (v / 255 - mean) / std: 255 in R -> (1 - 0.485) / 0.229 = 2.2489083; the erased pixel is 0.
    let im = img(2, 1, |_, _, c| if c == 0 { 255 } else { 0 });
    let x = normalise_chw(&im, IMAGENET_MEAN, IMAGENET_STD, Some([0, 1, 1, 1]));
    assert_eq!(x.len(), 6);
    assert!((x[0] - 2.2489083).abs() < 1e-6 && x[1] == 0.0);
    assert!((x[2] + 0.456 / 0.224).abs() < 1e-6 && x[3] == 0.0);
}

/// `_blend` element by element (the form before the AVX2 flat loops).
fn blend_reference(img: &mut Image, factor: f64, other: impl Fn(usize) -> f32) {
    let (a, b) = (factor as f32, (1.0 - factor) as f32);
    for (i, v) in img.data.iter_mut().enumerate() {
        *v = (a * *v as f32 + b * other(i)).clamp(0.0, 255.0) as u8;
    }
}

/// `adjust_sharpness` as a 3x3 loop per pixel and channel (the form before the flat loops).
fn sharpness_reference(img: &mut Image, factor: f64) {
    let (w, h) = (img.width, img.height);
    if w <= 2 || h <= 2 {
        return;
    }
    let (a, b) = (1.0f32 / 13.0, 5.0f32 / 13.0);
    let kern = [[a, a, a], [a, b, a], [a, a, a]];
    let mut blur = img.data.clone();
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            for c in 0..3 {
                let mut s = 0f32;
                for (dy, kr) in kern.iter().enumerate() {
                    for (dx, &kv) in kr.iter().enumerate() {
                        s += img.data[((y + dy - 1) * w + x + dx - 1) * 3 + c] as f32 * kv;
                    }
                }
                blur[(y * w + x) * 3 + c] = s.round_ties_even() as u8;
            }
        }
    }
    blend_reference(img, factor, |i| blur[i] as f32);
}

/// The colour ops' flat (vectorised) loops give the element-by-element forms' bytes on
/// random images and magnitudes.
#[test]
fn colour_ops_equal_element_by_element_forms() {
    use rand::Rng;
    let mut r = rng(3);
    for case in 0..300 {
        let (w, h) = (r.random_range(1..50), r.random_range(1..50));
        let im = random_image(&mut r, w, h);
        let m: f64 = r.random_range(-0.99..0.99);
        let (mut fast, mut slow) = (im.clone(), im.clone());
        let g = grayscale(&im);
        let op = [Op::Brightness, Op::Color, Op::Contrast, Op::Sharpness][case % 4];
        apply_op(&mut fast, op, m, Interpolation::Bilinear);
        match op {
            Op::Brightness => blend_reference(&mut slow, 1.0 + m, |_| 0.0),
            Op::Color => blend_reference(&mut slow, 1.0 + m, |i| g[i / 3] as f32),
            Op::Contrast => {
                let mean = g.iter().map(|&v| v as f64).sum::<f64>() as f32 / g.len() as f32;
                blend_reference(&mut slow, 1.0 + m, |_| mean)
            }
            _ => sharpness_reference(&mut slow, 1.0 + m),
        }
        assert_eq!(fast.data, slow.data, "case {case}: {op:?} {m} on {w}x{h}");
    }
}

#[test]
fn worker_nice_defaults_by_device_and_rejects_bad_values() {
    assert_eq!(worker_nice(None, true).unwrap(), 19);
    assert_eq!(worker_nice(None, false).unwrap(), 0);
    assert_eq!(worker_nice(Some("5"), false).unwrap(), 5);
    assert_eq!(worker_nice(Some("0"), true).unwrap(), 0);
    for bad in ["high", "20", "-21", ""] {
        let e = worker_nice(Some(bad), true).unwrap_err().to_string();
        assert!(
            e.contains("ABLATE_WORKER_NICE") && e.contains("-20 to 19"),
            "{bad}: {e}"
        );
    }
}
