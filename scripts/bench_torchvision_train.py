#!/usr/bin/env python3
"""The PyTorch side of `ablate bench train`: one training epoch of torchvision's reference
recipe (`references/classification/train.py::train_one_epoch` + `presets.py` + `utils.py`),
as a plain PyTorch loop, on the same model, batch, data and thread count as ablate.

What is replicated from the reference scripts (torchvision 0.28):
- data: `ImageFolder` (PIL loader) or the embedded Fashion-MNIST subset (assets/, gray -> RGB
  PIL images, as torchvision.datasets.FashionMNIST + convert("RGB")), RandomSampler,
  DataLoader(num_workers=--workers), collate_fn = RandomChoice([MixUp, CutMix]) from
  transforms.v2 over default_collate, as train.py does when --mixup-alpha/--cutmix-alpha > 0;
- per-image transforms: ClassificationPresetTrain, PIL backend, v1 transforms (train.py's
  defaults): RandomResizedCrop(crop, bilinear, antialias) -> RandomHorizontalFlip(0.5) ->
  [TrivialAugmentWide] -> PILToTensor -> ConvertImageDtype(float) -> Normalize ->
  [RandomErasing(p)];
- step: CrossEntropyLoss(label_smoothing), zero_grad, backward, SGD(momentum, nesterov) with
  `utils.set_weight_decay` parameter groups (norm layers apart when --norm-weight-decay),
  EMA = `utils.ExponentialMovingAverage` (AveragedModel, use_buffers=True) every
  --model-ema-steps, with train.py's decay adjustment; per step loss.item(), acc1/acc5 .item()
  as MetricLogger does.
- model: torchvision's ResNet (torchvision.models.resnet), with ablate's two extensions
  (src/engine/model.rs): `--stem small` (3x3 stride-1 conv, no max-pool) and `--base-width`
  (channels of the first stage; torchvision is 64). The parameter count is printed and must
  equal ablate's (`ablate bench train` prints it too).

Timing: images/s of the whole epoch, from creating the DataLoader iterator (worker start) to
the end of the last step; evaluation excluded. ablate's figure is the same span (its Epoch
event's images_per_sec). Both sides first run 2 untimed steps of a throwaway model on random
input (libtorch's one-time kernel setup), then time a fresh model from its first step.

Usage (scratch venv; the PyPI torch 2.13.0 + torchvision 0.28.0; see BENCHMARKS.md):
    /tmp/tvvenv/bin/python scripts/bench_torchvision_train.py --data fashion-mnist \
        --model resnet18 --stem small --base-width 8 --train-crop-size 28 --batch-size 32 \
        --threads 2 --workers 2
"""
import argparse
import gzip
import os
import struct
import sys
import time

import numpy as np
import torch
import torchvision
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset, RandomSampler
from torch.utils.data.dataloader import default_collate
from torchvision import transforms as T
from torchvision.models import resnet as tvr
from torchvision.transforms import v2
from torchvision.transforms.functional import InterpolationMode

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class Net(tvr.ResNet):
    """torchvision's ResNet.__init__ with ablate's stem and base_width; forward, _make_layer
    and the blocks are torchvision's own."""

    def __init__(self, block, layers, num_classes, stem, base_width, zero_init_residual=False):
        nn.Module.__init__(self)
        self._norm_layer = nn.BatchNorm2d
        self.inplanes, self.dilation, self.groups, self.base_width = base_width, 1, 1, 64
        if stem == "small":
            self.conv1 = nn.Conv2d(3, base_width, 3, 1, 1, bias=False)
            self.maxpool = nn.Identity()
        else:
            self.conv1 = nn.Conv2d(3, base_width, 7, 2, 3, bias=False)
            self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.bn1 = nn.BatchNorm2d(base_width)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = self._make_layer(block, base_width, layers[0])
        self.layer2 = self._make_layer(block, base_width * 2, layers[1], stride=2)
        self.layer3 = self._make_layer(block, base_width * 4, layers[2], stride=2)
        self.layer4 = self._make_layer(block, base_width * 8, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(base_width * 8 * block.expansion, num_classes)
        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, tvr.Bottleneck):
                    nn.init.constant_(m.bn3.weight, 0)
                elif isinstance(m, tvr.BasicBlock):
                    nn.init.constant_(m.bn2.weight, 0)


ARCHS = {
    "resnet18": (tvr.BasicBlock, [2, 2, 2, 2]),
    "resnet34": (tvr.BasicBlock, [3, 4, 6, 3]),
    "resnet50": (tvr.Bottleneck, [3, 4, 6, 3]),
}


def build_model(name, num_classes, stem, base_width):
    if stem == "imagenet" and base_width == 64:
        return torchvision.models.get_model(name, weights=None, num_classes=num_classes)
    block, layers = ARCHS[name]
    return Net(block, layers, num_classes, stem, base_width)


def read_idx(path):
    raw = gzip.open(path).read() if path.endswith(".gz") else open(path, "rb").read()
    magic, n = struct.unpack(">II", raw[:8])
    if magic == 2051:
        h, w = struct.unpack(">II", raw[8:16])
        return np.frombuffer(raw, np.uint8, offset=16).reshape(n, h, w)
    return np.frombuffer(raw, np.uint8, offset=8).astype(np.int64)


class GrayDataset(Dataset):
    """In-memory gray images served as RGB PIL images (FashionMNIST + convert("RGB"))."""

    def __init__(self, images, labels, transform):
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        img = Image.fromarray(self.images[i], mode="L").convert("RGB")
        return self.transform(img), int(self.labels[i])


def train_preset(a, mean, std):
    """presets.py ClassificationPresetTrain, backend "pil", use_v2 False."""
    interp = InterpolationMode.BILINEAR
    t = [T.RandomResizedCrop(a.train_crop_size, scale=(a.rrc_min_scale, 1.0), interpolation=interp, antialias=True), T.RandomHorizontalFlip(0.5)]
    if a.auto_augment == "ta_wide":
        t.append(T.TrivialAugmentWide(interpolation=interp))
    elif a.auto_augment is not None:
        sys.exit(f"--auto-augment {a.auto_augment}: only ta_wide is wired here")
    t += [T.PILToTensor(), T.ConvertImageDtype(torch.float), T.Normalize(mean=mean, std=std)]
    if a.random_erase > 0:
        t.append(T.RandomErasing(p=a.random_erase))
    return T.Compose(t)


def dataset(a):
    if a.data == "fashion-mnist":
        d = os.path.join(REPO, "assets", "fashion-mnist")
        images = read_idx(os.path.join(d, "train-images-idx3-ubyte.gz"))
        labels = read_idx(os.path.join(d, "train-labels-idx1-ubyte.gz"))
        # ablate normalises in-memory sets with their own train-set mean/std (data/mod.rs).
        m = float(images.mean(dtype=np.float64)) / 255.0
        s = float(np.sqrt((images.astype(np.float64) ** 2).mean() / 65025.0 - m * m))
        ds = GrayDataset(images, labels, train_preset(a, (m,) * 3, (s,) * 3))
        return ds, int(labels.max()) + 1
    ds = torchvision.datasets.ImageFolder(os.path.join(a.data, "train"), train_preset(a, IMAGENET_MEAN, IMAGENET_STD))
    return ds, len(ds.classes)


def set_weight_decay(model, weight_decay, norm_weight_decay):
    """utils.set_weight_decay without custom keys: norm-layer parameters apart when asked."""
    norm_classes = (nn.modules.batchnorm._BatchNorm, nn.LayerNorm, nn.GroupNorm, nn.modules.instancenorm._InstanceNorm, nn.LocalResponseNorm)
    groups = {"other": [], "norm": []}
    for m in model.modules():
        for p in m.parameters(recurse=False):
            if p.requires_grad:
                key = "norm" if norm_weight_decay is not None and isinstance(m, norm_classes) else "other"
                groups[key].append(p)
    out = [{"params": groups["other"], "weight_decay": weight_decay}]
    if groups["norm"]:
        out.append({"params": groups["norm"], "weight_decay": norm_weight_decay})
    return out


class ExponentialMovingAverage(torch.optim.swa_utils.AveragedModel):
    """references/classification/utils.py, verbatim in effect."""

    def __init__(self, model, decay, device="cpu"):
        def ema_avg(avg_model_param, model_param, num_averaged):
            return decay * avg_model_param + (1 - decay) * model_param

        super().__init__(model, device, ema_avg, use_buffers=True)


def accuracy(output, target, topk=(1,)):
    """utils.accuracy, with k capped at the class count (train.py's top-5 fails below 5
    classes; ablate caps it the same way)."""
    with torch.inference_mode():
        maxk = min(max(topk), output.size(1))
        batch_size = target.size(0)
        if target.ndim == 2:
            target = target.max(dim=1)[1]
        _, pred = output.topk(maxk, 1, True, True)
        pred = pred.t()
        correct = pred.eq(target[None])
        return [correct[:k].flatten().sum(dtype=torch.float32) * (100.0 / batch_size) for k in topk]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="fashion-mnist", help="fashion-mnist (the embedded subset) or an ImageFolder root with train/")
    ap.add_argument("--model", default="resnet18")
    ap.add_argument("--stem", default="imagenet", choices=["imagenet", "small"])
    ap.add_argument("--base-width", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--train-crop-size", type=int, default=224)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--rrc-min-scale", type=float, default=0.08, help="ablate's rrc_min_scale")
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--wd", "--weight-decay", dest="weight_decay", type=float, default=1e-4)
    ap.add_argument("--norm-weight-decay", type=float, default=None)
    ap.add_argument("--opt", default="sgd", choices=["sgd", "sgd_nesterov"])
    ap.add_argument("--label-smoothing", type=float, default=0.0)
    ap.add_argument("--mixup-alpha", type=float, default=0.0)
    ap.add_argument("--cutmix-alpha", type=float, default=0.0)
    ap.add_argument("--auto-augment", default=None)
    ap.add_argument("--random-erase", type=float, default=0.0)
    ap.add_argument("--model-ema", action="store_true")
    ap.add_argument("--model-ema-steps", type=int, default=32)
    ap.add_argument("--model-ema-decay", type=float, default=0.99998)
    ap.add_argument("--epochs", type=int, default=1, help="only for train.py's EMA decay adjustment")
    ap.add_argument("--threads", type=int, required=True, help="torch.set_num_threads (ablate: ABLATE_THREADS)")
    ap.add_argument("--workers", type=int, required=True, help="DataLoader worker processes (ablate: ABLATE_WORKERS threads)")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    device = torch.device("cpu")
    ds, num_classes = dataset(a)
    collate_fn = default_collate
    mix = []
    if a.mixup_alpha > 0:
        mix.append(v2.MixUp(alpha=a.mixup_alpha, num_classes=num_classes))
    if a.cutmix_alpha > 0:
        mix.append(v2.CutMix(alpha=a.cutmix_alpha, num_classes=num_classes))
    if mix:
        mixup_cutmix = v2.RandomChoice(mix)

        def collate_fn(batch):
            return mixup_cutmix(*default_collate(batch))

    loader = DataLoader(ds, batch_size=a.batch_size, sampler=RandomSampler(ds), num_workers=a.workers, pin_memory=False, collate_fn=collate_fn)
    model = build_model(a.model, num_classes, a.stem, a.base_width).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    criterion = nn.CrossEntropyLoss(label_smoothing=a.label_smoothing)
    params = set_weight_decay(model, a.weight_decay, a.norm_weight_decay)
    optimizer = torch.optim.SGD(params, lr=a.lr, momentum=a.momentum, weight_decay=a.weight_decay, nesterov="nesterov" in a.opt)
    model_ema = None
    if a.model_ema:
        adjust = 1 * a.batch_size * a.model_ema_steps / a.epochs  # world_size 1
        alpha = min(1.0, (1.0 - a.model_ema_decay) * adjust)
        model_ema = ExponentialMovingAverage(model, device=device, decay=1.0 - alpha)

    # Untimed warm-up, as `ablate bench train` does: 2 steps of a throwaway model on random
    # input, so libtorch's one-time kernel setup falls outside the timed epoch on both sides.
    warm = build_model(a.model, num_classes, a.stem, a.base_width)
    warm_opt = torch.optim.SGD(warm.parameters(), lr=a.lr, momentum=a.momentum, weight_decay=a.weight_decay)
    x = torch.randn(a.batch_size, 3, a.train_crop_size, a.train_crop_size)
    for _ in range(2):
        loss = criterion(warm(x), torch.zeros(a.batch_size, dtype=torch.int64))
        warm_opt.zero_grad()
        loss.backward()
        warm_opt.step()
    del warm, warm_opt

    model.train()
    seen, loss_sum, acc1_sum = 0, 0.0, 0.0
    t0 = time.perf_counter()
    for i, (image, target) in enumerate(loader):
        image, target = image.to(device), target.to(device)
        output = model(image)
        loss = criterion(output, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if model_ema is not None and i % a.model_ema_steps == 0:
            model_ema.update_parameters(model)
        acc1, acc5 = accuracy(output, target, topk=(1, 5))
        loss_sum += loss.item()
        acc1_sum += acc1.item() * image.shape[0]
        acc5.item()
        seen += image.shape[0]
    dt = time.perf_counter() - t0
    print(
        f"torch {torch.__version__} torchvision {torchvision.__version__}: {a.model} stem {a.stem} base_width {a.base_width} "
        f"({n_params} params), crop {a.train_crop_size}, batch {a.batch_size}, {a.threads} threads, {a.workers} workers: "
        f"{seen} images in {dt:.2f} s, {seen / dt:.1f} img/s (train loss {loss_sum / (i + 1):.3f}, acc@1 {acc1_sum / seen:.1f})"
    )


if __name__ == "__main__":
    main()
