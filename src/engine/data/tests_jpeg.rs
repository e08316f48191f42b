//! libjpeg-turbo decoding (jpeg.rs) on real photos. Fixtures, made with Pillow 12 from
//! scikit-image's public-domain `astronaut`:
//!   im = Image.fromarray(skimage.data.astronaut()).resize((500, 500), Image.BICUBIC)
//!   im = im.crop((0, 60, 500, 435)); im.save("astronaut_500x375.jpg", quality=90, subsampling=2)
//!   im.convert("L").resize((120, 90), Image.BICUBIC).save("gray_120x90.jpg", quality=90)
//! Pillow's numbers: np.asarray(Image.open(f).convert("RGB")) -> sum, sha256 of the bytes.
use super::folder::{decode_bytes, decode_crop};
use super::jpeg::{self, decode_for_crop, scale_for};
use super::resize::{resample_box, resized_crop};
use super::transforms::rrc_params;
use super::Image;
use crate::recipe::Interpolation;
use rand::SeedableRng;
use sha2::{Digest, Sha256};
use std::path::Path;

const PHOTO: &[u8] = include_bytes!("../../../tests/fixtures/astronaut_500x375.jpg");
const GRAY: &[u8] = include_bytes!("../../../tests/fixtures/gray_120x90.jpg");

fn crop(img: &Image, (top, left, h, w): (usize, usize, usize, usize)) -> Vec<u8> {
    let mut v = Vec::new();
    for y in top..top + h {
        v.extend_from_slice(&img.data[(y * img.width + left) * 3..(y * img.width + left + w) * 3]);
    }
    v
}

fn sum(d: &[u8]) -> u64 {
    d.iter().map(|&v| v as u64).sum()
}

#[test]
fn full_decode_is_pillows() {
    let im = decode_bytes(PHOTO, Path::new("astronaut.jpg")).unwrap();
    assert_eq!((im.width, im.height), (500, 375));
    assert_eq!(sum(&im.data), 65_484_717);
    let sha: String = Sha256::digest(&im.data)[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(sha, "7d9d400048c6c83a");
    assert_eq!(&im.data[(100 * 500 + 200) * 3..][..3], &[231, 199, 176]);
}

#[test]
fn grayscale_jpeg_becomes_rgb() {
    let p = Path::new("gray.jpg");
    assert_eq!(jpeg::header(GRAY).unwrap().components, 1);
    let im = decode_bytes(GRAY, p).unwrap();
    assert_eq!((im.width, im.height), (120, 90));
    assert!(im
        .data
        .chunks_exact(3)
        .all(|c| c[0] == c[1] && c[1] == c[2]));
    assert_eq!(sum(&im.data), 3_796_926);
    assert_eq!(&im.data[(45 * 120 + 60) * 3..][..3], &[4, 4, 4]);
    // The crop path too, scaled: 4/8 is the smallest scale keeping 60 px >= 24 px.
    let mut choose = |w, h| {
        assert_eq!((w, h), (120, 90));
        (10, 20, 60, 80)
    };
    let c = decode_crop(GRAY, p, 24, true, &mut choose).unwrap();
    assert!(c
        .img
        .data
        .chunks_exact(3)
        .all(|c| c[0] == c[1] && c[1] == c[2]));
    let [x0, y0, x1, y1] = c.bx;
    assert_eq!((x1 - x0, y0, y1, c.img.height), (40.0, 0.0, 30.0, 30));
}

/// Boxes at the edges, off the 16-pixel iMCU grid, one pixel, the whole image.
const BOXES: [(usize, usize, usize, usize); 7] = [
    (0, 0, 375, 500),
    (0, 0, 1, 1),
    (374, 499, 1, 1),
    (17, 33, 101, 77),
    (200, 250, 175, 250),
    (7, 481, 300, 19),
    (143, 1, 9, 498),
];

#[test]
fn crop_decode_without_scaling_equals_full_decode() {
    let full = decode_bytes(PHOTO, Path::new("a.jpg")).unwrap();
    let hdr = jpeg::header(PHOTO).unwrap();
    for bx in BOXES {
        let c = decode_for_crop(PHOTO, hdr, bx, 176, false).unwrap();
        let [x0, y0, x1, y1] = c.bx;
        assert_eq!((x1 - x0, y1 - y0), (bx.3 as f64, bx.2 as f64), "{bx:?}");
        let got = crop(&c.img, (y0 as usize, x0 as usize, bx.2, bx.3));
        assert_eq!(got, crop(&full, bx), "{bx:?}");
        // Only the rows under the box were decoded.
        assert_eq!(c.img.height, bx.2, "{bx:?}");
        let out = resample_box(&c.img, c.bx, 176, 176, Interpolation::Bilinear);
        assert_eq!(
            out,
            resized_crop(&full, bx, 176, 176, Interpolation::Bilinear)
        );
    }
}

#[test]
fn scale_choice_keeps_the_crop_size() {
    assert_eq!(scale_for(500, 375, 176), 4); // 1/2: 250 x 187.5
    assert_eq!(scale_for(400, 340, 176), 8); // 1/2 would give 170 < 176
    assert_eq!(scale_for(176, 400, 176), 8);
    assert_eq!(scale_for(100, 100, 176), 8); // upscaled: full size
    assert_eq!(scale_for(1408, 1408, 176), 1);
}

/// Scaled decode + resize against the exact path (full decode + crop-then-resize) over 200
/// RandomResizedCrop boxes of the photo, for a 176 px crop (the recipe's; few boxes of a
/// 500x375 photo are >= 352 px, so few decode scaled) and a 112 px one (more at 1/2).
/// Measured with libjpeg-turbo 2.1.5 over the boxes that decoded scaled: mean absolute
/// difference 1.31 / 1.03 grey levels, the worst box 1.58 / 2.04. The DCT-domain reduction
/// low-passes with another kernel than the antialiased resize, so edges differ by a few
/// levels; the bounds leave room for other libjpeg-turbo builds.
#[test]
fn scaled_decode_is_close_to_exact() {
    let full = decode_bytes(PHOTO, Path::new("a.jpg")).unwrap();
    let hdr = jpeg::header(PHOTO).unwrap();
    for (out, min_scaled) in [(176, 10), (112, 60)] {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let (mut total, mut n, mut worst, mut scaled) = (0u64, 0u64, 0f64, 0);
        for _ in 0..200 {
            let bx = rrc_params(&mut rng, 500, 375);
            if scale_for(bx.3, bx.2, out) == 8 {
                continue;
            }
            let exact = resized_crop(&full, bx, out, out, Interpolation::Bilinear);
            let c = decode_for_crop(PHOTO, hdr, bx, out, true).unwrap();
            let got = resample_box(&c.img, c.bx, out, out, Interpolation::Bilinear);
            let d: u64 = got
                .data
                .iter()
                .zip(&exact.data)
                .map(|(&a, &b)| (a as i32 - b as i32).unsigned_abs() as u64)
                .sum();
            worst = f64::max(worst, d as f64 / got.data.len() as f64);
            total += d;
            n += got.data.len() as u64;
            scaled += 1;
        }
        let mad = total as f64 / n as f64;
        eprintln!("crop {out}: {scaled}/200 scaled, mean abs diff {mad:.3}, worst box {worst:.3}");
        assert!(scaled >= min_scaled, "{scaled}");
        assert!(mad < 2.0, "{mad}");
        assert!(worst < 2.5, "{worst}");
    }
}

#[test]
fn corrupt_or_truncated_jpeg_names_the_file() {
    let p = Path::new("/data/bad/x.jpg");
    let half = &PHOTO[..PHOTO.len() / 2];
    let e = format!("{:#}", decode_bytes(half, p).unwrap_err());
    assert!(
        e.contains("/data/bad/x.jpg") && e.contains("Premature end"),
        "{e}"
    );
    // A crop in the missing half fails the same way.
    let e = decode_crop(half, p, 176, true, &mut |_, _| (300, 0, 75, 500)).unwrap_err();
    let e = format!("{e:#}");
    assert!(
        e.contains("/data/bad/x.jpg") && e.contains("Premature end"),
        "{e}"
    );
    let e = format!("{:#}", decode_bytes(b"\xFF\xD8\xFF junk", p).unwrap_err());
    assert!(
        e.contains("/data/bad/x.jpg") && e.contains("cannot decode JPEG"),
        "{e}"
    );
    let e = decode_crop(
        b"\xFF\xD8\xFF junk",
        p,
        176,
        true,
        &mut |_, _| unreachable!(),
    );
    assert!(format!("{:#}", e.unwrap_err()).contains("/data/bad/x.jpg"));
}

#[test]
fn jpeg_scaled_decode_recipe_key() {
    use super::transforms::TrainTransform;
    use crate::recipe::Recipe;
    let r = Recipe::default();
    assert!(r.jpeg_scaled_decode && TrainTransform::from_recipe(&r).unwrap().scaled_decode);
    assert!(Recipe::keys().contains(&"jpeg_scaled_decode".to_string()));
    // Omitted from the canonical TOML when on, so recipe hashes made before the key hold.
    assert!(!toml::to_string(&r).unwrap().contains("jpeg_scaled_decode"));
    let off = r
        .with_value("jpeg_scaled_decode", &toml::Value::Boolean(false))
        .unwrap();
    assert!(toml::to_string(&off)
        .unwrap()
        .contains("jpeg_scaled_decode = false"));
    assert!(!TrainTransform::from_recipe(&off).unwrap().scaled_decode);
    assert_ne!(crate::plan::recipe_hash(&r), crate::plan::recipe_hash(&off));
}
