//! PIL-style resampling (Pillow `libImaging/Resample.c`, 8-bit path), which is what
//! torchvision's default PIL backend runs for Resize / RandomResizedCrop.
//!
//! Separable convolution: the filter support is widened by the downscale factor (this is the
//! "antialias"), weights are computed in f64, normalised, then quantised to 22-bit fixed point;
//! the horizontal pass runs first and is clipped to u8 before the vertical pass, like PIL.
use super::Image;
use crate::recipe::Interpolation;

const PRECISION_BITS: u32 = 32 - 8 - 2;

#[cfg(target_arch = "x86_64")]
mod simd;
/// Elsewhere there are no kernels and the scalar passes run.
#[cfg(not(target_arch = "x86_64"))]
mod simd {
    pub fn available() -> bool {
        false
    }
    pub struct HTable;
    impl HTable {
        pub fn new(_: usize, _: &[i32]) -> HTable {
            HTable
        }
    }
    /// # Safety
    /// Never called: `available()` is false.
    pub unsafe fn hrow(_: &HTable, _: &[u8], _: &mut [u8], _: &[usize]) -> usize {
        0
    }
    /// # Safety
    /// Never called: `available()` is false.
    pub unsafe fn vrow(_: &[u8], _: usize, _: &[i32], _: &mut [u8]) {
        unreachable!("available() is false")
    }
}

/// A crop box in source pixels: (top, left, height, width).
pub type Box4 = (usize, usize, usize, usize);

fn filter_support(f: Interpolation) -> f64 {
    match f {
        Interpolation::Bilinear => 1.0,
        Interpolation::Bicubic => 2.0,
        Interpolation::Nearest => 0.0,
    }
}

fn filter(f: Interpolation, x: f64) -> f64 {
    let x = x.abs();
    match f {
        Interpolation::Bilinear => {
            if x < 1.0 {
                1.0 - x
            } else {
                0.0
            }
        }
        Interpolation::Bicubic => {
            // Keys cubic with a = -0.5, as PIL.
            const A: f64 = -0.5;
            if x < 1.0 {
                ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
            } else if x < 2.0 {
                (((x - 5.0) * x + 8.0) * x - 4.0) * A
            } else {
                0.0
            }
        }
        Interpolation::Nearest => 0.0,
    }
}

/// Fixed-point weights for one axis: per output pixel, (first input index, weights).
struct Coeffs {
    bounds: Vec<(usize, usize)>,
    ksize: usize,
    k: Vec<i32>,
}

/// PIL `precompute_coeffs` + `normalize_coeffs_8bpc`: output pixels sample the input span
/// `in0..in1` (fractional when the source was decoded at a reduced scale), and the filter
/// never reads outside `0..in_size`.
fn coeffs(f: Interpolation, in_size: usize, in0: f64, in1: f64, out_size: usize) -> Coeffs {
    let scale = (in1 - in0) / out_size as f64;
    let filterscale = scale.max(1.0);
    let support = filter_support(f) * filterscale;
    let ksize = support.ceil() as usize * 2 + 1;
    let mut bounds = Vec::with_capacity(out_size);
    let mut k = vec![0i32; out_size * ksize];
    let mut pre = vec![0f64; ksize];
    for xx in 0..out_size {
        let center = in0 + (xx as f64 + 0.5) * scale;
        let ss = 1.0 / filterscale;
        // C casts truncate toward zero.
        let xmin = ((center - support + 0.5) as i64).max(0) as usize;
        let xmax = ((center + support + 0.5) as i64).min(in_size as i64) as usize - xmin;
        let mut ww = 0.0;
        for (x, p) in pre.iter_mut().enumerate().take(xmax) {
            let w = filter(f, (x as f64 + xmin as f64 - center + 0.5) * ss);
            *p = w;
            ww += w;
        }
        for x in 0..xmax {
            let w = if ww != 0.0 { pre[x] / ww } else { pre[x] };
            let one = (1i64 << PRECISION_BITS) as f64;
            k[xx * ksize + x] = if w < 0.0 {
                (-0.5 + w * one) as i32
            } else {
                (0.5 + w * one) as i32
            };
        }
        bounds.push((xmin, xmax));
    }
    Coeffs { bounds, ksize, k }
}

/// PIL's `clip8`: the arithmetic shift maps v <= 0 to 0 or -1 and v >= 255 << 22 to >= 255,
/// so clamping after it is the same as PIL's comparisons first, without branches.
#[inline]
fn clip8(v: i32) -> u8 {
    (v >> PRECISION_BITS).clamp(0, 255) as u8
}

/// Coefficients with every window widened to exactly `ksize` taps (zero weights) and moved
/// inside `0..in_size`, so the horizontal pass runs a fixed-length, unrolled loop. Zero
/// weights add nothing, so the sums are PIL's exactly. None when the input is narrower
/// than the kernel.
fn padded(c: &Coeffs, in_size: usize) -> Option<(Vec<usize>, Vec<i32>)> {
    let k = c.ksize;
    if in_size < k {
        return None;
    }
    let mut starts = Vec::with_capacity(c.bounds.len());
    let mut w = vec![0i32; c.bounds.len() * k];
    for (xx, &(xmin, n)) in c.bounds.iter().enumerate() {
        let start = xmin.min(in_size - k);
        let shift = xmin - start;
        w[xx * k + shift..xx * k + shift + n].copy_from_slice(&c.k[xx * k..xx * k + n]);
        starts.push(start);
    }
    Some((starts, w))
}

/// [`hrow`] for the kernel lengths of downscales up to 6x (bilinear) / 3x (bicubic);
/// false for other lengths.
fn hrow_fixed(ksize: usize, row: &[u8], out: &mut [u8], starts: &[usize], w: &[i32]) -> bool {
    match ksize {
        3 => hrow::<3>(row, out, starts, w),
        5 => hrow::<5>(row, out, starts, w),
        7 => hrow::<7>(row, out, starts, w),
        9 => hrow::<9>(row, out, starts, w),
        11 => hrow::<11>(row, out, starts, w),
        13 => hrow::<13>(row, out, starts, w),
        _ => return false,
    }
    true
}

/// One row of the horizontal pass with `K`-tap windows starting at `starts` (a fixed trip
/// count the compiler unrolls).
fn hrow<const K: usize>(row: &[u8], out: &mut [u8], starts: &[usize], w: &[i32]) {
    for ((o, &x), k) in out.chunks_exact_mut(3).zip(starts).zip(w.chunks_exact(K)) {
        let p = &row[x * 3..x * 3 + 3 * K];
        let mut s = [1i32 << (PRECISION_BITS - 1); 3];
        for t in 0..K {
            // Wrapping ops: the sums provably fit in i32 (|sum| < 255 * 1.3 * 2^22).
            s[0] = s[0].wrapping_add((p[3 * t] as i32).wrapping_mul(k[t]));
            s[1] = s[1].wrapping_add((p[3 * t + 1] as i32).wrapping_mul(k[t]));
            s[2] = s[2].wrapping_add((p[3 * t + 2] as i32).wrapping_mul(k[t]));
        }
        o[0] = clip8(s[0]);
        o[1] = clip8(s[1]);
        o[2] = clip8(s[2]);
    }
}

/// Crops `bx` out of `src` and resizes it to `out_w` x `out_h` (torchvision `resized_crop`
/// on a PIL image: crop first, so the filter never reads outside the box).
pub fn resized_crop(src: &Image, bx: Box4, out_w: usize, out_h: usize, f: Interpolation) -> Image {
    let (top, left, h, w) = bx;
    assert!(top + h <= src.height && left + w <= src.width && h > 0 && w > 0);
    let b = [left, top, left + w, top + h].map(|v| v as f64);
    resample_box(src, b, out_w, out_h, f)
}

/// Resizes the box `bx` = (x0, y0, x1, y1) of `src` (fractional coordinates allowed) to
/// `out_w` x `out_h`. The filter reads only the pixels the box overlaps, so an integer box is
/// exactly [`resized_crop`]'s crop-then-resize.
pub fn resample_box(
    src: &Image,
    bx: [f64; 4],
    out_w: usize,
    out_h: usize,
    f: Interpolation,
) -> Image {
    resample_box_with(src, bx, out_w, out_h, f, simd::available())
}

/// [`resample_box`] with the SIMD kernels on or off (the pixels are the same either way).
fn resample_box_with(
    src: &Image,
    bx: [f64; 4],
    out_w: usize,
    out_h: usize,
    f: Interpolation,
    use_simd: bool,
) -> Image {
    let [x0, y0, x1, y1] = bx;
    let (left, top) = (x0.floor() as usize, y0.floor() as usize);
    let (right, bottom) = (x1.ceil() as usize, y1.ceil() as usize);
    assert!(
        x0 >= 0.0 && y0 >= 0.0 && right <= src.width && bottom <= src.height,
        "box {bx:?} outside {}x{}",
        src.width,
        src.height
    );
    assert!(x1 > x0 && y1 > y0 && out_w > 0 && out_h > 0);
    let (w, h) = (right - left, bottom - top);
    // Box coordinates relative to the pixels it overlaps.
    let (rx0, rx1) = (x0 - left as f64, x1 - left as f64);
    let (ry0, ry1) = (y0 - top as f64, y1 - top as f64);
    if f == Interpolation::Nearest {
        return nearest(src, (left, top), [rx0, ry0, rx1, ry1], out_w, out_h);
    }
    let stride = src.width * 3;
    // Horizontal pass over the rows of the box (skipped when it would copy, as PIL).
    let (tmp, tmp_w) = if out_w != w || rx0 != 0.0 || rx1 != w as f64 {
        let c = coeffs(f, w, rx0, rx1, out_w);
        let mut tmp = vec![0u8; h * out_w * 3];
        let fixed = padded(&c, w);
        let table = match &fixed {
            Some((_, k)) if use_simd => Some(simd::HTable::new(c.ksize, k)),
            _ => None,
        };
        let ks = c.ksize;
        for y in 0..h {
            let row = &src.data[(top + y) * stride + left * 3..(top + y) * stride + (left + w) * 3];
            let out = &mut tmp[y * out_w * 3..(y + 1) * out_w * 3];
            // Output pixels done so far (the SIMD kernel leaves the last few to the rest).
            let mut done = 0;
            if let Some((starts, k)) = &fixed {
                if let Some(table) = &table {
                    // SAFETY: the table is only built when the CPU has the kernels'
                    // features, from the `out_w` windows `padded` made.
                    done = unsafe { simd::hrow(table, row, out, starts) };
                }
                if hrow_fixed(
                    ks,
                    row,
                    &mut out[done * 3..],
                    &starts[done..],
                    &k[done * ks..],
                ) {
                    continue;
                }
            }
            for (xx, &(xmin, n)) in c.bounds.iter().enumerate().skip(done) {
                let k = &c.k[xx * c.ksize..xx * c.ksize + n];
                let mut s = [1i32 << (PRECISION_BITS - 1); 3];
                // Wrapping ops: the sums provably fit in i32 (|sum| < 255 * 1.3 * 2^22), and
                // without overflow checks the loops vectorise in the dev profile too.
                for (p, &kx) in row[xmin * 3..(xmin + n) * 3].chunks_exact(3).zip(k) {
                    s[0] = s[0].wrapping_add((p[0] as i32).wrapping_mul(kx));
                    s[1] = s[1].wrapping_add((p[1] as i32).wrapping_mul(kx));
                    s[2] = s[2].wrapping_add((p[2] as i32).wrapping_mul(kx));
                }
                out[xx * 3] = clip8(s[0]);
                out[xx * 3 + 1] = clip8(s[1]);
                out[xx * 3 + 2] = clip8(s[2]);
            }
        }
        (tmp, out_w)
    } else {
        let mut tmp = Vec::with_capacity(h * w * 3);
        for y in 0..h {
            tmp.extend_from_slice(
                &src.data[(top + y) * stride + left * 3..(top + y) * stride + (left + w) * 3],
            );
        }
        (tmp, w)
    };
    if out_h == h && ry0 == 0.0 && ry1 == h as f64 {
        return Image {
            width: tmp_w,
            height: h,
            data: tmp,
        };
    }
    // Vertical pass.
    let c = coeffs(f, h, ry0, ry1, out_h);
    let row_len = tmp_w * 3;
    let mut out = vec![0u8; out_h * row_len];
    let mut acc = vec![0i32; row_len];
    for (yy, &(ymin, n)) in c.bounds.iter().enumerate() {
        if use_simd {
            let k = &c.k[yy * c.ksize..yy * c.ksize + n];
            // SAFETY: `use_simd` is only true when the CPU has the kernel's features.
            unsafe { simd::vrow(&tmp, ymin, k, &mut out[yy * row_len..(yy + 1) * row_len]) };
            continue;
        }
        acc.fill(1 << (PRECISION_BITS - 1));
        for (y, &ky) in c.k[yy * c.ksize..yy * c.ksize + n].iter().enumerate() {
            let row = &tmp[(ymin + y) * row_len..(ymin + y + 1) * row_len];
            for (a, &p) in acc.iter_mut().zip(row) {
                *a = a.wrapping_add((p as i32).wrapping_mul(ky));
            }
        }
        for (o, &a) in out[yy * row_len..(yy + 1) * row_len].iter_mut().zip(&acc) {
            *o = clip8(a);
        }
    }
    Image {
        width: out_w,
        height: out_h,
        data: out,
    }
}

/// PIL NEAREST resize: samples the source pixel under each output pixel centre. `origin` is
/// the top-left pixel the box overlaps, `rb` the box relative to it.
fn nearest(
    src: &Image,
    (left, top): (usize, usize),
    rb: [f64; 4],
    out_w: usize,
    out_h: usize,
) -> Image {
    let [x0, y0, x1, y1] = rb;
    let (w, h) = ((x1.ceil() as usize).max(1), (y1.ceil() as usize).max(1));
    let mut data = Vec::with_capacity(out_w * out_h * 3);
    for yy in 0..out_h {
        let y = ((y0 + (yy as f64 + 0.5) * (y1 - y0) / out_h as f64) as usize).min(h - 1);
        for xx in 0..out_w {
            let x = ((x0 + (xx as f64 + 0.5) * (x1 - x0) / out_w as f64) as usize).min(w - 1);
            let p = ((top + y) * src.width + left + x) * 3;
            data.extend_from_slice(&src.data[p..p + 3]);
        }
    }
    Image {
        width: out_w,
        height: out_h,
        data,
    }
}

/// Whole-image resize.
pub fn resize(src: &Image, out_w: usize, out_h: usize, f: Interpolation) -> Image {
    if out_w == src.width && out_h == src.height {
        return src.clone();
    }
    resized_crop(src, (0, 0, src.height, src.width), out_w, out_h, f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// The SIMD kernels give the scalar passes' pixels on random images, boxes (integer and
    /// fractional), up- and downscales and both filters; noise exercises the clipping.
    #[test]
    fn simd_passes_equal_scalar() {
        if !simd::available() {
            eprintln!("no SIMD kernels on this CPU: nothing to compare");
            return;
        }
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for case in 0..300 {
            let (w, h) = (rng.random_range(1..90), rng.random_range(1..90));
            let src = crate::engine::data::random_image(&mut rng, w, h);
            let x0 = rng.random_range(0.0..w as f64 - 0.5);
            let y0 = rng.random_range(0.0..h as f64 - 0.5);
            let mut bx = [
                x0,
                y0,
                rng.random_range(x0 + 0.5..=w as f64),
                rng.random_range(y0 + 0.5..=h as f64),
            ];
            if case % 2 == 0 {
                bx = bx.map(|v| v.floor());
                bx[2] = bx[2].max(bx[0] + 1.0);
                bx[3] = bx[3].max(bx[1] + 1.0);
            }
            let (ow, oh) = (rng.random_range(1..60), rng.random_range(1..60));
            for f in [Interpolation::Bilinear, Interpolation::Bicubic] {
                let a = resample_box_with(&src, bx, ow, oh, f, true);
                let b = resample_box_with(&src, bx, ow, oh, f, false);
                assert_eq!(a, b, "case {case}: {w}x{h} box {bx:?} -> {ow}x{oh} {f:?}");
            }
        }
    }
}
