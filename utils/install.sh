#!/usr/bin/env bash
# Installs ssltk and its test dependencies into the current Python environment.
# torch is pinned to 2.13.0 (the CPU wheel on these machines) *before* anything else,
# so that no later requirement pulls a multi-GB CUDA build; constraints.txt keeps it there.
#
# Usage: bash utils/install.sh [extra]     (extra: dev (default) | gpu)
set -euo pipefail
echo "$0 $*"
extra=${1:-dev}
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}

if ! "$python" -c 'import torch, sys; sys.exit(0 if torch.__version__.split("+")[0] == "2.13.0" else 1)' 2>/dev/null; then
  "$python" -m pip install --quiet torch==2.13.0
fi
"$python" -m pip install --quiet -c constraints.txt -e ".[$extra]"
"$python" -c 'import torch, ssltk; print(f"ssltk ready (torch {torch.__version__})")'
