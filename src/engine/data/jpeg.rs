//! JPEG decoding through the system libjpeg-turbo (`jpeg/shim.c`, linked with `-ljpeg`):
//! the header alone, or only the region a crop needs, optionally at a DCT-reduced scale N/8.
//!
//! Why a C shim: no crate offers cropped + scaled decoding on libjpeg-turbo 2.x (Debian's
//! libjpeg62-turbo). `turbojpeg` needs libjpeg-turbo 3 built from source (cmake + nasm), and
//! the `image` crate's decoder (zune-jpeg) has neither DCT scaling nor partial decoding.
use super::{CropSource, Image};
use std::os::raw::{c_char, c_int, c_uchar, c_ulong};

extern "C" {
    fn ablate_jpeg_decode(
        data: *const c_uchar,
        len: c_ulong,
        scale_num: c_int,
        x0: c_int,
        y0: c_int,
        x1: c_int,
        y1: c_int,
        out: *mut c_uchar,
        cap: usize,
        info: *mut c_int,
        err: *mut c_char,
        errlen: usize,
    ) -> c_int;
}

/// The DCT scales (numerators over 8) the train path may decode at, smallest first.
/// libjpeg-turbo has SIMD IDCTs for 2/8, 4/8 and 8/8 (1/8 keeps only the DC); the other
/// N/8 run scalar IDCTs (e.g. 10x10 for 4:2:0 chroma at 5/8) that cost more than decoding at
/// 8/8 (callgrind, bench photos), so they are not used.
pub const SCALES: [usize; 4] = [1, 2, 4, 8];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub width: usize,
    pub height: usize,
    pub components: usize,
}

/// JPEG files start with SOI followed by a marker.
pub fn is_jpeg(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0xFF, 0xD8, 0xFF])
}

/// Size of a `dim`-pixel side decoded at scale `num`/8 (libjpeg's `jdiv_round_up`).
pub fn scaled(dim: usize, num: usize) -> usize {
    (dim * num).div_ceil(8)
}

fn call(bytes: &[u8], num: usize, r: [usize; 4], out: &mut Vec<u8>) -> Result<[usize; 6], String> {
    let mut info = [0 as c_int; 6];
    let mut err = [0 as c_char; 200];
    let to_c = |v: usize| c_int::try_from(v).map_err(|_| format!("region {r:?} too large"));
    // SAFETY: the shim reads `len` bytes of `data`, writes at most `cap` bytes to `out` (the
    // vector's spare capacity), six ints to `info` and a NUL-terminated message of at most
    // `errlen` bytes to `err`; it keeps no pointer after returning.
    let rc = unsafe {
        ablate_jpeg_decode(
            bytes.as_ptr(),
            bytes.len() as c_ulong,
            num as c_int,
            to_c(r[0])?,
            to_c(r[1])?,
            to_c(r[2])?,
            to_c(r[3])?,
            out.as_mut_ptr(),
            out.capacity(),
            info.as_mut_ptr(),
            err.as_mut_ptr(),
            err.len(),
        )
    };
    if rc != 0 {
        // SAFETY: the shim NUL-terminates `err` within its length.
        let msg = unsafe { std::ffi::CStr::from_ptr(err.as_ptr()) };
        return Err(msg.to_string_lossy().into_owned());
    }
    Ok(info.map(|v| v as usize))
}

/// Reads the header (dimensions and number of components).
pub fn header(bytes: &[u8]) -> Result<Header, String> {
    let i = call(bytes, 0, [0; 4], &mut Vec::new())?;
    Ok(Header {
        width: i[0],
        height: i[1],
        components: i[2],
    })
}

/// A decoded part of a JPEG: `img` holds scaled pixels from column `x0`, row `y0` of the image
/// decoded at `num`/8.
#[derive(Debug, Clone, PartialEq)]
pub struct Region {
    pub img: Image,
    pub x0: usize,
    pub y0: usize,
    pub num: usize,
}

/// Decodes at scale `num`/8 the rows `y0..y1` and (at least) the columns `x0..x1`, given in
/// scaled pixels, to RGB (grayscale is expanded). libjpeg may start the region a few columns
/// further left (its iMCU boundary); `Region::x0` says where. CMYK files are rejected.
pub fn decode_region(
    bytes: &[u8],
    num: usize,
    [x0, y0, x1, y1]: [usize; 4],
) -> Result<Region, String> {
    if !(1..=8).contains(&num) {
        return Err(format!("scale {num}/8 is not one of 1/8..8/8"));
    }
    if x1 <= x0 || y1 <= y0 {
        return Err(format!("empty region {x0}..{x1} x {y0}..{y1}"));
    }
    // The left edge moves by less than one iMCU (at most 32 scaled pixels).
    let cap = (x1 - x0 + 32) * (y1 - y0) * 3;
    let mut data = Vec::with_capacity(cap);
    let i = call(bytes, num, [x0, y0, x1, y1], &mut data)?;
    if i[2] == 4 {
        return Err("CMYK JPEG".into());
    }
    let (xoff, w, h) = (i[3], i[4], i[5]);
    // SAFETY: on success the shim has written `h` rows of `w` RGB pixels (checked against
    // the capacity in C) to the start of the buffer.
    unsafe { data.set_len(w * h * 3) };
    Ok(Region {
        img: Image {
            width: w,
            height: h,
            data,
        },
        x0: xoff,
        y0,
        num,
    })
}

/// The smallest scale num/8 at which a `w` x `h` box still has `min_out` pixels per side.
pub fn scale_for(w: usize, h: usize, min_out: usize) -> usize {
    SCALES
        .into_iter()
        .find(|&n| w * n >= 8 * min_out && h * n >= 8 * min_out)
        .unwrap_or(8)
}

/// Decodes what the crop `bx` = (top, left, height, width) of the full-size image needs to be
/// resized to `min_out` pixels per side: only the rows and columns under the box, at the
/// largest DCT reduction that keeps the box at least `min_out` pixels per side when `scaled`,
/// else at full size (then the pixels equal a full decode's).
pub fn decode_for_crop(
    bytes: &[u8],
    hdr: Header,
    (top, left, h, w): (usize, usize, usize, usize),
    min_out: usize,
    scaled_decode: bool,
) -> Result<CropSource, String> {
    let num = if scaled_decode {
        scale_for(w, h, min_out)
    } else {
        8
    };
    let s = num as f64 / 8.0;
    let (sw, sh) = (scaled(hdr.width, num), scaled(hdr.height, num));
    let fx = [left as f64 * s, ((left + w) as f64 * s).min(sw as f64)];
    let fy = [top as f64 * s, ((top + h) as f64 * s).min(sh as f64)];
    let ix = [fx[0].floor() as usize, (fx[1].ceil() as usize).min(sw)];
    let iy = [fy[0].floor() as usize, (fy[1].ceil() as usize).min(sh)];
    let r = decode_region(bytes, num, [ix[0], iy[0], ix[1], iy[1]])?;
    let (ox, oy) = (r.x0 as f64, r.y0 as f64);
    Ok(CropSource {
        img: r.img,
        bx: [fx[0] - ox, fy[0] - oy, fx[1] - ox, fy[1] - oy],
    })
}
