"""A family that adds a network, an optimizer and a phase without touching the loop:
it trains, saves, reloads on another backend and resumes with every optimizer's
iterations intact (a third optimizer's state travels through the JAX step too)."""

import json
import sys

import numpy as np
from keras import ops

from conftest import BACKEND
from families.encoded_gan import EncodedGAN, build
from processes import ROOT, env, run_ok

NEXT_BACKEND = {"tensorflow": "jax", "jax": "torch", "torch": "tensorflow"}[BACKEND]


def iterations(gan):
    return {name: int(ops.convert_to_numpy(o.iterations)) for name, o in gan.optimizers.items()}


def test_family_overrides_no_private_method():
    private = [n for n in vars(EncodedGAN) if n.startswith("_") and not n.startswith("__")]
    assert private == []


def test_three_network_family_trains_saves_and_resumes_on_another_backend(tmp_path):
    gan = build()
    assert list(gan.optimizers) == ["discriminator", "generator", "encoder"]
    x = np.random.default_rng(0).normal(size=(64, 2)).astype("float32")
    enc_before = [np.array(ops.convert_to_numpy(v.value)) for v in gan.encoder.trainable_variables]
    history = gan.fit(x, batch_size=16, epochs=3, verbose=0)  # 12 steps
    assert iterations(gan) == {"discriminator": 12, "generator": 12, "encoder": 12}
    assert {"rec", "d_loss", "g_loss"} <= set(history.history)
    moved = [np.abs(np.array(ops.convert_to_numpy(v.value)) - b).max()
             for v, b in zip(gan.encoder.trainable_variables, enc_before)]
    assert max(moved) > 1e-3  # the encoder phase really updated the encoder

    path, data, out = tmp_path / "fam.keras", tmp_path / "x.npy", tmp_path / "out.json"
    gan.save(path)
    np.save(data, x)
    script = f"{ROOT}/tests/dist_scripts/resume_family.py"
    run_ok([([sys.executable, script, str(path), str(data), str(out)],
             env(KERAS_BACKEND=NEXT_BACKEND, PYTHONPATH=f"{ROOT}/tests"))], timeout=300, what="resume")
    result = json.loads(out.read_text())
    assert result["backend"] == NEXT_BACKEND
    assert result["loaded"] == {"discriminator": 12, "generator": 12, "encoder": 12}
    assert result["after"] == {"discriminator": 16, "generator": 16, "encoder": 16}
    assert np.isfinite(result["rec_after"])
