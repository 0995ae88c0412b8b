#!/usr/bin/env bash
# Sets up .venv if needed and runs the default (fast) test suite. Extra args go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export TF_CPP_MIN_LOG_LEVEL=2 KERAS_BACKEND=tensorflow
.venv/bin/python -m pytest -q "$@"
