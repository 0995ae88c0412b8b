#!/usr/bin/env bash
# Creates benchmarks/.peers-venv: CPU-only PyTorch, zuko and normflows from the package registry, for
# benchmarks/peers.py's PyTorch side. They are never dependencies of kerasgen.
# For `peers.py --gpu`, install a CUDA build instead: TORCH_INDEX=https://download.pytorch.org/whl/cu126 bash benchmarks/peers_setup.sh
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3}"
if [ ! -x .peers-venv/bin/python ]; then
  "$PYTHON" -m venv .peers-venv
fi
.peers-venv/bin/python -m pip install --quiet --upgrade pip
# PyTorch's own index first (its CPU wheels are a fraction of the size); where it cannot be reached, one quick try
# and then the default registry, rather than pip's five retries per request.
.peers-venv/bin/python -m pip install --quiet --retries 0 --timeout 15 \
  --index-url "${TORCH_INDEX:-https://download.pytorch.org/whl/cpu}" torch \
  || .peers-venv/bin/python -m pip install --quiet torch
.peers-venv/bin/python -m pip install --quiet zuko normflows numpy
.peers-venv/bin/python -c "import torch, zuko, normflows; print('torch', torch.__version__, 'zuko', zuko.__version__)"
