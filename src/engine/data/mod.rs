//! Datasets, per-image transforms and the batch loader. Worker threads here never call
//! libtorch: they produce contiguous u8 NHWC batches that the trainer converts on the device.
//!
//! CONTRACT (the trainer uses these names): Image, Source, Datasets, open, Batch,
//! train_batches, eval_batches.
use anyhow::Result;
use std::sync::Arc;

/// An 8-bit RGB image, row-major HWC.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    pub width: usize,
    pub height: usize,
    pub data: Vec<u8>,
}

/// A random-access labelled image collection.
pub trait Source: Send + Sync {
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Decodes image `i`; `min_side` lets a decoder downscale early (JPEG DCT scaling) when
    /// the result only needs that many pixels on its shorter side.
    fn get(&self, i: usize, min_side: Option<usize>) -> Result<(Image, i64)>;
    /// (width, height) of every image if cheap to know (used by `check`), else None.
    fn typical_size(&self) -> Option<(usize, usize)> {
        None
    }
}

pub struct Datasets {
    pub name: String,
    pub train: Arc<dyn Source>,
    pub val: Arc<dyn Source>,
    pub num_classes: usize,
    /// Normalisation in 0..1 units (ImageNet's unless the dataset says otherwise).
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

/// One batch: `pixels` is n x h x w x 3 u8, `erase` the RandomErasing box per image
/// (top, left, height, width), applied by the trainer after normalisation.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub pixels: Vec<u8>,
    pub n: usize,
    pub h: usize,
    pub w: usize,
    pub labels: Vec<i64>,
    pub erase: Vec<Option<[usize; 4]>>,
}

pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

/// Opens a dataset by name or path. Implemented so far: `synthetic[:N]`.
pub fn open(spec: &str) -> Result<Datasets> {
    if let Some(rest) = spec.strip_prefix("synthetic") {
        let n = rest.trim_start_matches(':').parse::<usize>().unwrap_or(256);
        return Ok(Datasets {
            name: spec.into(),
            train: Arc::new(Synthetic {
                n,
                size: 32,
                classes: 4,
                salt: 1,
            }),
            val: Arc::new(Synthetic {
                n: n / 4,
                size: 32,
                classes: 4,
                salt: 2,
            }),
            num_classes: 4,
            mean: IMAGENET_MEAN,
            std: IMAGENET_STD,
        });
    }
    anyhow::bail!("dataset `{spec}`: only `synthetic[:N]` is implemented so far")
}

/// Learnable synthetic images: class k is a bright square in quadrant k plus noise.
pub struct Synthetic {
    pub n: usize,
    pub size: usize,
    pub classes: usize,
    pub salt: u64,
}

impl Source for Synthetic {
    fn len(&self) -> usize {
        self.n
    }
    fn get(&self, i: usize, _min_side: Option<usize>) -> Result<(Image, i64)> {
        use rand::{Rng, SeedableRng};
        let label = (i % self.classes) as i64;
        let mut rng = rand::rngs::StdRng::seed_from_u64(self.salt * 1_000_003 + i as u64);
        let s = self.size;
        let mut data = vec![0u8; s * s * 3];
        let (qy, qx) = ((label as usize / 2) * s / 2, (label as usize % 2) * s / 2);
        for y in 0..s {
            for x in 0..s {
                let inside = y >= qy && y < qy + s / 2 && x >= qx && x < qx + s / 2;
                for c in 0..3 {
                    let base = if inside { 200 } else { 40 };
                    data[(y * s + x) * 3 + c] = (base + rng.random_range(0..40)) as u8;
                }
            }
        }
        Ok((
            Image {
                width: s,
                height: s,
                data,
            },
            label,
        ))
    }
}
