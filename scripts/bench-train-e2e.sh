#!/usr/bin/env bash
# End-to-end CPU training throughput, ablate vs torchvision's reference loop (BENCHMARKS.md):
# RUNS interleaved rounds of `ablate bench train` and scripts/bench_torchvision_train.py on the
# same model, batch, data and thread budget, each run under `flock $LOCK` (the machine is
# shared), then the median images/s of each side.
#
#   scripts/bench-train-e2e.sh quick   # fashion-mnist-quick baseline row
#   scripts/bench-train-e2e.sh r18-64  # resnet18 at 64 px, every ingredient on, JPEG ImageFolder
#
# Environment: ABLATE (binary, default target/debug/ablate), PY (python with the PyPI torch
# 2.13.0 + torchvision 0.28.0, default /tmp/tvvenv/bin/python), RUNS (3), THREADS (2: libtorch
# threads on both sides), TORCH_WORKERS ("1 2": DataLoader worker counts tried; ablate uses
# ABLATE_WORKERS, default the core count), PHOTOS (ImageFolder for r18-64, made on demand),
# LOCK (/tmp/ablate-bench.lock).
set -euo pipefail
cd "$(dirname "$0")/.."
CASE=${1:?usage: $0 quick|r18-64}
ABLATE=${ABLATE:-target/debug/ablate}
PY=${PY:-/tmp/tvvenv/bin/python}
RUNS=${RUNS:-3}
THREADS=${THREADS:-2}
TORCH_WORKERS=${TORCH_WORKERS:-"1 2"}
LOCK=${LOCK:-/tmp/ablate-bench.lock}
PHOTOS=${PHOTOS:-/tmp/ablate-bench-photos}
export OMP_WAIT_POLICY=PASSIVE ABLATE_THREADS=$THREADS

case $CASE in
quick)
    ABLATE_ARGS=(fashion-mnist-quick --row 0)
    TORCH_ARGS=(--data fashion-mnist --model resnet18 --stem small --base-width 8 --train-crop-size 28
        --batch-size 32 --lr 0.05 --rrc-min-scale 0.3 --momentum 0.9 --wd 1e-4)
    ;;
r18-64)
    if [ ! -d "$PHOTOS/train" ]; then
        "$PY" scripts/make-bench-photos.py "$PHOTOS" --count 1280 --classes 10 --val-count 100
    fi
    # The V2 recipe's last training row (every ingredient on) at 64 px on one device; EMA
    # every 4 steps so the 10-step epoch (1280 photos) does 3 updates (32 would do 1).
    SETS=(world_size=1 model=resnet18 train_crop_size=64 val_resize_size=73 val_crop_size=64 model_ema_steps=4)
    ABLATE_ARGS=(torchvision-resnet50-v2 --row 10 --data "$PHOTOS")
    for s in "${SETS[@]}"; do ABLATE_ARGS+=(--set "$s"); done
    TORCH_ARGS=(--data "$PHOTOS" --model resnet18 --stem imagenet --base-width 64 --train-crop-size 64
        --batch-size 128 --lr 0.5 --momentum 0.9 --wd 2e-5 --norm-weight-decay 0.0 --label-smoothing 0.1
        --mixup-alpha 0.2 --cutmix-alpha 1.0 --auto-augment ta_wide --random-erase 0.1
        --model-ema --model-ema-steps 4 --model-ema-decay 0.99998)
    ;;
*)
    echo "unknown case $CASE" >&2
    exit 2
    ;;
esac

declare -A RES
for run in $(seq 1 "$RUNS"); do
    echo "== round $run, load: $(cut -d' ' -f1-3 /proc/loadavg)"
    line=$(flock "$LOCK" "$ABLATE" bench train "${ABLATE_ARGS[@]}" --device cpu | tail -1)
    echo "ablate: $line"
    RES[ablate]+="$(sed -E 's/.*engine ([0-9.]+) img\/s.*/\1/' <<<"$line") "
    RES[bare]+="$(sed -E 's/.*bare loop ([0-9.]+) img\/s.*/\1/' <<<"$line") "
    for w in $TORCH_WORKERS; do
        line=$(flock "$LOCK" "$PY" scripts/bench_torchvision_train.py "${TORCH_ARGS[@]}" --threads "$THREADS" --workers "$w" | tail -1)
        echo "torch (workers $w): $line"
        RES[torch$w]+="$(sed -E 's/.*, ([0-9.]+) img\/s.*/\1/' <<<"$line") "
    done
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
echo "== medians of $RUNS runs ($CASE, $THREADS libtorch threads)"
for k in ablate bare $(for w in $TORCH_WORKERS; do echo torch$w; done); do
    echo "$k: $(median <<<"${RES[$k]}") img/s   (runs: ${RES[$k]})"
done
