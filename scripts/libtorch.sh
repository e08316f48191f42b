#!/usr/bin/env bash
# Find or install libtorch (PyTorch 2.13.x) and write .cargo/config.toml so that plain
# `cargo build` / `cargo test` find it afterwards. Order (first match wins):
#   1. $LIBTORCH, if set (a libtorch folder with include/ and lib/, e.g. .../site-packages/torch)
#   2. a python3 whose `torch` is 2.13.x (e.g. the CUDA PyTorch of a GPU server)
#   3. a project-local virtual environment .venv with torch==2.13.0 from PyPI (created if missing)
# Prints exactly one line saying which libtorch was used.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
want="2.13"

torch_dir_of() { # python -> prints torch's folder if its version is 2.13.x
    "$1" - <<'PY' 2>/dev/null
import os, torch
v = torch.__version__.split("+")[0]
if v.startswith("2.13."):
    print(os.path.dirname(torch.__file__))
PY
}

source_desc=""
if [[ -n "${LIBTORCH:-}" ]]; then
    dir="$LIBTORCH"
    [[ -d "$dir/lib" && -d "$dir/include" ]] || {
        echo "error: LIBTORCH=$dir has no lib/ and include/ folders; point it at a libtorch folder (for a pip install: .../site-packages/torch)" >&2
        exit 1
    }
    source_desc="LIBTORCH environment variable"
elif py="$(command -v python3 || true)"; [[ -n "$py" ]] && dir="$(torch_dir_of "$py")" && [[ -n "$dir" ]]; then
    source_desc="python3 ($py) torch"
else
    if [[ ! -x .venv/bin/python ]] || [[ -z "$(torch_dir_of .venv/bin/python)" ]]; then
        echo "ablate: installing torch==2.13.0 (with its CUDA dependencies) into $root/.venv; this is a one-time download of a few GB" >&2
        python3 -m venv .venv
        .venv/bin/pip install --quiet --disable-pip-version-check --progress-bar off "torch==2.13.0" >&2
    fi
    dir="$(torch_dir_of .venv/bin/python)"
    [[ -n "$dir" ]] || { echo "error: torch 2.13 could not be installed into .venv (see pip's output above)" >&2; exit 1; }
    source_desc="project venv $root/.venv"
fi

mkdir -p .cargo
cfg=".cargo/config.toml"
new="# Written by scripts/libtorch.sh (git-ignored). Delete it to search for libtorch again.
[env]
LIBTORCH = \"$dir\"
"
if [[ ! -f "$cfg" ]] || [[ "$(cat "$cfg")" != "$(printf '%s' "$new")" ]]; then
    printf '%s' "$new" > "$cfg"
fi
echo "ablate: libtorch $want from $source_desc: $dir"
