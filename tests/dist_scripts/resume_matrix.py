"""Reload saved family models on this process's backend, sample, report their state, train on.

argv: MANIFEST.json OUT.json. The manifest is a list of jobs
`{"name", "model": .keras path, "data": .npy path, "seeds": [...], "n": samples per seed,
"batch_size", "steps", "controls": [attribute names of scalar variables]}`. For each job this
writes, under its name: the backend, `samples` (`generate(n, seed=s)` per seed), and `loaded`
then `after` (after `steps` more steps), each `{"iterations": {optimizer: int},
"slots": {optimizer: sum |v| over its variables}, "controls": {name: float}}`, plus the History.
One process for all families: a backend's start-up is paid once.

Example (as tests/test_family_matrix.py runs it):
    python tests/dist_scripts/resume_matrix.py /tmp/manifest.json /tmp/out.json
"""

import json
import sys

import numpy as np

import keras
from keras import ops

import ganzoo.models  # noqa: F401  (registers every family class)


def state(gan, controls):
    """Optimizer iterations, the optimizers' variables summed (|v|) and the named control variables."""
    iterations = {k: int(ops.convert_to_numpy(o.iterations)) for k, o in gan.optimizers.items()}
    slots = {k: float(sum(np.abs(np.asarray(ops.convert_to_numpy(v.value), "float64")).sum() for v in o.variables))
             for k, o in gan.optimizers.items()}
    values = {name: float(ops.convert_to_numpy(getattr(gan, name).value)) for name in controls}
    return {"iterations": iterations, "slots": slots, "controls": values}


def run(job):
    gan = keras.saving.load_model(job["model"])
    x = np.load(job["data"])
    out = {"backend": keras.backend.backend(),
           "samples": [gan.generate(job["n"], seed=s).tolist() for s in job["seeds"]],
           "loaded": state(gan, job["controls"])}
    rows = job["batch_size"] * job["steps"]
    history = gan.fit(x[:rows], batch_size=job["batch_size"], epochs=1, shuffle=False, verbose=0).history
    out["after"] = state(gan, job["controls"])
    out["history"] = {k: [float(v) for v in vals] for k, vals in history.items()}
    return out


if __name__ == "__main__":
    manifest, out_path = sys.argv[1:3]
    with open(manifest) as f:
        jobs = json.load(f)
    result = {job["name"]: run(job) for job in jobs}
    with open(out_path, "w") as f:
        json.dump(result, f)
