"""The GAN engine against independent truth: analytic penalties, finite
differences, a numpy SGD step, and the phase schedule, on every backend."""

import numpy as np
import pytest
import keras
from keras import layers, ops

import ganzoo
from ganzoo import backend
from ganzoo.engine import penalties

from conftest import BACKEND


def mlp(inp, out, hidden=8, activation="tanh", name=None):
    return keras.Sequential(
        [keras.Input((inp,)), layers.Dense(hidden, activation=activation), layers.Dense(out)], name=name
    )


def to_np(x):
    return np.asarray(ops.convert_to_numpy(x), dtype="float64")


# --------------------------------------------------------------- penalties
def test_gradient_penalty_linear_critic_is_analytic():
    """D(x) = w.x has grad w everywhere: GP = (||w|| - 1)^2 exactly."""
    D = keras.Sequential([keras.Input((3,)), layers.Dense(1, use_bias=False)])
    w = np.array([[2.0], [-1.0], [0.5]], "float32")
    D.layers[0].kernel.assign(w)
    gan = ganzoo.GAN(mlp(2, 3), D, latent_dim=2, objective="wasserstein")
    real = ops.convert_to_tensor(np.random.randn(16, 3).astype("float32"))
    fake = ops.convert_to_tensor(np.random.randn(16, 3).astype("float32"))
    norm = np.linalg.norm(w)
    got = to_np(penalties.GradientPenalty(10.0)(gan, real, fake))
    np.testing.assert_allclose(got, (norm - 1.0) ** 2, rtol=1e-5)
    got = to_np(penalties.GradientPenalty(10.0, target=3.0, one_sided=True)(gan, real, fake))
    np.testing.assert_allclose(got, 0.0, atol=1e-7)  # norm 2.29 < 3: no penalty
    np.testing.assert_allclose(to_np(penalties.R1(10.0)(gan, real, fake)), norm**2, rtol=1e-5)
    np.testing.assert_allclose(to_np(penalties.R2(10.0)(gan, real, fake)), norm**2, rtol=1e-5)
    # DRAGAN: the gradient of a linear critic is the same at perturbed points.
    np.testing.assert_allclose(to_np(penalties.DRAGAN(10.0)(gan, real, fake)), (norm - 1) ** 2, rtol=1e-5)


def _np_critic(params, x):
    w1, b1, w2, b2 = params
    return np.tanh(x @ w1 + b1) @ w2 + b2


def _np_input_grad(params, x, eps=1e-6):
    g = np.zeros_like(x)
    for j in range(x.shape[1]):
        dx = np.zeros_like(x)
        dx[:, j] = eps
        g[:, j] = (_np_critic(params, x + dx) - _np_critic(params, x - dx))[:, 0] / (2 * eps)
    return g


def _np_r1(params, x):
    # Exact input gradient of the tanh MLP: W1 diag(1 - h^2) w2.
    w1, b1, w2, _ = params
    h = np.tanh(x @ w1 + b1)
    g = ((1 - h**2) * w2[:, 0]) @ w1.T
    return np.mean(np.sum(g**2, axis=1))


def test_penalties_match_finite_differences_including_parameter_gradients():
    D = mlp(3, 1, hidden=5)
    gan = ganzoo.GAN(mlp(2, 3), D, latent_dim=2, objective="wasserstein")
    params = [to_np(v.value) for v in D.trainable_variables]
    x = np.random.default_rng(1).normal(size=(6, 3))
    xt = ops.convert_to_tensor(x.astype("float32"))

    # The input gradient the penalties use equals finite differences of D.
    _, g = backend.input_grad(gan.discriminator_logits, xt)
    np.testing.assert_allclose(to_np(g), _np_input_grad(params, x), rtol=1e-4, atol=1e-6)
    # GP with real == fake evaluates at x for any interpolation weight.
    gp = to_np(penalties.GradientPenalty(1.0)(gan, xt, xt))
    norms = np.linalg.norm(_np_input_grad(params, x), axis=1)
    np.testing.assert_allclose(gp, np.mean((norms - 1) ** 2), rtol=1e-4)

    # Double backprop: d R1 / d params equals finite differences over params.
    r1 = penalties.R1(2.0)
    value, _, grads = backend.value_and_grad(lambda: (r1(gan, xt, xt), {}), D.trainable_variables)
    np.testing.assert_allclose(to_np(value), _np_r1(params, x), rtol=1e-5)
    eps = 1e-6
    for k, grad in enumerate(grads):
        fd = np.zeros_like(params[k])
        for idx in np.ndindex(params[k].shape):
            plus = [p.copy() for p in params]
            minus = [p.copy() for p in params]
            plus[k][idx] += eps
            minus[k][idx] -= eps
            fd[idx] = (_np_r1(plus, x) - _np_r1(minus, x)) / (2 * eps)
        np.testing.assert_allclose(to_np(grad), fd, rtol=2e-3, atol=2e-5)


# ------------------------------------------------------- one update by hand
class FixedLatentGAN(ganzoo.GAN):
    """Draws the same latents every phase so numpy can replay the step."""

    fixed_z = np.array([[0.5], [-1.0], [2.0], [0.25]], "float32")

    def sample_latents(self, batch_size):
        return ops.convert_to_tensor(self.fixed_z)


def test_one_d_and_one_g_sgd_update_equal_numpy():
    G = keras.Sequential([keras.Input((1,)), layers.Dense(1, use_bias=False)])
    D = keras.Sequential([keras.Input((1,)), layers.Dense(1)])
    a, w, b = 0.7, 1.3, -0.2
    G.layers[0].kernel.assign([[a]])
    D.layers[0].kernel.assign([[w]])
    D.layers[0].bias.assign([b])
    gan = FixedLatentGAN(G, D, latent_dim=1, objective="non_saturating")
    lr = 0.1
    gan.compile(g_optimizer=keras.optimizers.SGD(lr), d_optimizer=keras.optimizers.SGD(lr))
    real = np.array([[1.0], [2.0], [0.0], [-1.0]], "float32")
    gan.fit(real, batch_size=4, epochs=1, shuffle=False, verbose=0)

    sig = lambda t: 1 / (1 + np.exp(-t))  # noqa: E731
    z, xr = FixedLatentGAN.fixed_z[:, 0].astype("float64"), real[:, 0].astype("float64")
    xf = a * z
    # D loss = mean softplus(-(w xr + b)) + mean softplus(w xf + b)
    lr_, lf = w * xr + b, w * xf + b
    dw = np.mean(-(1 - sig(lr_)) * xr) + np.mean(sig(lf) * xf)
    db = np.mean(-(1 - sig(lr_))) + np.mean(sig(lf))
    w1, b1 = w - lr * dw, b - lr * db
    # G loss = mean softplus(-(w1 a z + b1)) with the updated D.
    lg = w1 * a * z + b1
    da = np.mean(-(1 - sig(lg)) * w1 * z)
    a1 = a - lr * da
    np.testing.assert_allclose(to_np(D.layers[0].kernel.value)[0, 0], w1, rtol=1e-5)
    np.testing.assert_allclose(to_np(D.layers[0].bias.value)[0], b1, rtol=1e-5)
    np.testing.assert_allclose(to_np(G.layers[0].kernel.value)[0, 0], a1, rtol=1e-5)


# ----------------------------------------------------------------- schedule
def bn_mlp(inp, out, name):
    return keras.Sequential(
        [keras.Input((inp,)), layers.Dense(8), layers.BatchNormalization(), layers.ReLU(), layers.Dense(out)],
        name=name,
    )


def test_schedule_d_steps_lazy_penalties_bn_and_ema_state():
    G, D = bn_mlp(2, 2, "generator"), bn_mlp(2, 1, "discriminator")
    gan = ganzoo.GAN(
        G, D, latent_dim=2, objective="hinge", d_steps=3,
        penalties=[penalties.R1(1.0, every=4)], ema_decay=0.9,
    )
    gan.compile(g_optimizer=keras.optimizers.Adam(1e-2), d_optimizer=keras.optimizers.Adam(1e-2))
    g_bn_before = to_np(G.layers[1].moving_mean.value)
    d_bn_before = to_np(D.layers[1].moving_mean.value)
    ema_before = [to_np(e.value) for e in gan.ema_weights]
    g_before = [to_np(v.value) for v in G.trainable_variables]
    seed_before = to_np(gan.seed_generator.state.value)

    x = np.random.randn(64, 2).astype("float32")
    history = gan.fit(x, batch_size=8, epochs=1, verbose=0)  # 8 steps

    assert int(to_np(gan.step_counter.value)) == 8
    assert int(to_np(gan.g_optimizer.iterations.value)) == 8
    # 3 D phases per step + the lazy R1 phase on steps 0 and 4.
    assert int(to_np(gan.d_optimizer.iterations.value)) == 3 * 8 + 2
    assert int(to_np(gan.optimizer.iterations.value)) == 8
    assert {"d_loss", "g_loss", "d_real", "d_fake", "r1"} <= set(history.history)
    # BatchNorm statistics, EMA shadows and the noise seed all came back out of the step.
    assert not np.allclose(to_np(G.layers[1].moving_mean.value), g_bn_before)
    assert not np.allclose(to_np(D.layers[1].moving_mean.value), d_bn_before)
    assert not np.allclose(to_np(gan.seed_generator.state.value), seed_before)
    for e0, e1, g0, g1 in zip(ema_before, gan.ema_weights, g_before, G.trainable_variables):
        e1, g1 = to_np(e1.value), to_np(g1.value)
        assert not np.allclose(e1, e0)
        assert not np.allclose(e1, g1)  # a moving average, not a copy
        assert np.all(np.abs(e1 - g0) <= np.abs(g1 - g0) + 1e-6) or np.linalg.norm(e1 - g0) < np.linalg.norm(g1 - g0)


def test_ema_is_the_exponential_average_and_used_by_generate():
    G = keras.Sequential([keras.Input((1,)), layers.Dense(1, use_bias=False)])
    D = keras.Sequential([keras.Input((1,)), layers.Dense(1)])
    gan = ganzoo.GAN(G, D, latent_dim=1, ema_decay=0.75)
    gan.compile(g_optimizer=keras.optimizers.SGD(0.5), d_optimizer=keras.optimizers.SGD(0.5))
    w0 = to_np(G.layers[0].kernel.value)
    gan.fit(np.ones((4, 1), "float32"), batch_size=4, epochs=1, verbose=0)
    w1 = to_np(G.layers[0].kernel.value)
    np.testing.assert_allclose(to_np(gan.ema_weights[0].value), 0.75 * w0 + 0.25 * w1, rtol=1e-6)
    z = np.array([[1.0], [2.0]], "float32")
    np.testing.assert_allclose(gan.generate(latents=z), z @ (0.75 * w0 + 0.25 * w1), rtol=1e-5)
    np.testing.assert_allclose(gan.generate(latents=z, use_ema=False), z @ w1, rtol=1e-5)


def test_weight_clipping_keeps_critic_weights_in_range():
    gan = ganzoo.GAN(mlp(2, 2), mlp(2, 1), latent_dim=2, objective="wasserstein",
                     penalties=[penalties.WeightClipping(0.01)])
    gan.compile(g_optimizer=keras.optimizers.RMSprop(5e-3), d_optimizer=keras.optimizers.RMSprop(5e-3))
    gan.fit(np.random.randn(32, 2).astype("float32"), batch_size=8, epochs=1, verbose=0)
    for v in gan.discriminator.trainable_variables:
        assert np.max(np.abs(to_np(v.value))) <= 0.01 + 1e-7


# ----------------------------------------------------------------- sampling
def test_generate_is_reproducible_and_interpolates():
    gan = ganzoo.GAN(mlp(4, 2), mlp(2, 1), latent_dim=4)
    a, b = gan.generate(5, seed=3), gan.generate(5, seed=3)
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float32 and a.shape == (5, 2)
    assert not np.allclose(gan.generate(5, seed=4), a)
    path = gan.interpolate(0, 1, steps=6, method="slerp")
    assert path.shape == (6, 2)
    np.testing.assert_allclose(path[0], gan.generate(1, seed=0)[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(path[-1], gan.generate(1, seed=1)[0], rtol=1e-5, atol=1e-6)
    lerp = gan.interpolate(0, 1, steps=3, method="lerp")
    assert lerp.shape == (3, 2)
    out = gan.latent_arithmetic([[1, 2, 3], [7]], [[4, 5]])
    assert out.shape == (1, 2)


def test_slerp_keeps_norm_between_equal_norm_endpoints():
    from ganzoo.engine import latents

    a, b = np.array([3.0, 0.0]), np.array([0.0, 3.0])
    path = latents.interpolate(a, b, steps=5, method="slerp")
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), 3.0, rtol=1e-6)
    np.testing.assert_allclose(path[2], [3 / np.sqrt(2), 3 / np.sqrt(2)], rtol=1e-6)


# ---------------------------------------------------------------- bad input
def test_bad_inputs_give_one_line_errors():
    gan = ganzoo.GAN(mlp(4, 2), mlp(2, 1), latent_dim=4)
    for bad in (0, -3, None, 2.5):
        with pytest.raises(ValueError, match="positive number of samples"):
            gan.generate(bad)
    with pytest.raises(ValueError, match="latents must have shape"):
        gan.generate(latents=np.zeros((2, 3)))
    with pytest.raises(ValueError, match="Valid names"):
        ganzoo.GAN(mlp(4, 2), mlp(2, 1), latent_dim=4, objective="wgan-gpp")
    with pytest.raises(ValueError, match="Valid names"):
        ganzoo.GAN(mlp(4, 2), mlp(2, 1), latent_dim=4, penalties=["r3"])
    gan.compile()
    with pytest.raises(ValueError, match=r"Data samples have shape \(3,\) but the generator produces \(2,\)"):
        gan.fit(np.zeros((8, 3), "float32"), batch_size=4, verbose=0)
    with pytest.raises(ValueError, match="does not take `loss`"):
        gan.compile(loss="mse")


def test_non_finite_loss_stops_with_the_step():
    gan = ganzoo.GAN(mlp(4, 2), mlp(2, 1), latent_dim=4, objective="wasserstein")
    gan.compile()
    data = np.random.randn(32, 2).astype("float32")
    data[12] = np.nan
    with pytest.raises(FloatingPointError, match=r"d_loss became nan at training step \d+"):
        gan.fit(data, batch_size=4, epochs=1, shuffle=False, verbose=0)


@pytest.mark.skipif(BACKEND != "tensorflow", reason="XLA compilation of the TF step")
def test_tensorflow_step_compiles_with_xla():
    gan = ganzoo.GAN(mlp(2, 2), mlp(2, 1), latent_dim=2, objective="wasserstein", d_steps=2,
                     penalties=[penalties.GradientPenalty(10.0), penalties.R1(1.0, every=2),
                                penalties.WeightClipping(1.0)], ema_decay=0.9)
    gan.compile(jit_compile=True)
    assert gan.jit_compile is True
    history = gan.fit(np.random.randn(64, 2).astype("float32"), batch_size=16, epochs=1, verbose=0)
    assert int(to_np(gan.d_optimizer.iterations.value)) == 2 * 4 + 2
    assert np.isfinite(history.history["gp"][-1])
