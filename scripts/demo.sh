#!/usr/bin/env bash
# Sets up .venv if needed, trains DCGAN on the embedded 8x8 digits for a short run,
# and writes runs/dcgan-digits/{model.keras,history.json,samples/} plus a sample grid.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export TF_CPP_MIN_LOG_LEVEL=2 KERAS_BACKEND=tensorflow
OUT="${OUT:-runs/dcgan-digits}"
.venv/bin/kerasgen train dcgan --data digits --epochs "${EPOCHS:-100}" --batch-size 64 \
  --sample-every 10 --out "$OUT" --overwrite --quiet
.venv/bin/kerasgen sample "$OUT" --n 64 --seed 0 --out "$OUT/grid.png"
