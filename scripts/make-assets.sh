#!/usr/bin/env bash
# Builds assets/fashion-mnist/: a class-balanced subset of Fashion-MNIST (MIT licence,
# Zalando SE) from the Debian package `dataset-fashion-mnist`.
# Deterministic: the first 1000 (train) / 200 (test) images of each class, in file order.
# Usage: scripts/make-assets.sh [SRC_DIR]   (default /usr/share/datasets/fashion-mnist)
set -euo pipefail
SRC="${1:-/usr/share/datasets/fashion-mnist}"
DST="$(cd "$(dirname "$0")/.." && pwd)/assets/fashion-mnist"
mkdir -p "$DST"
python3 - "$SRC" "$DST" <<'PY'
import gzip, struct, sys
src, dst = sys.argv[1], sys.argv[2]

def read(prefix):
    with gzip.open(f"{src}/{prefix}-images-idx3-ubyte.gz") as f:
        magic, n, h, w = struct.unpack(">IIII", f.read(16))
        assert magic == 2051, magic
        images = f.read()
    with gzip.open(f"{src}/{prefix}-labels-idx1-ubyte.gz") as f:
        magic, m = struct.unpack(">II", f.read(8))
        assert magic == 2049 and m == n, (magic, m, n)
        labels = f.read()
    return n, h, w, images, labels

def write(prefix, per_class):
    n, h, w, images, labels = read(prefix)
    taken, keep = [0] * 10, []
    for i in range(n):
        if taken[labels[i]] < per_class:
            taken[labels[i]] += 1
            keep.append(i)
    assert taken == [per_class] * 10, taken
    px = h * w
    # mtime=0 keeps the gzip bytes reproducible.
    with open(f"{dst}/{prefix}-images-idx3-ubyte.gz", "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=9) as f:
        f.write(struct.pack(">IIII", 2051, len(keep), h, w))
        f.write(b"".join(images[i * px:(i + 1) * px] for i in keep))
    with open(f"{dst}/{prefix}-labels-idx1-ubyte.gz", "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=9) as f:
        f.write(struct.pack(">II", 2049, len(keep)))
        f.write(bytes(labels[i] for i in keep))
    print(f"{prefix}: {len(keep)} images")

write("train", 1000)
write("t10k", 200)
PY
