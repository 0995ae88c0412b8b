#!/usr/bin/env bash
# The main job end to end: sets up .venv if needed, trains DCGAN on the embedded 8x8 digits, exports
# the generator for TF Serving (saved_models/dcgan-digits/<version>/) and onnxruntime
# (export/dcgan-digits.onnx + its model card), then draws the final grid from the ONNX file with
# onnxruntime alone (no TensorFlow in that step). EPOCHS (default 50) and OUT (the run folder,
# default runs/dcgan-digits) can be set in the environment.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export KERAS_BACKEND=tensorflow
NAME=dcgan-digits
OUT="${OUT:-runs/$NAME}"
kg=.venv/bin/kerasgen
start=$SECONDS

echo "== training dcgan on the 8x8 digits (${EPOCHS:-50} epochs)"
$kg train dcgan --data digits --epochs "${EPOCHS:-50}" --batch-size 64 --sample-every 10 --out "$OUT" --overwrite --quiet
echo "== exporting the generator"
$kg export "$OUT" --out . --name "$NAME"
echo "== drawing 64 samples from the ONNX file with onnxruntime"
$kg sample "export/$NAME.onnx" --n 64 --seed 0 --out "$OUT/grid.png"
version=$(ls saved_models/$NAME | grep -E '^[0-9]+$' | sort -n | tail -1)

cat <<SUMMARY

done in $((SECONDS - start)) s
  run:        $OUT/ (model.keras, checkpoints/, history.json, run.json, samples/, grid.png)
  SavedModel: saved_models/$NAME/$version/ (TF Serving layout, model_card.json inside)
  ONNX:       export/$NAME.onnx + export/$NAME.model_card.json
  grid:       $OUT/grid.png (drawn by onnxruntime from the ONNX file)

next:
  $kg serve saved_models/$NAME          # TF Serving's REST API + an explorer page at http://127.0.0.1:8501/
  $kg evaluate $OUT --metrics fid,kid   # sample quality against the held-out digits
  $kg report $OUT                       # $OUT/report.html: curves, sample grids, interpolation
  docker run -p 8501:8501 -v "\$PWD/saved_models/$NAME:/models/$NAME" -e MODEL_NAME=$NAME tensorflow/serving
SUMMARY
