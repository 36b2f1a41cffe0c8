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
  # Two pytest workers (pytest-xdist): the tests are small and often wait on
  # one core (compiles, subprocess start-up); measured JAX 746 s -> 586 s here.
  # GANZOO_TEST_WORKERS=0 runs in one process.
  KERAS_BACKEND="${backend}" python -m pytest -q -n "${GANZOO_TEST_WORKERS:-2}" "$@" || status=1
done
if [ "${status}" -ne 0 ]; then
  echo "FAILED on at least one backend" >&2
fi
exit "${status}"
