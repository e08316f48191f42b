//! torchvision `ImageFolder`: `ROOT/<class>/**/<image>`, classes sorted by name, files
//! sorted within each (sub)directory. JPEG and PNG; grayscale/alpha converted to RGB.
use super::jpeg;
use super::resize::Box4;
use super::{CropSource, Image, Source};
use anyhow::{bail, ensure, Context, Result};
use std::path::{Path, PathBuf};

const EXTENSIONS: [&str; 3] = ["jpg", "jpeg", "png"];

pub struct ImageFolder {
    pub root: PathBuf,
    pub classes: Vec<String>,
    pub samples: Vec<(PathBuf, i64)>,
    /// Median (width, height) over the headers read at open.
    pub median_size: Option<(usize, usize)>,
}

fn is_image(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// Recursively lists image files like `os.walk` + `sorted(fnames)`, following symlinks.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("cannot list {}", dir.display()))?;
    entries.sort();
    let (dirs, files): (Vec<_>, Vec<_>) = entries.into_iter().partition(|p| p.is_dir());
    out.extend(files.into_iter().filter(|p| is_image(p)));
    for d in dirs {
        walk(&d, out)?;
    }
    Ok(())
}

/// Class directories of `root`, sorted by name (Python's codepoint order = Rust's byte order).
pub fn class_dirs(root: &Path) -> Result<Vec<String>> {
    ensure!(root.is_dir(), "{}: missing folder (ImageFolder layout: DIR/train/<class>/*.jpg and DIR/val/<class>/*.jpg)", root.display());
    let mut classes = Vec::new();
    for e in std::fs::read_dir(root).with_context(|| format!("cannot list {}", root.display()))? {
        let p = e?.path();
        if p.is_dir() {
            classes.push(p.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    classes.sort();
    ensure!(!classes.is_empty(), "{}: no class folders", root.display());
    Ok(classes)
}

impl ImageFolder {
    /// Lists `root` with the given class list and reads every image header, so a missing,
    /// empty or undecodable file is reported (by name) before training starts.
    pub fn open(root: &Path, classes: &[String]) -> Result<Self> {
        let mut samples = Vec::new();
        for (k, c) in classes.iter().enumerate() {
            let dir = root.join(c);
            ensure!(
                dir.is_dir(),
                "{}: missing class folder (train has class `{c}`)",
                dir.display()
            );
            let mut files = Vec::new();
            walk(&dir, &mut files)?;
            ensure!(
                !files.is_empty(),
                "{}: empty class (no .jpg/.jpeg/.png files)",
                dir.display()
            );
            samples.extend(files.into_iter().map(|f| (f, k as i64)));
        }
        // Header reads are I/O bound: spread them over a few threads (errors keep file order).
        let header = |p: &Path| -> Result<(u32, u32)> {
            image::ImageReader::open(p)
                .with_context(|| format!("cannot read {}", p.display()))?
                .with_guessed_format()
                .with_context(|| format!("cannot read {}", p.display()))?
                .into_dimensions()
                .with_context(|| format!("{}: corrupt or unsupported image", p.display()))
        };
        let threads = std::thread::available_parallelism()
            .map_or(4, |n| n.get())
            .clamp(1, 8);
        let chunk = samples.len().div_ceil(threads).max(1);
        let mut sizes = std::thread::scope(|s| {
            let handles: Vec<_> = samples
                .chunks(chunk)
                .map(|part| {
                    s.spawn(move || {
                        part.iter()
                            .map(|(p, _)| header(p))
                            .collect::<Result<Vec<_>>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("header reader panicked"))
                .collect::<Result<Vec<_>>>()
        })?
        .concat();
        sizes.sort_unstable_by_key(|&(w, h)| w as u64 * h as u64);
        let median_size = sizes
            .get(sizes.len() / 2)
            .map(|&(w, h)| (w as usize, h as usize));
        Ok(ImageFolder {
            root: root.to_path_buf(),
            classes: classes.to_vec(),
            samples,
            median_size,
        })
    }
}

/// Decodes a JPEG/PNG file to RGB8.
pub fn decode(path: &Path) -> Result<Image> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    decode_bytes(&bytes, path)
}

/// Decodes JPEG/PNG bytes to RGB8; `path` names the file in errors. JPEGs go through
/// libjpeg-turbo with Pillow's settings, so the pixels are Pillow's; CMYK JPEGs and PNGs
/// through the `image` crate.
pub fn decode_bytes(bytes: &[u8], path: &Path) -> Result<Image> {
    if let Some(hdr) = jpeg_header(bytes, path)? {
        return jpeg::decode_region(bytes, 8, [0, 0, hdr.width, hdr.height])
            .map(|r| r.img)
            .map_err(|e| anyhow::anyhow!("{}: cannot decode JPEG: {e}", path.display()));
    }
    let img = image::load_from_memory(bytes)
        .with_context(|| format!("{}: cannot decode image", path.display()))?;
    let rgb = img.into_rgb8();
    let (w, h) = (rgb.width() as usize, rgb.height() as usize);
    if w == 0 || h == 0 {
        bail!("{}: empty image", path.display());
    }
    Ok(Image {
        width: w,
        height: h,
        data: rgb.into_raw(),
    })
}

/// The header of a JPEG that libjpeg-turbo can decode to RGB (not CMYK), else None.
fn jpeg_header(bytes: &[u8], path: &Path) -> Result<Option<jpeg::Header>> {
    if !jpeg::is_jpeg(bytes) {
        return Ok(None);
    }
    let hdr = jpeg::header(bytes)
        .map_err(|e| anyhow::anyhow!("{}: cannot decode JPEG: {e}", path.display()))?;
    if hdr.width == 0 || hdr.height == 0 {
        bail!("{}: empty image", path.display());
    }
    Ok((hdr.components != 4).then_some(hdr))
}

/// The train path's decode: draws the crop box from the header, then decodes only what the
/// box needs (see [`jpeg::decode_for_crop`]); non-JPEGs decode in full.
pub fn decode_crop(
    bytes: &[u8],
    path: &Path,
    out: usize,
    scaled: bool,
    choose: &mut dyn FnMut(usize, usize) -> Box4,
) -> Result<CropSource> {
    if let Some(hdr) = jpeg_header(bytes, path)? {
        let bx = choose(hdr.width, hdr.height);
        return jpeg::decode_for_crop(bytes, hdr, bx, out, scaled)
            .map_err(|e| anyhow::anyhow!("{}: cannot decode JPEG: {e}", path.display()));
    }
    Ok(CropSource::drawn(decode_bytes(bytes, path)?, choose))
}

impl ImageFolder {
    fn sample(&self, i: usize) -> Result<&(PathBuf, i64)> {
        self.samples
            .get(i)
            .with_context(|| format!("image index {i} out of range (len {})", self.samples.len()))
    }
}

impl Source for ImageFolder {
    fn len(&self) -> usize {
        self.samples.len()
    }
    // Eval decodes at full size, as torchvision's PIL loader does: `min_side` is ignored.
    fn get(&self, i: usize, _min_side: Option<usize>) -> Result<(Image, i64)> {
        let (p, label) = self.sample(i)?;
        Ok((decode(p)?, *label))
    }
    fn get_crop(
        &self,
        i: usize,
        out: usize,
        scaled: bool,
        choose: &mut dyn FnMut(usize, usize) -> Box4,
    ) -> Result<(CropSource, i64)> {
        let (p, label) = self.sample(i)?;
        let bytes = std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?;
        Ok((decode_crop(&bytes, p, out, scaled, choose)?, *label))
    }
    fn typical_size(&self) -> Option<(usize, usize)> {
        self.median_size
    }
}
