#!/usr/bin/env python3
"""Makes ~500x375 JPEG photos for `ablate bench transforms` from the sample photos bundled
with scikit-learn (china, flower) and scikit-image (astronaut, coffee, chelsea, rocket, ...).

Usage (scratch venv, not the project's):
    python3 -m venv /tmp/tvvenv && /tmp/tvvenv/bin/pip install pillow numpy scikit-learn scikit-image
    /tmp/tvvenv/bin/python scripts/make-bench-photos.py OUT_DIR [--count 64]
Deterministic: crops at fixed offsets, resized with PIL bicubic, saved as JPEG quality 90
(4:2:0, like most camera/ImageNet JPEGs).
"""
import argparse
import os

import numpy as np
from PIL import Image


def sources():
    from sklearn.datasets import load_sample_images

    imgs = list(load_sample_images().images)
    import skimage.data as d

    for name in ["astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry", "retina"]:
        try:
            a = getattr(d, name)()
        except Exception:  # noqa: BLE001 - some images need a download; skip those
            continue
        if a.ndim == 3 and a.shape[2] == 3:
            imgs.append(a)
    return [Image.fromarray(np.asarray(a, dtype=np.uint8)) for a in imgs]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--count", type=int, default=64)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    src = sources()
    for k in range(args.count):
        im = src[k % len(src)]
        w, h = im.size
        v = k // len(src)
        # A crop covering 70-100 % of the side, at an offset that changes with k.
        f = 1.0 - 0.3 * ((v * 0.37) % 1.0)
        cw, ch = int(w * f), int(h * f)
        left = int((w - cw) * ((v * 0.61) % 1.0))
        top = int((h - ch) * ((v * 0.29) % 1.0))
        crop = im.crop((left, top, left + cw, top + ch))
        size = (500, 375) if (k % 4 != 3) else (375, 500)
        out = crop.resize(size, Image.BICUBIC)
        if v % 2:
            out = out.transpose(Image.FLIP_LEFT_RIGHT)
        out.save(os.path.join(args.out, f"photo_{k:03d}.jpg"), quality=90)
    print(f"wrote {args.count} photos from {len(src)} sources to {args.out}")


if __name__ == "__main__":
    main()
