#!/usr/bin/env bash
# Create the project venv and install tokenfall with every extra the tests need.
# llama-cpp-python ships only as source (~8 min to build on 2 cores), so its wheel is built once
# into a cache outside the repo ($TOKENFALL_WHEELS) and reused by later installs and by CI.
set -euo pipefail
VENV=${1:-.venv}
WHEELS=${TOKENFALL_WHEELS:-$HOME/.cache/tokenfall/wheels}
LLAMA=llama-cpp-python==0.3.36
mkdir -p "$WHEELS"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
PIP="$VENV/bin/python -m pip --disable-pip-version-check -q"
$PIP install -U pip wheel
if ! ls "$WHEELS"/llama_cpp_python-0.3.36-*.whl >/dev/null 2>&1; then
  echo "building $LLAMA once into $WHEELS (about 8 minutes on 2 cores)..."
  $PIP wheel --no-deps "$LLAMA" -w "$WHEELS"
fi
$PIP install torch==2.13.0   # CPU build from local disk; installing it first keeps CUDA builds out
$PIP install --find-links "$WHEELS" -e ".[dev]"
touch "$VENV/.installed"
