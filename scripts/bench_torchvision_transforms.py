#!/usr/bin/env python3
"""The torchvision side of `ablate bench transforms`: images/s on ONE core of the reference
train preset (`references/classification/presets.py::ClassificationPresetTrain`) with the V2
recipe values: decode (PIL), RandomResizedCrop(176, bilinear, antialias), RandomHorizontalFlip,
TrivialAugmentWide(bilinear), to float, Normalize(ImageNet), RandomErasing(0.1).
Both backends: `pil` (the default) and `tensor` (PILToTensor right after decoding).

Usage (scratch venv; torchvision 0.28.0 against the project's torch 2.13):
    /work/main/.venv/bin/python -m venv /tmp/tvvenv
    echo /work/main/.venv/lib/python3.11/site-packages > /tmp/tvvenv/lib/python3.11/site-packages/main_torch.pth
    /tmp/tvvenv/bin/pip install --no-deps torchvision==0.28.0 && /tmp/tvvenv/bin/pip install pillow numpy
    /tmp/tvvenv/bin/python scripts/bench_torchvision_transforms.py --images DIR [--seconds 5]
Files are read into memory first, as `ablate bench transforms` does.
"""
import argparse
import io
import os
import time

import torch
import torchvision
from PIL import Image
from torchvision import transforms as T
from torchvision.transforms.functional import InterpolationMode


def preset(backend, crop=176):
    t = []
    if backend == "tensor":
        t.append(T.PILToTensor())
    t += [
        T.RandomResizedCrop(crop, interpolation=InterpolationMode.BILINEAR, antialias=True),
        T.RandomHorizontalFlip(0.5),
        T.TrivialAugmentWide(interpolation=InterpolationMode.BILINEAR),
    ]
    if backend == "pil":
        t.append(T.PILToTensor())
    t += [
        T.ConvertImageDtype(torch.float),
        T.Normalize(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)),
        T.RandomErasing(p=0.1),
    ]
    return T.Compose(t)


def run(blobs, backend, seconds):
    tf = preset(backend)
    load = lambda b: Image.open(io.BytesIO(b)).convert("RGB")
    for b in blobs:  # warm-up pass
        tf(load(b))
    n, sink, t0, c0 = 0, 0.0, time.perf_counter(), time.process_time()
    while time.perf_counter() - t0 < seconds:
        for b in blobs:
            x = tf(load(b))
            sink += float(x[0, 0, 0])
            n += 1
    # Per CPU-second (process time), robust to other processes sharing the cores.
    return n / (time.perf_counter() - t0), n / (time.process_time() - c0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", required=True)
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    files = sorted(f for f in os.listdir(args.images) if f.lower().endswith((".jpg", ".jpeg", ".png")))
    blobs = [open(os.path.join(args.images, f), "rb").read() for f in files]
    print(f"torch {torch.__version__}, torchvision {torchvision.__version__}, {len(blobs)} images, 1 thread")
    load = lambda b: Image.open(io.BytesIO(b)).convert("RGB")
    n, c0 = 0, time.process_time()
    while time.process_time() - c0 < args.seconds / 2:
        for b in blobs:
            load(b)
            n += 1
    print(f"PIL decode alone: {n / (time.process_time() - c0):.1f} images per CPU-second")
    for backend in ["pil", "tensor"]:
        wall, cpu = run(blobs, backend, args.seconds)
        print(f"torchvision {backend} backend: {wall:.1f} images/s wall, {cpu:.1f} images per CPU-second")


if __name__ == "__main__":
    main()
