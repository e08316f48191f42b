//! AVX2 kernels for the two resampling passes, chosen at run time. They compute the same
//! 22-bit fixed-point sums as the scalar code, in i32 lanes with wrapping adds (the
//! horizontal pass via `vpmaddwd` on weights split into 11-bit halves, the vertical one via
//! `vpmulld`), and clip the same way (arithmetic shift, then saturating packs), so the pixels
//! are identical: `resize::tests` compares both paths on random images.
//!
//! Why by hand: the interleaved RGB rows defeat auto-vectorisation of the horizontal pass,
//! and `fast_image_resize` uses its own coefficient precision, not Pillow's.
use super::PRECISION_BITS;
use std::arch::x86_64::*;

const HALF: i32 = 1 << (PRECISION_BITS - 1);

/// Whether this CPU runs the kernels (std caches the answer).
pub fn available() -> bool {
    is_x86_feature_detected!("avx2")
}

/// The horizontal pass's weights arranged for [`hrow`]: per pair of output pixels and pair
/// of taps, 16 i16 lanes of the weights' high parts (`k >> 11`) and 16 of their low 11 bits,
/// so that `vpmaddwd` multiplies and adds two taps at once. `(hi << 11) + lo` is the i32
/// weight, and the sums recombine exactly the same way.
pub struct HTable {
    tap_pairs: usize,
    pixel_pairs: usize,
    w: Vec<i16>,
}

impl HTable {
    /// From `ksize`-tap padded weights, `w.len() / ksize` output pixels.
    pub fn new(ksize: usize, w: &[i32]) -> HTable {
        let tap_pairs = ksize.div_ceil(2);
        let pixel_pairs = w.len() / ksize / 2;
        let mut t = Vec::with_capacity(pixel_pairs * tap_pairs * 32);
        for j in 0..pixel_pairs {
            for q in 0..tap_pairs {
                let (mut hi, mut lo) = ([0i16; 16], [0i16; 16]);
                for p in 0..2 {
                    let k = &w[(2 * j + p) * ksize..(2 * j + p + 1) * ksize];
                    // A missing second tap of an odd kernel weighs 0.
                    let pair = [k[2 * q], k.get(2 * q + 1).copied().unwrap_or(0)];
                    for (i, kv) in pair.into_iter().enumerate() {
                        for c in 0..4 {
                            hi[p * 8 + 2 * c + i] = (kv >> 11) as i16;
                            lo[p * 8 + 2 * c + i] = (kv & 0x7ff) as i16;
                        }
                    }
                }
                t.extend_from_slice(&hi);
                t.extend_from_slice(&lo);
            }
        }
        HTable {
            tap_pairs,
            pixel_pairs,
            w: t,
        }
    }
}

/// Horizontal pass over one row, two output pixels at a time (one per 128-bit lane), with
/// windows at `starts` and weights from [`HTable`]. Each pair of taps is one 16-byte load
/// whose first 6 bytes (two RGB pixels) are shuffled to [r0 r1 g0 g1 b0 b1 0 0] as u16, so
/// the last pixels, whose loads would reach past the row, and an odd last pixel are left to
/// the caller: returns how many output pixels were written.
///
/// # Safety
/// The CPU must support AVX2 ([`available`]); `t` must come from the same weights as
/// `starts` with `out.len() / 3` pixels.
#[target_feature(enable = "avx2")]
pub unsafe fn hrow(t: &HTable, row: &[u8], out: &mut [u8], starts: &[usize]) -> usize {
    let (kp, pairs) = (t.tap_pairs, t.pixel_pairs);
    assert!(pairs * 2 <= out.len() / 3 && starts.len() >= pairs * 2);
    assert!(t.w.len() >= pairs * kp * 32);
    #[rustfmt::skip]
    let mask = _mm256_setr_epi8(
        0, -1, 3, -1, 1, -1, 4, -1, 2, -1, 5, -1, -1, -1, -1, -1,
        0, -1, 3, -1, 1, -1, 4, -1, 2, -1, 5, -1, -1, -1, -1, -1,
    );
    let half = _mm256_set1_epi32(HALF);
    let mut j = 0;
    while j < pairs {
        let (xa, xb) = (starts[2 * j], starts[2 * j + 1]);
        // Windows start left to right, so once one reaches the row's end the rest do too.
        if (xb.max(xa) + 2 * kp - 2) * 3 + 16 > row.len() {
            break;
        }
        let mut pa = row.as_ptr().add(xa * 3);
        let mut pb = row.as_ptr().add(xb * 3);
        let mut wp = t.w.as_ptr().add(j * kp * 32);
        let (mut hi, mut lo) = (_mm256_setzero_si256(), _mm256_setzero_si256());
        for _ in 0..kp {
            let v = _mm256_inserti128_si256::<1>(
                _mm256_castsi128_si256(_mm_loadu_si128(pa.cast())),
                _mm_loadu_si128(pb.cast()),
            );
            let v = _mm256_shuffle_epi8(v, mask);
            hi = _mm256_add_epi32(hi, _mm256_madd_epi16(v, _mm256_loadu_si256(wp.cast())));
            lo = _mm256_add_epi32(
                lo,
                _mm256_madd_epi16(v, _mm256_loadu_si256(wp.add(16).cast())),
            );
            pa = pa.add(6);
            pb = pb.add(6);
            wp = wp.add(32);
        }
        let s = _mm256_add_epi32(_mm256_add_epi32(_mm256_slli_epi32::<11>(hi), lo), half);
        let s = _mm256_srai_epi32::<{ PRECISION_BITS as i32 }>(s);
        let s = _mm256_packs_epi32(s, s);
        let s = _mm256_packus_epi16(s, s);
        let (a, b) = (
            _mm256_extract_epi32::<0>(s) as u32,
            _mm256_extract_epi32::<4>(s) as u32,
        );
        let o = &mut out[j * 6..j * 6 + 6];
        o[..3].copy_from_slice(&a.to_le_bytes()[..3]);
        o[3..].copy_from_slice(&b.to_le_bytes()[..3]);
        j += 1;
    }
    2 * j
}

/// Vertical pass for one output row: `out[i] = clip(sum_t rows[first + t][i] * k[t])`, where
/// the rows of `tmp` are `out.len()` bytes long.
///
/// # Safety
/// The CPU must support AVX2 ([`available`]).
#[target_feature(enable = "avx2")]
pub unsafe fn vrow(tmp: &[u8], first: usize, k: &[i32], out: &mut [u8]) {
    let len = out.len();
    assert!((first + k.len()) * len <= tmp.len());
    let base = tmp.as_ptr().wrapping_add(first * len);
    let mut i = 0;
    while i + 16 <= len {
        let mut a = _mm256_set1_epi32(HALF);
        let mut b = a;
        let mut p = base.wrapping_add(i);
        for &kt in k {
            let kv = _mm256_set1_epi32(kt);
            let lo = _mm256_cvtepu8_epi32(_mm_loadl_epi64(p.cast()));
            let hi = _mm256_cvtepu8_epi32(_mm_loadl_epi64(p.wrapping_add(8).cast()));
            a = _mm256_add_epi32(a, _mm256_mullo_epi32(lo, kv));
            b = _mm256_add_epi32(b, _mm256_mullo_epi32(hi, kv));
            p = p.wrapping_add(len);
        }
        let a = _mm256_srai_epi32::<{ PRECISION_BITS as i32 }>(a);
        let b = _mm256_srai_epi32::<{ PRECISION_BITS as i32 }>(b);
        // packs works within 128-bit lanes: reorder the 64-bit quarters to a0-7, b0-7.
        let ab = _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_packs_epi32(a, b));
        let r = _mm_packus_epi16(
            _mm256_castsi256_si128(ab),
            _mm256_extracti128_si256::<1>(ab),
        );
        _mm_storeu_si128(out.as_mut_ptr().wrapping_add(i).cast(), r);
        i += 16;
    }
    for (j, o) in out.iter_mut().enumerate().skip(i) {
        let mut s = HALF;
        for (t, &kt) in k.iter().enumerate() {
            s = s.wrapping_add((tmp[(first + t) * len + j] as i32).wrapping_mul(kt));
        }
        *o = super::clip8(s);
    }
}
