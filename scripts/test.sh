#!/usr/bin/env bash
# Sets up .venv if needed and runs the default (fast) test suite on KERASGEN_TEST_WORKERS processes
# (default 2, pytest-xdist; 1 runs in this process). Extra args go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export TF_CPP_MIN_LOG_LEVEL=2 KERAS_BACKEND=tensorflow
workers="${KERASGEN_TEST_WORKERS:-2}"
if [ "$workers" -gt 1 ]; then
  set -- -n "$workers" --dist loadgroup "$@"
fi
.venv/bin/python -m pytest -q "$@"
