#!/usr/bin/env bash
# Create the project venv and install tokenfall with every extra the tests need.
# llama-cpp-python ships only as source (~8 min to build on 2 cores), so its wheel is built once into a
# cache outside the repo ($TOKENFALL_WHEELS), in a folder keyed by version and the CPU instruction level it
# was built for (scripts/llama_wheel.py: explicit flags, never -march=native, AMX left out), and reused
# only on a CPU of that level.
set -euo pipefail
VENV=${1:-.venv}
WHEELS=${TOKENFALL_WHEELS:-$HOME/.cache/tokenfall/wheels}
mkdir -p "$WHEELS"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
PIP="$VENV/bin/python -m pip --disable-pip-version-check -q"
$PIP install -U pip wheel
LLAMA_DIR=$("$VENV/bin/python" scripts/llama_wheel.py "$WHEELS" $PIP)
$PIP install torch==2.13.0   # CPU build from local disk; installing it first keeps CUDA builds out
$PIP install --no-index --no-deps --find-links "$LLAMA_DIR" llama-cpp-python==0.3.36   # this CPU level's build, never PyPI's sdist
$PIP install --find-links "$LLAMA_DIR" -e ".[dev]"
touch "$VENV/.installed"
