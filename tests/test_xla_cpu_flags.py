"""The JAX room's XLA:CPU convolution flag (ganzoo.backend.jax._YNN_CONV_FLAG): set on import for
the jaxlibs that know it, never over the user's own setting, and in effect in a fresh process
(a strided conv's kernel gradient compiles to XLA's convolution, not a YNNPACK fusion)."""

import importlib.metadata
import os
import subprocess
import sys

import pytest

from conftest import BACKEND

pytestmark = pytest.mark.skipif(BACKEND != "jax", reason="XLA:CPU flags of the JAX backend")

PROBE = """
import sys
if sys.argv[1] == "ganzoo":
    import ganzoo.backend
import jax, jax.numpy as jnp
from jax import lax
# DCGAN's second D layer (YNNPACK's cost model leaves tiny convolutions to XLA anyway).
x, w = jnp.ones((64, 32, 32, 64)), jnp.ones((4, 4, 64, 128))
f = lambda w: lax.conv_general_dilated(x, w, (2, 2), ((1, 1), (1, 1)), dimension_numbers=("NHWC", "HWIO", "NHWC"))
hlo = jax.jit(jax.grad(lambda w: f(w).sum())).lower(w).compile().as_text()
print("YNN" if "__ynn_fusion" in hlo else "XLA")
"""


def _jaxlib_in_range():
    from ganzoo.backend import jax as room

    version = tuple(int(p) for p in importlib.metadata.version("jaxlib").split(".")[:2])
    low, high = room._YNN_CONV_JAXLIB
    return low <= version < high


def _probe(xla_flags, importer="ganzoo"):
    env = dict(os.environ, KERAS_BACKEND="jax")
    env.pop("XLA_FLAGS", None)
    if xla_flags is not None:
        env["XLA_FLAGS"] = xla_flags
    out = subprocess.run([sys.executable, "-c", PROBE, importer], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.split()


def test_fresh_process_gets_xla_convolutions():
    if not _jaxlib_in_range():
        pytest.skip("this jaxlib is outside the range the flag was measured on")
    assert _probe(None, importer="jax") == ["YNN"]  # jaxlib's default: the probe can tell
    assert _probe(None) == ["XLA"]
    # The user's own choice of YNN fusions is kept.
    assert _probe("--xla_cpu_experimental_ynn_fusion_type=+individual_convolution")[0] == "YNN"


def test_flag_logic(monkeypatch):
    from ganzoo.backend import jax as room

    monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "0.10.2")
    room._xla_cpu_convolutions()
    assert os.environ["XLA_FLAGS"] == "--xla_force_host_platform_device_count=2 " + room._YNN_CONV_FLAG
    room._xla_cpu_convolutions()  # once only: the option is now set
    assert os.environ["XLA_FLAGS"].count("ynn_fusion_type") == 1
    for version in ("0.9.1", "0.11.0"):  # jaxlibs it was not measured on: untouched
        monkeypatch.setenv("XLA_FLAGS", "")
        monkeypatch.setattr(importlib.metadata, "version", lambda name, v=version: v)
        room._xla_cpu_convolutions()
        assert os.environ["XLA_FLAGS"] == ""
