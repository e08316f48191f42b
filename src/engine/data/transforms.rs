//! Per-image transforms in torchvision's order (`presets.py`), on u8 HWC images.
//! Random parameters follow torchvision's algorithms exactly (recipe-semantics §5, §8);
//! the random stream is ours (one seeded RNG per image), not torch's.
use super::autoaugment::{self, Policy};
use super::resize::{resample_box, resize};
use super::{corners, CropSource, Image};
use crate::recipe::Interpolation;
use rand::Rng;

/// Python's `round` (half to even), as torchvision's `int(round(x))`.
pub fn round_py(x: f64) -> i64 {
    x.round_ties_even() as i64
}

/// `RandomResizedCrop.get_params` with scale (0.08, 1) and ratio (3/4, 4/3):
/// returns (top, left, height, width).
pub fn rrc_params<R: Rng>(
    rng: &mut R,
    width: usize,
    height: usize,
) -> (usize, usize, usize, usize) {
    rrc_params_with(rng, width, height, (0.08, 1.0), (3.0 / 4.0, 4.0 / 3.0))
}

pub fn rrc_params_with<R: Rng>(
    rng: &mut R,
    width: usize,
    height: usize,
    scale: (f64, f64),
    ratio: (f64, f64),
) -> (usize, usize, usize, usize) {
    let area = (width * height) as f64;
    let (lr0, lr1) = (ratio.0.ln(), ratio.1.ln());
    for _ in 0..10 {
        let target = area * rng.random_range(scale.0..scale.1);
        let ar = rng.random_range(lr0..lr1).exp();
        let w = round_py((target * ar).sqrt());
        let h = round_py((target / ar).sqrt());
        if 0 < w && w <= width as i64 && 0 < h && h <= height as i64 {
            let (w, h) = (w as usize, h as usize);
            let top = rng.random_range(0..=height - h);
            let left = rng.random_range(0..=width - w);
            return (top, left, h, w);
        }
    }
    rrc_fallback(width, height, ratio)
}

/// The centred fallback crop after 10 failed tries.
pub fn rrc_fallback(
    width: usize,
    height: usize,
    ratio: (f64, f64),
) -> (usize, usize, usize, usize) {
    let in_ratio = width as f64 / height as f64;
    let (w, h) = if in_ratio < ratio.0 {
        (width, round_py(width as f64 / ratio.0) as usize)
    } else if in_ratio > ratio.1 {
        (round_py(height as f64 * ratio.1) as usize, height)
    } else {
        (width, height)
    };
    ((height - h) / 2, (width - w) / 2, h, w)
}

/// `RandomErasing.get_params` (scale 0.02-0.33, ratio 0.3-3.3), drawn only when U < p.
/// Returns (top, left, height, width), or None when not erased / all 10 tries failed.
pub fn erase_params<R: Rng>(
    rng: &mut R,
    p: f64,
    width: usize,
    height: usize,
) -> Option<[usize; 4]> {
    if p <= 0.0 || rng.random::<f64>() >= p {
        return None;
    }
    let area = (width * height) as f64;
    let (lr0, lr1) = (0.3f64.ln(), 3.3f64.ln());
    for _ in 0..10 {
        let a = area * rng.random_range(0.02..0.33);
        let r = rng.random_range(lr0..lr1).exp();
        let h = round_py((a * r).sqrt());
        let w = round_py((a / r).sqrt());
        if !(h < height as i64 && w < width as i64) {
            continue;
        }
        let (h, w) = (h as usize, w as usize);
        let top = rng.random_range(0..=height - h);
        let left = rng.random_range(0..=width - w);
        return Some([top, left, h, w]);
    }
    None
}

pub fn hflip(img: &mut Image) {
    let w = img.width;
    for row in img.data.chunks_exact_mut(w * 3) {
        for x in 0..w / 2 {
            for c in 0..3 {
                row.swap(x * 3 + c, (w - 1 - x) * 3 + c);
            }
        }
    }
}

/// Everything the train transform needs from the recipe.
#[derive(Debug, Clone)]
pub struct TrainTransform {
    pub crop: usize,
    /// RandomResizedCrop's area scale range (torchvision: 0.08-1).
    pub rrc_scale: (f64, f64),
    pub interpolation: Interpolation,
    pub policy: Policy,
    pub random_erase: f64,
    /// Decode JPEGs at a DCT-reduced scale when the crop allows (recipe `jpeg_scaled_decode`).
    pub scaled_decode: bool,
}

impl TrainTransform {
    pub fn from_recipe(r: &crate::recipe::Recipe) -> anyhow::Result<Self> {
        anyhow::ensure!(
            r.train_crop_size > 0,
            "train_crop_size must be > 0 (got {})",
            r.train_crop_size
        );
        anyhow::ensure!(
            (0.0..=1.0).contains(&r.random_erase),
            "random_erase must be in [0, 1] (got {})",
            r.random_erase
        );
        Ok(TrainTransform {
            crop: r.train_crop_size as usize,
            rrc_scale: r.rrc_scale(),
            interpolation: r.interpolation,
            policy: Policy::from_recipe(r)?,
            random_erase: r.random_erase,
            scaled_decode: r.jpeg_scaled_decode,
        })
    }

    /// RandomResizedCrop's box (top, left, height, width) for a `width` x `height` image.
    pub fn draw_box<R: Rng>(
        &self,
        rng: &mut R,
        width: usize,
        height: usize,
    ) -> (usize, usize, usize, usize) {
        rrc_params_with(rng, width, height, self.rrc_scale, (3.0 / 4.0, 4.0 / 3.0))
    }

    /// RandomResizedCrop -> HorizontalFlip(0.5) -> auto-augment policy, then draws the
    /// RandomErasing box (applied by the trainer after normalisation).
    pub fn apply<R: Rng>(&self, img: &Image, rng: &mut R) -> (Image, Option<[usize; 4]>) {
        let bx = corners(self.draw_box(rng, img.width, img.height));
        self.finish(img, bx, rng)
    }

    /// [`Self::apply`] on an image that [`super::Source::get_crop`] decoded, which has drawn
    /// the RandomResizedCrop box with [`Self::draw_box`] from the same `rng` already.
    pub fn apply_crop<R: Rng>(&self, src: &CropSource, rng: &mut R) -> (Image, Option<[usize; 4]>) {
        self.finish(&src.img, src.bx, rng)
    }

    fn finish<R: Rng>(
        &self,
        img: &Image,
        bx: [f64; 4],
        rng: &mut R,
    ) -> (Image, Option<[usize; 4]>) {
        let mut out = resample_box(img, bx, self.crop, self.crop, self.interpolation);
        if rng.random::<f64>() < 0.5 {
            hflip(&mut out);
        }
        autoaugment::apply(&self.policy, &mut out, self.interpolation, rng);
        let erase = erase_params(rng, self.random_erase, out.width, out.height);
        (out, erase)
    }
}

/// Output (width, height) of `Resize(size)` with an int size: the shorter side becomes
/// `size`, the longer one floor(size * long / short).
pub fn resize_shorter(width: usize, height: usize, size: usize) -> (usize, usize) {
    if width <= height {
        (size, size * height / width)
    } else {
        (size * width / height, size)
    }
}

/// torchvision `center_crop`: pads with zeros when the crop is larger than the image, then
/// takes top = round((H - C) / 2) (Python round) and likewise for left.
pub fn center_crop(img: &Image, crop: usize) -> Image {
    let (w, h) = (img.width, img.height);
    if crop > w || crop > h {
        let (pw, ph) = (w.max(crop), h.max(crop));
        let (pl, pt) = ((pw - w) / 2, (ph - h) / 2);
        let mut data = vec![0u8; pw * ph * 3];
        for y in 0..h {
            data[((pt + y) * pw + pl) * 3..((pt + y) * pw + pl + w) * 3]
                .copy_from_slice(&img.data[y * w * 3..(y + 1) * w * 3]);
        }
        return center_crop(
            &Image {
                width: pw,
                height: ph,
                data,
            },
            crop,
        );
    }
    let top = round_py((h - crop) as f64 / 2.0) as usize;
    let left = round_py((w - crop) as f64 / 2.0) as usize;
    let mut data = Vec::with_capacity(crop * crop * 3);
    for y in top..top + crop {
        data.extend_from_slice(&img.data[(y * w + left) * 3..(y * w + left + crop) * 3]);
    }
    Image {
        width: crop,
        height: crop,
        data,
    }
}

/// Eval preset: Resize(shorter side = resize) then CenterCrop(crop).
pub fn eval_transform(img: &Image, resize_to: usize, crop: usize, f: Interpolation) -> Image {
    let (w, h) = resize_shorter(img.width, img.height, resize_to);
    center_crop(&resize(img, w, h, f), crop)
}
