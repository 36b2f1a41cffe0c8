"""The non-finite guard of `GAN.fit`: the first non-finite step is named exactly, mid-epoch and
at an epoch's last batch, before other callbacks see the epoch's end, and off the training
thread (no host sync per step) on PyTorch."""

import keras
import numpy as np
import pytest
from keras import layers

import ganzoo
from ganzoo.engine.gan import _NonFiniteGuard


def _gan():
    def mlp(inp, out):
        x = keras.Input((inp,))
        return keras.Model(x, layers.Dense(out)(layers.Dense(8, activation="tanh")(x)))

    gan = ganzoo.GAN(mlp(4, 2), mlp(2, 1), latent_dim=4, objective="wasserstein")
    gan.compile()
    return gan


@pytest.mark.parametrize("row, step", [(12, 4), (29, 8)])  # batch 4: mid-epoch, last batch
def test_first_non_finite_step_is_named(row, step):
    data = np.random.default_rng(0).normal(size=(32, 2)).astype("float32")
    data[row] = np.nan

    class EpochEnds(keras.callbacks.Callback):
        ends = 0

        def on_epoch_end(self, epoch, logs=None):
            EpochEnds.ends += 1

    pattern = rf"d_loss became nan at training step {step} \(batch {step - 1} of this epoch\)"
    with pytest.raises(FloatingPointError, match=pattern):
        _gan().fit(data, batch_size=4, epochs=2, shuffle=False, verbose=0, callbacks=[EpochEnds()])
    assert EpochEnds.ends == 0  # a checkpoint callback would not have saved the NaN epoch


def test_guard_runs_off_the_training_thread_on_torch():
    # Keras converts logs to floats (a device->host sync) in the training thread
    # unless every batch-end callback is async-safe.
    callbacks = keras.callbacks.CallbackList([_NonFiniteGuard()], model=_gan())
    assert callbacks._async_train == (keras.backend.backend() == "torch")


def test_logs_stay_readable_after_the_next_step():
    # What an off-thread reader does: read step n's logs after step n+1 was dispatched.
    # A fixed-p ADA logs `ada_p`, a state value no step changes (a candidate for the JAX
    # "Array has been deleted" failure that keeps the guard synchronous there).
    g_in, d_in = keras.Input((4,)), keras.Input((4, 4, 1))
    G = keras.Model(g_in, layers.Reshape((4, 4, 1))(layers.Dense(16, activation="tanh")(g_in)))
    D = keras.Model(d_in, layers.Dense(1)(layers.Flatten()(d_in)))
    gan = ganzoo.GAN(G, D, latent_dim=4, augment={"name": "ada", "p": 0.3}, seed=0)
    gan.compile()

    class LateReader(keras.callbacks.Callback):
        held, read = None, []

        def on_train_batch_end(self, batch, logs=None):
            if self.held is not None:
                self.read.append({k: float(v) for k, v in self.held.items()})
            self.held = dict(logs)

    reader = LateReader()
    images = np.random.default_rng(0).uniform(-1, 1, size=(32, 4, 4, 1)).astype("float32")
    gan.fit(images, batch_size=8, epochs=1, verbose=0, callbacks=[reader])
    assert len(reader.read) == 3
    assert all(abs(logs["ada_p"] - 0.3) < 1e-6 and np.isfinite(logs["d_loss"]) for logs in reader.read)

