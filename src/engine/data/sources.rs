//! In-memory sources: IDX (MNIST / Fashion-MNIST layout), CIFAR-10/100 binary, the embedded
//! Fashion-MNIST subset, and the synthetic set. Everything is parsed and validated when the
//! dataset is opened, so bad data fails before training starts.
use super::{Image, Source};
use anyhow::{bail, ensure, Context, Result};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Decoded images kept in memory: `channels` is 1 (grayscale, expanded to RGB on `get`) or 3;
/// `planar` means each record is CHW (CIFAR) rather than HWC.
pub struct MemSource {
    pub pixels: Vec<u8>,
    pub labels: Vec<i64>,
    pub width: usize,
    pub height: usize,
    pub channels: usize,
    pub planar: bool,
}

impl MemSource {
    fn record(&self) -> usize {
        self.width * self.height * self.channels
    }

    /// Per-channel (mean, std) in 0..1 units over every pixel (population std).
    pub fn mean_std(&self) -> ([f32; 3], [f32; 3]) {
        let mut s = [0f64; 3];
        let mut s2 = [0f64; 3];
        let plane = self.width * self.height;
        for rec in self.pixels.chunks_exact(self.record()) {
            for (i, &v) in rec.iter().enumerate() {
                let c = match (self.channels, self.planar) {
                    (1, _) => 0,
                    (_, true) => i / plane,
                    (_, false) => i % 3,
                };
                s[c] += v as f64;
                s2[c] += (v as f64) * (v as f64);
            }
        }
        let n = (self.labels.len() * plane) as f64;
        let mut mean = [0f32; 3];
        let mut std = [0f32; 3];
        for c in 0..3 {
            let k = if self.channels == 1 { 0 } else { c };
            let m = s[k] / n / 255.0;
            mean[c] = m as f32;
            std[c] = (s2[k] / n / 65025.0 - m * m).max(0.0).sqrt() as f32;
        }
        (mean, std)
    }

    pub fn num_classes(&self) -> usize {
        self.labels
            .iter()
            .copied()
            .max()
            .map_or(0, |m| m as usize + 1)
    }
}

impl Source for MemSource {
    fn len(&self) -> usize {
        self.labels.len()
    }
    fn get(&self, i: usize, _min_side: Option<usize>) -> Result<(Image, i64)> {
        ensure!(
            i < self.len(),
            "image index {i} out of range (len {})",
            self.len()
        );
        let rec = &self.pixels[i * self.record()..(i + 1) * self.record()];
        let plane = self.width * self.height;
        let data = match (self.channels, self.planar) {
            (1, _) => rec.iter().flat_map(|&v| [v, v, v]).collect(),
            (_, true) => (0..plane)
                .flat_map(|p| [rec[p], rec[plane + p], rec[2 * plane + p]])
                .collect(),
            _ => rec.to_vec(),
        };
        Ok((
            Image {
                width: self.width,
                height: self.height,
                data,
            },
            self.labels[i],
        ))
    }
    fn typical_size(&self) -> Option<(usize, usize)> {
        Some((self.width, self.height))
    }
}

/// Gunzips when the bytes start with the gzip magic.
fn maybe_gunzip(bytes: Vec<u8>, name: &str) -> Result<Vec<u8>> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .with_context(|| format!("{name}: corrupt gzip data"))?;
        Ok(out)
    } else {
        Ok(bytes)
    }
}

fn be32(b: &[u8], at: usize) -> usize {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]) as usize
}

/// Parses an IDX image file and its label file (already read into memory).
pub fn parse_idx(
    images: Vec<u8>,
    labels: Vec<u8>,
    img_name: &str,
    lbl_name: &str,
) -> Result<MemSource> {
    let images = maybe_gunzip(images, img_name)?;
    let labels = maybe_gunzip(labels, lbl_name)?;
    ensure!(
        images.len() >= 16 && be32(&images, 0) == 0x0803,
        "{img_name}: not an IDX image file (magic must be 0x00000803 = 2051, got {:#010x})",
        if images.len() >= 4 {
            be32(&images, 0)
        } else {
            0
        }
    );
    ensure!(
        labels.len() >= 8 && be32(&labels, 0) == 0x0801,
        "{lbl_name}: not an IDX label file (magic must be 0x00000801 = 2049, got {:#010x})",
        if labels.len() >= 4 {
            be32(&labels, 0)
        } else {
            0
        }
    );
    let (n, h, w) = (be32(&images, 4), be32(&images, 8), be32(&images, 12));
    let m = be32(&labels, 4);
    ensure!(
        m == n,
        "{lbl_name}: {m} labels but {img_name} has {n} images"
    );
    ensure!(
        images.len() - 16 == n * h * w,
        "{img_name}: header says {n} images of {h}x{w} ({} bytes) but the file has {} bytes of pixels",
        n * h * w,
        images.len() - 16
    );
    ensure!(
        labels.len() - 8 == n,
        "{lbl_name}: header says {n} labels but the file has {}",
        labels.len() - 8
    );
    ensure!(n > 0 && h > 0 && w > 0, "{img_name}: empty image set");
    Ok(MemSource {
        pixels: images[16..].to_vec(),
        labels: labels[8..].iter().map(|&l| l as i64).collect(),
        width: w,
        height: h,
        channels: 1,
        planar: false,
    })
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// The IDX file `DIR/stem` or `DIR/stem.gz`, whichever exists.
pub fn idx_file(dir: &Path, stem: &str) -> Option<PathBuf> {
    [dir.join(stem), dir.join(format!("{stem}.gz"))]
        .into_iter()
        .find(|p| p.is_file())
}

/// Opens `train-*` / `t10k-*` IDX pairs from a directory.
pub fn open_idx_dir(dir: &Path) -> Result<(MemSource, MemSource)> {
    let split = |prefix: &str| -> Result<MemSource> {
        let find = |stem: String| {
            idx_file(dir, &stem).with_context(|| {
                format!("{}: missing {stem}[.gz] (IDX layout: train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, optionally .gz)", dir.display())
            })
        };
        let ip = find(format!("{prefix}-images-idx3-ubyte"))?;
        let lp = find(format!("{prefix}-labels-idx1-ubyte"))?;
        parse_idx(
            read(&ip)?,
            read(&lp)?,
            &ip.display().to_string(),
            &lp.display().to_string(),
        )
    };
    Ok((split("train")?, split("t10k")?))
}

/// The embedded class-balanced Fashion-MNIST subset (assets/README.md).
pub fn embedded_fashion_mnist() -> Result<(MemSource, MemSource)> {
    const TI: &[u8] = include_bytes!("../../../assets/fashion-mnist/train-images-idx3-ubyte.gz");
    const TL: &[u8] = include_bytes!("../../../assets/fashion-mnist/train-labels-idx1-ubyte.gz");
    const VI: &[u8] = include_bytes!("../../../assets/fashion-mnist/t10k-images-idx3-ubyte.gz");
    const VL: &[u8] = include_bytes!("../../../assets/fashion-mnist/t10k-labels-idx1-ubyte.gz");
    Ok((
        parse_idx(
            TI.to_vec(),
            TL.to_vec(),
            "embedded train-images",
            "embedded train-labels",
        )?,
        parse_idx(
            VI.to_vec(),
            VL.to_vec(),
            "embedded t10k-images",
            "embedded t10k-labels",
        )?,
    ))
}

/// CIFAR binary: CIFAR-10 (`data_batch_{1..5}.bin` + `test_batch.bin`, 1 label byte per
/// record) or CIFAR-100 (`train.bin` + `test.bin`, coarse + fine label bytes; fine is used).
pub fn open_cifar_dir(dir: &Path) -> Result<Option<(MemSource, MemSource, &'static str)>> {
    let load = |files: &[PathBuf], label_bytes: usize| -> Result<MemSource> {
        let rec = label_bytes + 3072;
        let mut pixels = Vec::new();
        let mut labels = Vec::new();
        for f in files {
            let b = read(f)?;
            ensure!(
                !b.is_empty() && b.len() % rec == 0,
                "{}: {} bytes is not a whole number of {rec}-byte CIFAR records",
                f.display(),
                b.len()
            );
            for r in b.chunks_exact(rec) {
                labels.push(r[label_bytes - 1] as i64);
                pixels.extend_from_slice(&r[label_bytes..]);
            }
        }
        Ok(MemSource {
            pixels,
            labels,
            width: 32,
            height: 32,
            channels: 3,
            planar: true,
        })
    };
    if dir.join("data_batch_1.bin").is_file() {
        let train: Vec<PathBuf> = (1..=5)
            .map(|k| dir.join(format!("data_batch_{k}.bin")))
            .filter(|p| p.is_file())
            .collect();
        let test = dir.join("test_batch.bin");
        ensure!(
            test.is_file(),
            "{}: missing test_batch.bin (CIFAR-10 binary layout)",
            dir.display()
        );
        return Ok(Some((load(&train, 1)?, load(&[test], 1)?, "cifar10")));
    }
    if dir.join("train.bin").is_file() {
        let test = dir.join("test.bin");
        ensure!(
            test.is_file(),
            "{}: missing test.bin (CIFAR-100 binary layout)",
            dir.display()
        );
        return Ok(Some((
            load(&[dir.join("train.bin")], 2)?,
            load(&[test], 2)?,
            "cifar100",
        )));
    }
    Ok(None)
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
        if i >= self.n {
            bail!("image index {i} out of range (len {})", self.n);
        }
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
    fn typical_size(&self) -> Option<(usize, usize)> {
        Some((self.size, self.size))
    }
}
