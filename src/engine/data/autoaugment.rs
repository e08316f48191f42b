//! Auto-augment policies on u8 RGB images: TrivialAugmentWide (§6), RandAugment and the
//! AutoAugment ImageNet policy (§7), following `torchvision/transforms/autoaugment.py`.
//! Photometric ops use the tensor-backend formulas (f32, truncation to u8); geometric ops
//! use PIL's affine transform (pixel-centre sampling, fill 0), as the default PIL backend.
use super::wide::with_avx2;
use super::Image;
use crate::recipe::{AutoAugment, Interpolation, Recipe};
use rand::Rng;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Identity,
    ShearX,
    ShearY,
    TranslateX,
    TranslateY,
    Rotate,
    Brightness,
    Color,
    Contrast,
    Sharpness,
    Posterize,
    Solarize,
    AutoContrast,
    Equalize,
    Invert,
}

/// The 14 ops of TrivialAugmentWide and RandAugment, in torchvision's order.
pub const OPS14: [Op; 14] = [
    Op::Identity,
    Op::ShearX,
    Op::ShearY,
    Op::TranslateX,
    Op::TranslateY,
    Op::Rotate,
    Op::Brightness,
    Op::Color,
    Op::Contrast,
    Op::Sharpness,
    Op::Posterize,
    Op::Solarize,
    Op::AutoContrast,
    Op::Equalize,
];

#[derive(Debug, Clone, PartialEq)]
pub enum Policy {
    None,
    TrivialAugmentWide,
    /// RandAugment with `num_ops` ops at the fixed bin `magnitude` of 31.
    RandAugment {
        num_ops: usize,
        magnitude: usize,
    },
    AutoAugmentImagenet,
}

impl Policy {
    pub fn from_recipe(r: &Recipe) -> anyhow::Result<Self> {
        Ok(match r.auto_augment {
            AutoAugment::None => Policy::None,
            AutoAugment::TaWide => Policy::TrivialAugmentWide,
            AutoAugment::Ra => {
                anyhow::ensure!(
                    (0..31).contains(&r.ra_magnitude),
                    "ra_magnitude must be a bin in 0..=30 (got {})",
                    r.ra_magnitude
                );
                Policy::RandAugment {
                    num_ops: 2,
                    magnitude: r.ra_magnitude as usize,
                }
            }
            AutoAugment::Imagenet => Policy::AutoAugmentImagenet,
            AutoAugment::Augmix => {
                anyhow::bail!("auto_augment `augmix` is not supported yet; allowed: none, ta_wide, ra, imagenet")
            }
        })
    }
}

/// `torch.linspace(start, end, steps)` in float32, bit-exact with libtorch's CPU kernel for
/// the tables here (steps < 32, so the kernel never takes its vector path): fused
/// multiply-adds, counting up from `start` before the halfway point and down from `end`
/// after it. Widened to f64 like `.item()`.
pub fn linspace_f32(start: f32, end: f32, steps: usize) -> Vec<f64> {
    if steps == 1 {
        return vec![start as f64];
    }
    let step = (end - start) / (steps - 1) as f32;
    let half = steps / 2;
    (0..steps)
        .map(|i| {
            let v = if i < half {
                step.mul_add(i as f32, start)
            } else {
                (-step).mul_add((steps - i - 1) as f32, end)
            };
            v as f64
        })
        .collect()
}

/// `8 - (arange(bins) / ((bins - 1) / k)).round().int()` (torch.round is half-to-even).
pub fn posterize_bits(bins: usize, k: f32) -> Vec<f64> {
    let d = (bins - 1) as f32 / k;
    (0..bins)
        .map(|i| 8.0 - (i as f32 / d).round_ties_even() as f64)
        .collect()
}

/// Magnitude table of `op` for `bins` bins: (magnitudes or empty, signed).
/// `wide` selects TrivialAugmentWide's ranges, else RandAugment/AutoAugment's (which make
/// translation relative to the image size).
pub fn magnitudes(
    op: Op,
    bins: usize,
    wide: bool,
    width: usize,
    height: usize,
) -> (Vec<f64>, bool) {
    let (shear, rot, enh) = if wide {
        (0.99, 135.0, 0.99)
    } else {
        (0.3, 30.0, 0.9)
    };
    let tr = |side: usize| {
        if wide {
            32.0
        } else {
            (150.0 / 331.0 * side as f64) as f32
        }
    };
    match op {
        Op::Identity | Op::AutoContrast | Op::Equalize | Op::Invert => (vec![], false),
        Op::ShearX | Op::ShearY => (linspace_f32(0.0, shear, bins), true),
        Op::TranslateX => (linspace_f32(0.0, tr(width), bins), true),
        Op::TranslateY => (linspace_f32(0.0, tr(height), bins), true),
        Op::Rotate => (linspace_f32(0.0, rot, bins), true),
        Op::Brightness | Op::Color | Op::Contrast | Op::Sharpness => {
            (linspace_f32(0.0, enh, bins), true)
        }
        Op::Posterize => (posterize_bits(bins, if wide { 6.0 } else { 4.0 }), false),
        Op::Solarize => (linspace_f32(255.0, 0.0, bins), false),
    }
}

/// The 25 sub-policies of AutoAugment's ImageNet policy: (op, probability, bin of 10).
#[rustfmt::skip]
pub const IMAGENET_POLICY: [[(Op, f64, Option<usize>); 2]; 25] = {
    use Op::*;
    [
        [(Posterize, 0.4, Some(8)), (Rotate, 0.6, Some(9))],
        [(Solarize, 0.6, Some(5)), (AutoContrast, 0.6, None)],
        [(Equalize, 0.8, None), (Equalize, 0.6, None)],
        [(Posterize, 0.6, Some(7)), (Posterize, 0.6, Some(6))],
        [(Equalize, 0.4, None), (Solarize, 0.2, Some(4))],
        [(Equalize, 0.4, None), (Rotate, 0.8, Some(8))],
        [(Solarize, 0.6, Some(3)), (Equalize, 0.6, None)],
        [(Posterize, 0.8, Some(5)), (Equalize, 1.0, None)],
        [(Rotate, 0.2, Some(3)), (Solarize, 0.6, Some(8))],
        [(Equalize, 0.6, None), (Posterize, 0.4, Some(6))],
        [(Rotate, 0.8, Some(8)), (Color, 0.4, Some(0))],
        [(Rotate, 0.4, Some(9)), (Equalize, 0.6, None)],
        [(Equalize, 0.0, None), (Equalize, 0.8, None)],
        [(Invert, 0.6, None), (Equalize, 1.0, None)],
        [(Color, 0.6, Some(4)), (Contrast, 1.0, Some(8))],
        [(Rotate, 0.8, Some(8)), (Color, 1.0, Some(2))],
        [(Color, 0.8, Some(8)), (Solarize, 0.8, Some(7))],
        [(Sharpness, 0.4, Some(7)), (Invert, 0.6, None)],
        [(ShearX, 0.6, Some(5)), (Equalize, 1.0, None)],
        [(Color, 0.4, Some(0)), (Equalize, 0.6, None)],
        [(Equalize, 0.4, None), (Solarize, 0.2, Some(4))],
        [(Solarize, 0.6, Some(5)), (AutoContrast, 0.6, None)],
        [(Invert, 0.6, None), (Equalize, 1.0, None)],
        [(Color, 0.6, Some(4)), (Contrast, 1.0, Some(8))],
        [(Equalize, 0.8, None), (Equalize, 0.6, None)],
    ]
};

/// Draws TrivialAugmentWide's (op, signed magnitude) for one image.
pub fn draw_trivial<R: Rng>(rng: &mut R, width: usize, height: usize) -> (Op, f64) {
    let op = OPS14[rng.random_range(0..OPS14.len())];
    let (mags, signed) = magnitudes(op, 31, true, width, height);
    let mut m = if mags.is_empty() {
        0.0
    } else {
        mags[rng.random_range(0..mags.len())]
    };
    if signed && rng.random_bool(0.5) {
        m = -m;
    }
    (op, m)
}

/// Applies `policy` in place, drawing its randomness from `rng`.
pub fn apply<R: Rng>(policy: &Policy, img: &mut Image, f: Interpolation, rng: &mut R) {
    let (w, h) = (img.width, img.height);
    match *policy {
        Policy::None => {}
        Policy::TrivialAugmentWide => {
            let (op, m) = draw_trivial(rng, w, h);
            apply_op(img, op, m, f);
        }
        Policy::RandAugment { num_ops, magnitude } => {
            for _ in 0..num_ops {
                let op = OPS14[rng.random_range(0..OPS14.len())];
                let (mags, signed) = magnitudes(op, 31, false, w, h);
                let mut m = mags.get(magnitude).copied().unwrap_or(0.0);
                if signed && rng.random_bool(0.5) {
                    m = -m;
                }
                apply_op(img, op, m, f);
            }
        }
        Policy::AutoAugmentImagenet => {
            let sub = &IMAGENET_POLICY[rng.random_range(0..IMAGENET_POLICY.len())];
            // torchvision draws the two probabilities and two signs up front.
            let probs: [f64; 2] = [rng.random(), rng.random()];
            let signs: [bool; 2] = [rng.random_bool(0.5), rng.random_bool(0.5)];
            for (i, &(op, p, bin)) in sub.iter().enumerate() {
                if probs[i] <= p {
                    let (mags, signed) = magnitudes(op, 10, false, w, h);
                    let mut m = bin.map(|b| mags[b]).unwrap_or(0.0);
                    if signed && signs[i] {
                        m = -m;
                    }
                    apply_op(img, op, m, f);
                }
            }
        }
    }
}

/// torchvision `_apply_op` for one op with its (signed) magnitude.
pub fn apply_op(img: &mut Image, op: Op, m: f64, f: Interpolation) {
    match op {
        Op::Identity => {}
        Op::ShearX => affine(img, [0.0, 0.0], m.atan().to_degrees(), 0.0, [0.0, 0.0], f),
        Op::ShearY => affine(img, [0.0, 0.0], 0.0, m.atan().to_degrees(), [0.0, 0.0], f),
        Op::TranslateX => affine(img, [m.trunc(), 0.0], 0.0, 0.0, [0.0, 0.0], f),
        Op::TranslateY => affine(img, [0.0, m.trunc()], 0.0, 0.0, [0.0, 0.0], f),
        Op::Rotate => rotate(img, m, f),
        Op::Brightness => blend_with(img, 1.0 + m, Other::Value(0.0)),
        Op::Color => {
            let g: Vec<u8> = grayscale(img).iter().flat_map(|&v| [v; 3]).collect();
            blend_with(img, 1.0 + m, Other::Pixels(&g));
        }
        Op::Contrast => {
            let g = grayscale(img);
            let mean = g.iter().map(|&v| v as f64).sum::<f64>() as f32 / g.len() as f32;
            blend_with(img, 1.0 + m, Other::Value(mean));
        }
        Op::Sharpness => sharpness(img, 1.0 + m),
        Op::Posterize => {
            let mask = !((1u16 << (8 - m as u32)) - 1) as u8;
            img.data.iter_mut().for_each(|v| *v &= mask);
        }
        Op::Solarize => img.data.iter_mut().for_each(|v| {
            if *v as f64 >= m {
                *v = 255 - *v
            }
        }),
        Op::AutoContrast => autocontrast(img),
        Op::Equalize => equalize(img),
        Op::Invert => img.data.iter_mut().for_each(|v| *v = 255 - *v),
    }
}

/// `rgb_to_grayscale` (tensor): trunc(0.2989 R + 0.587 G + 0.114 B) in f32.
pub fn grayscale(img: &Image) -> Vec<u8> {
    img.data
        .chunks_exact(3)
        .map(|p| (0.2989f32 * p[0] as f32 + 0.587f32 * p[1] as f32 + 0.114f32 * p[2] as f32) as u8)
        .collect()
}

/// The degenerate image `_blend` mixes with: one value everywhere, or a same-size image.
enum Other<'a> {
    Value(f32),
    Pixels(&'a [u8]),
}

/// `_blend(img, other, f)`: clamp(f * img + (1 - f) * other, 0, 255) in f32, truncated.
fn blend_with(img: &mut Image, factor: f64, other: Other) {
    let (a, b) = (factor as f32, (1.0 - factor) as f32);
    // `as i32 as u8` truncates like `as u8` on 0..=255 and vectorises.
    let mix = |v: u8, o: f32| (a * v as f32 + b * o).clamp(0.0, 255.0) as i32 as u8;
    with_avx2(|| match other {
        Other::Value(o) => img.data.iter_mut().for_each(|v| *v = mix(*v, o)),
        Other::Pixels(o) => {
            for (v, &o) in img.data.iter_mut().zip(o) {
                *v = mix(*v, o as f32);
            }
        }
    });
}

/// `adjust_sharpness`: blend with the 3x3 smoothed image (kernel 1s with 5 in the centre,
/// /13, rounded half-to-even; border pixels unchanged).
fn sharpness(img: &mut Image, factor: f64) {
    let (w, h) = (img.width, img.height);
    if w <= 2 || h <= 2 {
        return;
    }
    let (a, b) = (1.0f32 / 13.0, 5.0f32 / 13.0);
    let kern = [a, a, a, a, b, a, a, a, a];
    let (src, row) = (&img.data, w * 3);
    let mut blur = src.clone();
    // Interior values of one row, all channels: n flat values from column 1.
    let n = (w - 2) * 3;
    with_avx2(|| {
        for y in 1..h - 1 {
            // The 9 neighbours of each value, as slices of equal length (same order of
            // summation as the 3x3 loop: rows top to bottom, columns left to right).
            let taps: [&[u8]; 9] =
                std::array::from_fn(|k| &src[(y + k / 3 - 1) * row + (k % 3) * 3..][..n]);
            let out = &mut blur[y * row + 3..][..n];
            for (j, o) in out.iter_mut().enumerate() {
                let mut s = 0f32;
                for (t, &kv) in taps.iter().zip(&kern) {
                    s += t[j] as f32 * kv;
                }
                // Half-to-even rounding of 0 <= s < 2^23 by the FPU's default mode (a libm
                // call otherwise, on baseline x86-64).
                *o = ((s + 8_388_608.0) - 8_388_608.0) as i32 as u8;
            }
        }
    });
    blend_with(img, factor, Other::Pixels(&blur));
}

/// `autocontrast` (tensor): per channel, (v - min) * 255 / (max - min); unchanged if flat.
pub fn autocontrast(img: &mut Image) {
    for c in 0..3 {
        let ch = img.data.iter().skip(c).step_by(3);
        let (lo, hi) = ch.fold((255u8, 0u8), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        if lo == hi {
            continue;
        }
        let scale = 255.0f32 / (hi as f32 - lo as f32);
        for v in img.data.iter_mut().skip(c).step_by(3) {
            *v = ((*v as f32 - lo as f32) * scale).clamp(0.0, 255.0) as u8;
        }
    }
}

/// PIL `ImageOps.equalize` per channel: step = (total - count of the last used value) / 255,
/// lut[i] = (step / 2 + cumulative count below i) / step.
pub fn equalize(img: &mut Image) {
    for c in 0..3 {
        let mut hist = [0usize; 256];
        for &v in img.data.iter().skip(c).step_by(3) {
            hist[v as usize] += 1;
        }
        let last = hist.iter().rev().find(|&&n| n > 0).copied().unwrap_or(0);
        let total: usize = hist.iter().sum();
        let step = (total - last) / 255;
        if step == 0 {
            continue;
        }
        let mut lut = [0u8; 256];
        let mut n = step / 2;
        for i in 0..256 {
            lut[i] = (n / step).min(255) as u8;
            n += hist[i];
        }
        for v in img.data.iter_mut().skip(c).step_by(3) {
            *v = lut[*v as usize];
        }
    }
}

/// torchvision `_get_inverse_affine_matrix` (angle 0, scale 1) followed by PIL's AFFINE
/// transform: maps output pixel centres to input coordinates.
fn affine(
    img: &mut Image,
    translate: [f64; 2],
    shear_x_deg: f64,
    shear_y_deg: f64,
    center: [f64; 2],
    f: Interpolation,
) {
    let (sx, sy) = (shear_x_deg.to_radians(), shear_y_deg.to_radians());
    let rot = 0.0f64;
    let a = (rot - sy).cos() / sy.cos();
    let b = -(rot - sy).cos() * sx.tan() / sy.cos() - rot.sin();
    let c = (rot - sy).sin() / sy.cos();
    let d = -(rot - sy).sin() * sx.tan() / sy.cos() + rot.cos();
    let mut m = [d, -b, 0.0, -c, a, 0.0];
    let (cx, cy) = (center[0], center[1]);
    let (tx, ty) = (translate[0], translate[1]);
    m[2] += m[0] * (-cx - tx) + m[1] * (-cy - ty);
    m[5] += m[3] * (-cx - tx) + m[4] * (-cy - ty);
    m[2] += cx;
    m[5] += cy;
    pil_transform(img, m, f);
}

/// PIL `Image.rotate(angle)` about the centre, no expand, fill 0; positive = counter-clockwise.
fn rotate(img: &mut Image, angle: f64, f: Interpolation) {
    let angle = angle.rem_euclid(360.0);
    if angle == 0.0 {
        return;
    }
    let (cx, cy) = (img.width as f64 / 2.0, img.height as f64 / 2.0);
    let r = -angle.to_radians();
    let round15 = |v: f64| (v * 1e15).round() / 1e15;
    let (cs, sn) = (round15(r.cos()), round15(r.sin()));
    let mut m = [cs, sn, 0.0, -sn, cs, 0.0];
    m[2] = m[0] * -cx + m[1] * -cy + cx;
    m[5] = m[3] * -cx + m[4] * -cy + cy;
    pil_transform(img, m, f);
}

/// `v.floor()` for |v| < 2^53 without the libm call baseline x86-64 makes.
#[inline]
fn floor(v: f64) -> f64 {
    let t = v as i64 as f64;
    if t > v {
        t - 1.0
    } else {
        t
    }
}

/// PIL `ImagingTransformAffine`: output pixel (x, y) samples the input at
/// (a (x+.5) + b (y+.5) + c, d (x+.5) + e (y+.5) + f); points outside give 0.
///
/// The coordinates are PIL's f64 expressions term by term (the column products are
/// tabulated, the sums keep their order), and the shortcuts below are exact identities of
/// its arithmetic, so the pixels stay Pillow's (`tests_pil.rs`).
pub(super) fn pil_transform(img: &mut Image, m: [f64; 6], f: Interpolation) {
    let (w, h) = (img.width, img.height);
    let src = std::mem::take(&mut img.data);
    let mut out = vec![0u8; w * h * 3];
    if let Some((tx, ty)) = integer_shift(m) {
        // An integer translation samples pixel centres exactly: every filter's weights are
        // then 1 on one pixel (bilinear: a + (b - a) * 0 = a), so this is a shifted copy.
        shift_copy(&src, &mut out, w, h, tx, ty);
        img.data = out;
        return;
    }
    let col: Vec<[f64; 2]> = (0..w)
        .map(|x| [m[0] * (x as f64 + 0.5), m[3] * (x as f64 + 0.5)])
        .collect();
    for y in 0..h {
        let fy = y as f64 + 0.5;
        let (rx, ry) = (m[1] * fy, m[4] * fy);
        for (x, &[cx, cy]) in col.iter().enumerate() {
            let xin = cx + rx + m[2];
            let yin = cy + ry + m[5];
            if xin < 0.0 || xin >= w as f64 || yin < 0.0 || yin >= h as f64 {
                continue;
            }
            let o = &mut out[(y * w + x) * 3..(y * w + x) * 3 + 3];
            match f {
                Interpolation::Nearest => {
                    let p = (yin as usize * w + xin as usize) * 3;
                    o.copy_from_slice(&src[p..p + 3]);
                }
                Interpolation::Bilinear => {
                    let (xs, ys) = (xin - 0.5, yin - 0.5);
                    let (x0, y0) = (floor(xs), floor(ys));
                    let (dx, dy) = (xs - x0, ys - y0);
                    // Edge neighbours are clamped (PIL's XCLIP/YCLIP; reusing row y for a
                    // missing row y+1 is the same as clamping it).
                    let cx = |v: f64| (v as isize).clamp(0, w as isize - 1) as usize;
                    let cy = |v: f64| (v as isize).clamp(0, h as isize - 1) as usize;
                    let (xa, xb) = (cx(x0) * 3, cx(x0 + 1.0) * 3);
                    let (ra, rb) = (cy(y0) * w * 3, cy(y0 + 1.0) * w * 3);
                    let lerp = |a: u8, b: u8, d: f64| a as f64 + (b as f64 - a as f64) * d;
                    let to_u8 = |v: f64| v.clamp(0.0, 255.0) as u8;
                    // A zero weight drops its lerp exactly (v + (u - v) * 0 = v): shears
                    // move along one axis only.
                    if dy == 0.0 {
                        for (c, oc) in o.iter_mut().enumerate() {
                            *oc = to_u8(lerp(src[ra + xa + c], src[ra + xb + c], dx));
                        }
                    } else if dx == 0.0 {
                        for (c, oc) in o.iter_mut().enumerate() {
                            *oc = to_u8(lerp(src[ra + xa + c], src[rb + xa + c], dy));
                        }
                    } else {
                        for (c, oc) in o.iter_mut().enumerate() {
                            let v1 = lerp(src[ra + xa + c], src[ra + xb + c], dx);
                            let v2 = lerp(src[rb + xa + c], src[rb + xb + c], dx);
                            *oc = to_u8(v1 + (v2 - v1) * dy);
                        }
                    }
                }
                Interpolation::Bicubic => bicubic_at(&src, w, h, xin, yin, o),
            }
        }
    }
    img.data = out;
}

/// PIL's bicubic sample (cubic convolution, a = -1; edges clamped) of the point
/// (`xin`, `yin`) into the RGB pixel `o`.
pub(super) fn bicubic_at(src: &[u8], w: usize, h: usize, xin: f64, yin: f64, o: &mut [u8]) {
    let px = |x: isize, y: isize, c: usize| -> f64 {
        let x = x.clamp(0, w as isize - 1) as usize;
        let y = y.clamp(0, h as isize - 1) as usize;
        src[(y * w + x) * 3 + c] as f64
    };
    let (xs, ys) = (xin - 0.5, yin - 0.5);
    let (x0, y0) = (floor(xs), floor(ys));
    let (dx, dy) = (xs - x0, ys - y0);
    let (x0, y0) = (x0 as isize - 1, y0 as isize - 1);
    let cubic = |v1: f64, v2: f64, v3: f64, v4: f64, d: f64| {
        let p1 = v2;
        let p2 = -v1 + v3;
        let p3 = 2.0 * (v1 - v2) + v3 - v4;
        let p4 = -v1 + v2 - v3 + v4;
        p1 + d * (p2 + d * (p3 + d * p4))
    };
    for (c, oc) in o.iter_mut().enumerate() {
        let row = |yy: isize| {
            cubic(
                px(x0, yy, c),
                px(x0 + 1, yy, c),
                px(x0 + 2, yy, c),
                px(x0 + 3, yy, c),
                dx,
            )
        };
        let v = cubic(row(y0), row(y0 + 1), row(y0 + 2), row(y0 + 3), dy);
        *oc = v.clamp(0.0, 255.0) as u8;
    }
}

/// (tx, ty) when `m` is a translation by whole pixels.
fn integer_shift(m: [f64; 6]) -> Option<(isize, isize)> {
    let whole = |v: f64| v.fract() == 0.0 && v.abs() < 1e9;
    (m[0] == 1.0 && m[1] == 0.0 && m[3] == 0.0 && m[4] == 1.0 && whole(m[2]) && whole(m[5]))
        .then(|| (m[2] as isize, m[5] as isize))
}

/// out(x, y) = src(x + tx, y + ty), 0 outside (`out` starts zeroed).
fn shift_copy(src: &[u8], out: &mut [u8], w: usize, h: usize, tx: isize, ty: isize) {
    let (wi, hi) = (w as isize, h as isize);
    let (x_lo, x_hi) = ((-tx).clamp(0, wi), (wi - tx).clamp(0, wi));
    if x_lo >= x_hi {
        return;
    }
    for y in (-ty).clamp(0, hi)..(hi - ty).clamp(0, hi) {
        let (o, i) = (
            (y * wi + x_lo) as usize * 3,
            ((y + ty) * wi + x_lo + tx) as usize * 3,
        );
        let n = (x_hi - x_lo) as usize * 3;
        out[o..o + n].copy_from_slice(&src[i..i + n]);
    }
}
