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
