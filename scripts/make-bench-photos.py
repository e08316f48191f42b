#!/usr/bin/env python3
"""Makes ~500x375 JPEG photos for `ablate bench transforms` from the sample photos bundled
with scikit-learn (china, flower) and scikit-image (astronaut, coffee, chelsea, rocket, ...).

Usage (scratch venv, not the project's):
    python3 -m venv /tmp/tvvenv && /tmp/tvvenv/bin/pip install pillow numpy scikit-learn scikit-image
    /tmp/tvvenv/bin/python scripts/make-bench-photos.py OUT_DIR [--count 64]
    /tmp/tvvenv/bin/python scripts/make-bench-photos.py OUT_DIR --count 2000 --classes 10 --val-count 200
With --classes, an ImageFolder (OUT_DIR/train/class_K/*.jpg and OUT_DIR/val/class_K/*.jpg,
photo k in class k % K) for `ablate bench train --data` and scripts/bench_torchvision_train.py.
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
    ap.add_argument("--classes", type=int, default=0, help="write an ImageFolder with this many classes")
    ap.add_argument("--val-count", type=int, default=0, help="with --classes: photos in val/")
    args = ap.parse_args()
    src = sources()
    if args.classes > 0:
        for split, n, first in [("train", args.count, 0), ("val", args.val_count, args.count)]:
            for c in range(args.classes):
                os.makedirs(os.path.join(args.out, split, f"class_{c:02d}"), exist_ok=True)
            for k in range(first, first + n):
                path = os.path.join(args.out, split, f"class_{k % args.classes:02d}", f"photo_{k:05d}.jpg")
                photo(src, k).save(path, quality=90)
        print(f"wrote {args.count} train + {args.val_count} val photos in {args.classes} classes from {len(src)} sources to {args.out}")
        return
    os.makedirs(args.out, exist_ok=True)
    for k in range(args.count):
        photo(src, k).save(os.path.join(args.out, f"photo_{k:03d}.jpg"), quality=90)
    print(f"wrote {args.count} photos from {len(src)} sources to {args.out}")


def photo(src, k):
    """Photo k: a ~500x375 (or 375x500) crop of a sample photo, deterministic in k."""
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
    return out


if __name__ == "__main__":
    main()
