"""Shared test setup: quiet logs, a fixed seed, and the current backend."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
# The suite's networks are tiny, so JAX (and TF's XLA) time goes to compiling, not
# running: LLVM at -O0 compiled test_r3gan + test_sngan_biggan in 371 s vs 589 s
# (same load). HLO fusion is unchanged; only the test run gets this (subprocesses too).
if "xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_backend_optimization_level=0").strip()

import keras  # noqa: E402
import pytest  # noqa: E402

BACKEND = keras.backend.backend()

if BACKEND == "torch":
    import torch

    # The suite's models are tiny: intra-op threads cost more than they
    # give on a 2-core machine (measured 2.5-4x slower with 2 threads).
    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)
    yield


@pytest.fixture(scope="module")
def xla_optimized():
    """JAX: compile the module's jitted steps at XLA's default level, undoing the suite's -O0.

    -O0 saves compile time on tiny networks but runs convolutions ~20x slower (a 16x16 U-Net step:
    608 ms vs 30 ms), so learning tests that run a hundred conv steps ask for this. jax.jit takes
    the level per function (`compiler_options`); Keras's JAX trainer builds its train/predict
    functions with the `jit` it bound at import, so the option goes in there. Other backends:
    nothing changes.
    """
    if BACKEND != "jax":
        yield
        return
    import functools

    from keras.src.backend.jax import trainer

    plain_jit = trainer.jit

    def jit(fun=None, **kwargs):
        kwargs.setdefault("compiler_options", {"xla_backend_optimization_level": 2})
        return functools.partial(jit, **kwargs) if fun is None else plain_jit(fun, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(trainer, "jit", jit)
        yield
