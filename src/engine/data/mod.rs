//! Datasets, per-image transforms and the batch loader. Worker threads here never call
//! libtorch: they produce contiguous u8 NHWC batches that the trainer converts on the device.
//!
//! CONTRACT (the trainer uses these names): Image, Source, Datasets, open, Batch,
//! train_batches, eval_batches.
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::sync::Arc;

pub mod autoaugment;
pub mod bench;
pub mod folder;
pub mod jpeg;
pub mod loader;
pub mod resize;
pub mod sources;
pub mod transforms;
pub mod wide;

pub use loader::{eval_batches, num_train_batches, train_batches, BatchIter};
pub use sources::Synthetic;

/// An 8-bit RGB image, row-major HWC.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    pub width: usize,
    pub height: usize,
    pub data: Vec<u8>,
}

/// Pixels to crop from and the crop box in their coordinates (x0, y0, x1, y1); fractional
/// when the JPEG was decoded at a reduced scale.
#[derive(Debug, Clone, PartialEq)]
pub struct CropSource {
    pub img: Image,
    pub bx: [f64; 4],
}

impl CropSource {
    /// A fully decoded image with the box `choose` draws from its size.
    pub fn drawn(img: Image, choose: &mut dyn FnMut(usize, usize) -> resize::Box4) -> Self {
        let bx = corners(choose(img.width, img.height));
        CropSource { img, bx }
    }
}

/// A (top, left, height, width) box as corners (x0, y0, x1, y1).
pub fn corners((top, left, h, w): resize::Box4) -> [f64; 4] {
    [left, top, left + w, top + h].map(|v| v as f64)
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
    /// Decodes image `i` for a crop resized to `out` pixels per side: `choose(width, height)`
    /// draws the crop box (top, left, height, width) from the image size, which a JPEG
    /// source reads from the header so that it decodes only the rows and columns under the
    /// box, at a DCT-reduced scale when `scaled` allows. Default: a full decode.
    fn get_crop(
        &self,
        i: usize,
        _out: usize,
        _scaled: bool,
        choose: &mut dyn FnMut(usize, usize) -> resize::Box4,
    ) -> Result<(CropSource, i64)> {
        let (img, label) = self.get(i, None)?;
        Ok((CropSource::drawn(img, choose), label))
    }
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

/// Where the Debian package `dataset-fashion-mnist` installs the full set.
pub const FASHION_MNIST_FULL_DIR: &str = "/usr/share/datasets/fashion-mnist";

const KNOWN: &str = "fashion-mnist (embedded 10k/2k subset), fashion-mnist-full, synthetic[:N], \
or a directory in IDX (train-images-idx3-ubyte[.gz], ...), CIFAR binary (data_batch_*.bin / \
train.bin) or ImageFolder (train/<class>/*, val/<class>/*) layout";

/// Opens a dataset by name or path: `fashion-mnist` (embedded), `fashion-mnist-full`,
/// `synthetic[:N]`, or a directory whose format is detected (IDX, CIFAR binary, ImageFolder).
/// Everything that can be checked without decoding every JPEG is checked here.
pub fn open(spec: &str) -> Result<Datasets> {
    if let Some(rest) = spec.strip_prefix("synthetic") {
        let n = match rest.strip_prefix(':') {
            None if rest.is_empty() => 256,
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|&n| n > 0)
                .with_context(|| {
                    format!("dataset `{spec}`: N in synthetic:N must be a positive integer")
                })?,
            None => bail!("unknown dataset `{spec}`; allowed: {KNOWN}"),
        };
        let train = Synthetic {
            n,
            size: 32,
            classes: 4,
            salt: 1,
        };
        let val = Synthetic {
            n: (n / 4).max(1),
            size: 32,
            classes: 4,
            salt: 2,
        };
        let (mean, std) = sample_mean_std(&train, 256)?;
        return Ok(Datasets {
            name: spec.into(),
            train: Arc::new(train),
            val: Arc::new(val),
            num_classes: 4,
            mean,
            std,
        });
    }
    match spec {
        "fashion-mnist" => {
            let (train, val) = sources::embedded_fashion_mnist()?;
            return Ok(mem_datasets(spec, train, val));
        }
        "fashion-mnist-full" => {
            let dir = Path::new(FASHION_MNIST_FULL_DIR);
            if sources::idx_file(dir, "train-images-idx3-ubyte").is_none() {
                bail!(
                    "dataset `fashion-mnist-full` needs the Debian package: apt-get install dataset-fashion-mnist \
                     (expected files in {FASHION_MNIST_FULL_DIR}); the embedded subset is `fashion-mnist`"
                );
            }
            let (train, val) = sources::open_idx_dir(dir)?;
            return Ok(mem_datasets(spec, train, val));
        }
        _ => {}
    }
    let dir = Path::new(spec);
    if !dir.is_dir() {
        bail!("dataset `{spec}`: no such directory; allowed: {KNOWN}");
    }
    if sources::idx_file(dir, "train-images-idx3-ubyte").is_some() {
        let (train, val) = sources::open_idx_dir(dir)?;
        return Ok(mem_datasets(spec, train, val));
    }
    // CIFAR archives extract to these folders; accept their parent too.
    for sub in ["", "cifar-10-batches-bin", "cifar-100-binary"] {
        if let Some((train, val, _kind)) = sources::open_cifar_dir(&dir.join(sub))? {
            return Ok(mem_datasets(spec, train, val));
        }
    }
    if dir.join("train").is_dir() || dir.join("val").is_dir() {
        let classes = folder::class_dirs(&dir.join("train"))?;
        let val_classes = folder::class_dirs(&dir.join("val"))?;
        if val_classes != classes {
            let extra: Vec<_> = val_classes
                .iter()
                .filter(|c| !classes.contains(c))
                .collect();
            bail!(
                "{}: class folders differ from train's ({} vs {} classes; val-only: {extra:?})",
                dir.join("val").display(),
                val_classes.len(),
                classes.len()
            );
        }
        let train = folder::ImageFolder::open(&dir.join("train"), &classes)?;
        let val = folder::ImageFolder::open(&dir.join("val"), &classes)?;
        return Ok(Datasets {
            name: spec.into(),
            train: Arc::new(train),
            val: Arc::new(val),
            num_classes: classes.len(),
            mean: IMAGENET_MEAN,
            std: IMAGENET_STD,
        });
    }
    bail!("dataset `{spec}`: unrecognised layout; allowed: {KNOWN}")
}

/// An in-memory dataset normalised with its own train-set mean/std (computed here: a single
/// pass, e.g. 0.2867/0.3540 for the embedded Fashion-MNIST subset; the published full-set
/// values are 0.2860/0.3530).
fn mem_datasets(name: &str, train: sources::MemSource, val: sources::MemSource) -> Datasets {
    let (mean, std) = train.mean_std();
    let num_classes = train.num_classes().max(val.num_classes());
    Datasets {
        name: name.into(),
        train: Arc::new(train),
        val: Arc::new(val),
        num_classes,
        mean,
        std,
    }
}

/// Per-channel mean/std of the first `k` images of a source.
fn sample_mean_std(src: &dyn Source, k: usize) -> Result<([f32; 3], [f32; 3])> {
    let mut s = [0f64; 3];
    let mut s2 = [0f64; 3];
    let mut n = 0f64;
    for i in 0..src.len().min(k) {
        let (img, _) = src.get(i, None)?;
        for p in img.data.chunks_exact(3) {
            for c in 0..3 {
                let v = p[c] as f64 / 255.0;
                s[c] += v;
                s2[c] += v * v;
            }
        }
        n += (img.width * img.height) as f64;
    }
    let mean = s.map(|v| (v / n) as f32);
    let std = [0, 1, 2].map(|c| ((s2[c] / n) - (s[c] / n).powi(2)).max(0.0).sqrt() as f32);
    Ok((mean, std))
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_jpeg;
#[cfg(test)]
mod tests_pil;

/// A `w` x `h` image of uniform random bytes (tests of the fast paths against plain forms).
#[cfg(test)]
fn random_image(rng: &mut impl rand::Rng, w: usize, h: usize) -> Image {
    Image {
        width: w,
        height: h,
        data: (0..w * h * 3).map(|_| rng.random()).collect(),
    }
}
