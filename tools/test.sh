#!/usr/bin/env bash
# Run the whole test suite once per Keras backend (TensorFlow, JAX, PyTorch).
# Exits non-zero if any backend fails. Extra arguments go to pytest,
# e.g. `bash tools/test.sh -m slow` for the long checks.
set -u
cd "$(dirname "$0")/.."
export TF_CPP_MIN_LOG_LEVEL=2
status=0
for backend in tensorflow jax torch; do
  echo "=== KERAS_BACKEND=${backend} ==="
  KERAS_BACKEND="${backend}" python -m pytest -q "$@" || status=1
done
if [ "${status}" -ne 0 ]; then
  echo "FAILED on at least one backend" >&2
fi
exit "${status}"
