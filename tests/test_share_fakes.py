"""GAN(share_fakes=True): the G phase reuses the last D step's fakes and their forward pass
(`backend.pullback`). With the latents held fixed, a fresh draw gives the same fakes, so one
step must equal the default engine's step to float rounding, with half the G forward passes;
plus the schedule checks and the config."""

import keras
import numpy as np
import pytest
from keras import layers, ops

import ganzoo
from ganzoo import backend
from ganzoo.engine.phases import Phase, check_schedule

CALLS = {"G": 0}


class Counting(layers.Layer):
    """Identity that counts its calls (per trace on TF/JAX, per step on torch)."""

    def call(self, x):
        CALLS["G"] += 1
        return x


def _mlp(inp, out, counting=False, seed=0):
    x = keras.Input((inp,))
    h = layers.Dense(8, activation="tanh", kernel_initializer=keras.initializers.GlorotUniform(seed))(x)
    if counting:
        h = Counting()(h)
    return keras.Model(x, layers.Dense(out, kernel_initializer=keras.initializers.GlorotUniform(seed + 1))(h))


class FixedZ(ganzoo.GAN):
    """Every draw uses the same latents (and labels), so a live draw equals the shared one."""

    def sample_latents(self, n):
        return ops.convert_to_tensor(np.linspace(-1, 1, n * 2).reshape(n, 2).astype("float32"))

    def sample_labels(self, n, real):
        return ops.convert_to_tensor(np.arange(n) % self.num_classes, "int32")


def test_conditional_batchnorm_ema_step_equals_the_fresh_draw():
    from ganzoo.architectures import mlp_discriminator, mlp_generator

    def step(share):
        keras.utils.set_random_seed(3)
        gan = FixedZ(mlp_generator(2, 3, hidden=(8,), normalization="batch", num_classes=3),
                     mlp_discriminator(3, hidden=(8,), num_classes=3, conditioning="projection"),
                     latent_dim=2, num_classes=3, ema_decay=0.9, share_fakes=share, seed=0)
        gan.compile(g_optimizer=keras.optimizers.Adam(0.01), d_optimizer=keras.optimizers.Adam(0.01))
        rng = np.random.default_rng(0)
        x, y = rng.normal(size=(12, 3)).astype("float32"), (np.arange(12) % 3).astype("int32")
        for _ in range(2):
            gan.train_on_batch(x, y)
        return [ops.convert_to_numpy(v) for v in
                gan.generator.trainable_weights + gan.discriminator.trainable_weights + list(gan.ema_weights)
                if "moving" not in v.path]

    for a, b in zip(step(True), step(False)):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-4)


def _step(share, d_steps):
    gan = FixedZ(_mlp(2, 3, counting=True), _mlp(3, 1, seed=5), latent_dim=2, d_steps=d_steps,
                 share_fakes=share, seed=0)
    gan.compile(g_optimizer=keras.optimizers.SGD(0.1), d_optimizer=keras.optimizers.SGD(0.1))
    x = np.random.default_rng(0).normal(size=(16, 3)).astype("float32")
    CALLS["G"] = 0
    logs = gan.train_on_batch(x, return_dict=True)
    calls = CALLS["G"]
    weights = [ops.convert_to_numpy(v) for v in gan.generator.weights + gan.discriminator.weights]
    return logs, weights, calls


@pytest.mark.parametrize("d_steps", [1, 2])
def test_one_step_equals_the_fresh_draw_with_fixed_latents(d_steps):
    logs0, w0, calls0 = _step(False, d_steps)
    logs1, w1, calls1 = _step(True, d_steps)
    for a, b in zip(w1, w0):
        np.testing.assert_allclose(a, b, atol=1e-6, rtol=1e-5)
    for key in ("d_loss", "g_loss"):
        np.testing.assert_allclose(float(logs1[key]), float(logs0[key]), rtol=1e-5)
    # One G forward pass fewer per step (the G phase's): d_steps + 1 draws become d_steps.
    assert calls1 * (d_steps + 1) == calls0 * d_steps, (calls0, calls1)
    # The step did something: G's weights moved.
    fresh = FixedZ(_mlp(2, 3), _mlp(3, 1, seed=5), latent_dim=2)
    assert max(np.abs(a - ops.convert_to_numpy(b)).max() for a, b in zip(w1, fresh.generator.weights)) > 1e-4


def test_gradient_through_the_pullback_equals_value_and_grad():
    G = _mlp(2, 3)
    D = _mlp(3, 1, seed=5)
    z = ops.convert_to_tensor(np.random.default_rng(1).normal(size=(4, 2)).astype("float32"))
    y, aux, pull = backend.pullback(lambda: (G(z), {"z": z}), G.trainable_variables)
    loss, logs, grads = pull(lambda x: (ops.mean(D(x) ** 2), {"n": 1}))
    want_loss, _, want = backend.value_and_grad(lambda: (ops.mean(D(G(z)) ** 2), {}), G.trainable_variables)
    np.testing.assert_allclose(float(loss), float(want_loss), rtol=1e-6)
    assert logs == {"n": 1} and "z" in aux
    for a, b in zip(grads, want):
        np.testing.assert_allclose(ops.convert_to_numpy(a), ops.convert_to_numpy(b), atol=1e-6)


def test_schedule_checks_and_config():
    gan = ganzoo.GAN(_mlp(2, 3), _mlp(3, 1), latent_dim=2, share_fakes=True)
    g_phase = Phase("g", networks=("generator",), optimizer="generator", loss=gan.generator_loss, fakes="shared")
    with pytest.raises(ValueError, match="no earlier phase draws fakes"):
        check_schedule([g_phase], gan.network_names())
    d_phase = Phase("d", networks=("discriminator",), optimizer="discriminator", loss=gan.discriminator_loss)
    g_live = g_phase.replace(name="g_live", fakes="live")
    with pytest.raises(ValueError, match="would be stale"):
        check_schedule([d_phase, g_live, g_phase], gan.network_names())
    with pytest.raises(ValueError, match="generator penalties"):
        ganzoo.GAN(_mlp(2, 3), _mlp(3, 1), latent_dim=2, share_fakes=True,
                   penalties=[ganzoo.penalties.PathLength(every=1)])
    assert gan.get_config()["share_fakes"] is True
    assert "share_fakes" not in ganzoo.GAN(_mlp(2, 3), _mlp(3, 1), latent_dim=2).get_config()
    assert [p.fakes for p in gan.phases()][:2] == ["detached", "shared"]
