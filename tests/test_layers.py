"""ganzoo.layers against numpy references, on the backend KERAS_BACKEND names."""

import numpy as np
import pytest

import keras

from ganzoo.layers import (
    DropReference,
    MinibatchDiscrimination,
    MinibatchStdLayer,
    PrependReference,
    SpectralNormalization,
    VirtualBatchNormalization,
)

RNG = np.random.default_rng(1234)


def _np(x):
    return keras.ops.convert_to_numpy(x)


# -- MinibatchStdLayer ---------------------------------------------------------


def _np_minibatch_std(x, groups, num_channels):
    """Loop reference: sample i's group is {j : j = i mod N/G}."""
    n_total = len(x)
    n = n_total // groups
    c = x.shape[-1] // num_channels
    feats = np.zeros((n_total, num_channels))
    for i in range(n_total):
        members = x[[j for j in range(n_total) if j % n == i % n]]
        assert len(members) == groups
        std = np.sqrt(members.var(axis=0) + 1e-8)
        for f in range(num_channels):
            feats[i, f] = std[..., f * c:(f + 1) * c].mean()
    extra = feats.reshape((n_total,) + (1,) * (x.ndim - 2) + (num_channels,))
    extra = np.broadcast_to(extra, x.shape[:-1] + (num_channels,))
    return np.concatenate([x, extra], axis=-1)


@pytest.mark.parametrize(
    "shape, group_size, num_channels, groups",
    [
        ((8, 3, 3, 6), 4, 2, 4),   # NHWC, StyleGAN2 defaults shape-wise
        ((8, 5), 4, 1, 4),         # dense features
        ((6, 2, 2, 4), 3, 1, 3),   # two groups of three
        ((7, 4), 1, 1, 1),         # group of one: a near-zero feature
        ((5, 2, 2, 3), None, 3, 5),  # whole batch as one group
        ((2, 2, 2, 2), 4, 1, 2),   # batch smaller than group_size: G = min(group_size, N)
    ],
)
def test_minibatch_stddev_matches_numpy(shape, group_size, num_channels, groups):
    x = RNG.normal(size=shape).astype("float32") * RNG.uniform(0.5, 2.0, size=shape[-1])
    layer = MinibatchStdLayer(group_size=group_size, num_channels=num_channels)
    y = _np(layer(x))
    np.testing.assert_allclose(y, _np_minibatch_std(x, groups, num_channels), rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="unknown batch size is TF-only")
def test_minibatch_stddev_unknown_batch_in_tf_graph():
    import tensorflow as tf

    layer = MinibatchStdLayer(group_size=4)
    fn = tf.function(layer, input_signature=[tf.TensorSpec((None, 2, 2, 3), tf.float32)])
    for n in (8, 3):  # G = min(4, N) is computed in the graph
        x = RNG.normal(size=(n, 2, 2, 3)).astype("float32")
        np.testing.assert_allclose(fn(x).numpy(), _np_minibatch_std(x, min(4, n), 1), rtol=1e-5, atol=1e-6)


def test_minibatch_stddev_rejects_bad_channels_and_batches():
    with pytest.raises(ValueError, match="must divide"):
        MinibatchStdLayer(num_channels=4)(np.zeros((4, 6), "float32"))
    # NVIDIA semantics: N must be divisible by G = min(group_size, N).
    with pytest.raises(ValueError, match="divisible by the mbstd group size 4"):
        MinibatchStdLayer(group_size=4)(np.zeros((6, 2, 2, 3), "float32"))


# -- MinibatchDiscrimination ---------------------------------------------------


def test_minibatch_discrimination_matches_numpy():
    a, b, c, n = 6, 4, 3, 5
    layer = MinibatchDiscrimination(num_kernels=b, kernel_dim=c,
                                    kernel_initializer=keras.initializers.RandomNormal(stddev=0.3))
    x = RNG.normal(size=(n, a)).astype("float32")
    y = _np(layer(x))
    t = _np(layer.kernel).reshape(a, b, c)
    m = np.einsum("na,abc->nbc", x, t)
    expected = np.zeros((n, b))
    for i in range(n):
        for j in range(n):
            if j != i:
                expected[i] += np.exp(-np.abs(m[i] - m[j]).sum(axis=-1))
    assert y.shape == (n, a + b)
    np.testing.assert_allclose(y[:, :a], x, rtol=1e-6)
    np.testing.assert_allclose(y[:, a:], expected, rtol=1e-5, atol=1e-6)
    # Identical samples are maximally close: each sees n - 1 neighbours at L1 = 0.
    same = _np(layer(np.repeat(x[:1], n, axis=0)))
    np.testing.assert_allclose(same[:, a:], n - 1.0, rtol=1e-6)


def test_minibatch_discrimination_rejects_images():
    with pytest.raises(ValueError, match="Flatten"):
        MinibatchDiscrimination(4, 3)(np.zeros((2, 4, 4, 3), "float32"))


# -- VirtualBatchNormalization -------------------------------------------------


def _np_vbn(x, r, gamma, beta, eps):
    ref, live = x[:r], x[r:]
    ref_axes = tuple(range(x.ndim - 1))
    spatial = tuple(range(1, x.ndim - 1))
    ref_mean, ref_sq = ref.mean(axis=ref_axes), (ref ** 2).mean(axis=ref_axes)
    out_ref = (ref - ref_mean) / np.sqrt(ref_sq - ref_mean ** 2 + eps) * gamma + beta
    out_live = []
    for xi in live:
        mean = r / (r + 1) * ref_mean + 1 / (r + 1) * xi.mean(axis=tuple(a - 1 for a in spatial))
        sq = r / (r + 1) * ref_sq + 1 / (r + 1) * (xi ** 2).mean(axis=tuple(a - 1 for a in spatial))
        out_live.append((xi - mean) / np.sqrt(sq - mean ** 2 + eps) * gamma + beta)
    return np.concatenate([out_ref, np.stack(out_live)], axis=0)


@pytest.mark.parametrize("shape", [(7, 4, 4, 3), (9, 5)])
def test_vbn_matches_numpy(shape):
    r = 5
    x = (RNG.normal(size=shape) * 2.0 + 1.5).astype("float32")
    layer = VirtualBatchNormalization(r, epsilon=1e-3)
    layer.build(shape)
    gamma = RNG.uniform(0.5, 2.0, size=shape[-1]).astype("float32")
    beta = RNG.normal(size=shape[-1]).astype("float32")
    layer.gamma.assign(gamma)
    layer.beta.assign(beta)
    y = _np(layer(x))
    np.testing.assert_allclose(y, _np_vbn(x.astype("float64"), r, gamma, beta, 1e-3), rtol=1e-4, atol=1e-4)


def test_vbn_network_is_independent_of_batch():
    """An example's output must not depend on the other examples (the point of VBN)."""
    r = 8
    reference = RNG.normal(size=(r, 4)).astype("float32")
    net = keras.Sequential([
        keras.Input((4,)),
        PrependReference(reference),
        keras.layers.Dense(16),
        VirtualBatchNormalization(r),
        keras.layers.ReLU(),
        keras.layers.Dense(8),
        VirtualBatchNormalization(r),
        keras.layers.Dense(2),
        DropReference(r),
    ])
    x = RNG.normal(size=(5, 4)).astype("float32")
    batch = net.predict(x, batch_size=5, verbose=0)
    single = net.predict(x, batch_size=1, verbose=0)  # five one-example batches
    assert batch.shape == (5, 2)
    np.testing.assert_allclose(batch, single, rtol=1e-4, atol=1e-5)
    # The reference does matter: a different reference changes the outputs.
    net.layers[0].reference.assign(reference * 3.0 + 1.0)
    assert np.abs(net.predict(x, batch_size=5, verbose=0) - batch).max() > 1e-2


def test_vbn_rejects_batch_without_reference():
    with pytest.raises(ValueError, match="PrependReference"):
        VirtualBatchNormalization(8)(np.zeros((8, 3), "float32"))


# -- SpectralNormalization -----------------------------------------------------


def _np_power_step(w_mat, u):
    v = w_mat @ u
    v /= np.linalg.norm(v)
    u_new = w_mat.T @ v
    u_new /= np.linalg.norm(u_new)
    return u_new, v, v @ w_mat @ u_new


def _kernel_with_singular_values(rows, cols, values):
    """A (rows, cols) matrix with prescribed singular values."""
    q1, _ = np.linalg.qr(RNG.normal(size=(rows, rows)))
    q2, _ = np.linalg.qr(RNG.normal(size=(cols, cols)))
    s = np.zeros((rows, cols))
    s[np.arange(len(values)), np.arange(len(values))] = values
    return (q1 @ s @ q2.T).astype("float32")


def test_sn_dense_matches_numpy_and_u_state():
    sn = SpectralNormalization(keras.layers.Dense(3, activation="tanh"))
    x = RNG.normal(size=(4, 5)).astype("float32")
    sn.build(x.shape)
    sn.layer.bias.assign(RNG.normal(size=3).astype("float32"))
    w, b, u0 = _np(sn.layer.kernel), _np(sn.layer.bias), _np(sn.u)
    u1, _, sigma = _np_power_step(w.astype("float64"), u0 / np.linalg.norm(u0))
    expected = np.tanh(x @ (w / sigma) + b)

    y_eval = _np(sn(x, training=False))
    np.testing.assert_array_equal(_np(sn.u), u0)  # inference leaves u alone
    y_train = _np(sn(x, training=True))
    np.testing.assert_allclose(_np(sn.u), u1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y_eval, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y_train, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(_np(sn.layer.kernel), w)  # raw kernel never rewritten
    assert [v.name for v in sn.non_trainable_weights] == ["u"]
    assert len(sn.trainable_weights) == 2


@pytest.mark.parametrize("kind", ["conv2d", "conv2d_transpose", "conv1d_causal", "embedding"])
def test_sn_wrapped_layers_match_plain_layer_with_normalized_kernel(kind):
    make = {
        "conv2d": lambda: keras.layers.Conv2D(4, 3, strides=2, padding="same", dilation_rate=1),
        "conv2d_transpose": lambda: keras.layers.Conv2DTranspose(4, 3, strides=2, padding="same"),
        "conv1d_causal": lambda: keras.layers.Conv1D(4, 3, padding="causal", dilation_rate=2),
        "embedding": lambda: keras.layers.Embedding(10, 4),
    }[kind]
    if kind == "embedding":
        x = RNG.integers(0, 10, size=(3, 5)).astype("int32")
    elif kind == "conv1d_causal":
        x = RNG.normal(size=(2, 9, 3)).astype("float32")
    else:
        x = RNG.normal(size=(2, 6, 6, 3)).astype("float32")
    sn = SpectralNormalization(make())
    sn.build(x.shape)
    plain = make()
    plain.build(x.shape)
    kernel = _np(sn._kernel())
    # Matrix with output channels as columns; transposed convs keep (kh, kw, out, in).
    matrix = np.swapaxes(kernel, -1, -2) if kind == "conv2d_transpose" else kernel
    matrix = matrix.reshape(-1, matrix.shape[-1]).astype("float64")
    u0 = _np(sn.u)
    u1, _, sigma = _np_power_step(matrix, u0 / np.linalg.norm(u0))
    weights = [kernel / sigma] + [_np(v) for v in sn.layer.weights[1:]]
    plain.set_weights(weights)
    np.testing.assert_allclose(_np(sn(x, training=True)), _np(plain(x)), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(_np(sn.u), u1, rtol=1e-5, atol=1e-6)


def test_sn_power_iteration_converges_to_svd():
    sn = SpectralNormalization(keras.layers.Conv2D(6, 3))
    sn.build((None, 8, 8, 4))
    kernel = _kernel_with_singular_values(36, 6, [4.0, 2.0, 1.0, 0.5, 0.3, 0.1]).reshape(3, 3, 4, 6)
    sn.layer.kernel.assign(kernel)
    x = np.zeros((1, 8, 8, 4), "float32")
    for _ in range(25):
        sn(x, training=True)
    w_sn = _np(sn.normalized_kernel()).reshape(36, 6)
    assert np.linalg.svd(w_sn, compute_uv=False)[0] == pytest.approx(1.0, abs=1e-5)
    # u is the top right singular vector of the (kh*kw*in, out) matrix.
    top = np.linalg.svd(kernel.reshape(36, 6))[2][0]
    assert abs(np.dot(_np(sn.u) / np.linalg.norm(_np(sn.u)), top)) == pytest.approx(1.0, abs=1e-6)


def _sn_model(kernel, u):
    model = keras.Sequential([
        keras.Input((kernel.shape[0],)),
        SpectralNormalization(keras.layers.Dense(kernel.shape[1], use_bias=False)),
    ])
    sn = model.layers[0]
    sn.layer.kernel.assign(kernel)
    sn.u.assign(u)
    return model, sn


def test_sn_one_sgd_step_matches_analytic_gradient():
    """The gradient flows through sigma: dL/dW = G/s - <G, W>/s^2 v u^T."""
    kernel = RNG.normal(size=(4, 3)).astype("float32")
    u0 = RNG.normal(size=3).astype("float32")
    model, sn = _sn_model(kernel, u0)
    lr = 0.1
    model.compile(optimizer=keras.optimizers.SGD(lr), loss="mse")
    x = RNG.normal(size=(8, 4)).astype("float32")
    t = RNG.normal(size=(8, 3)).astype("float32")
    model.fit(x, t, batch_size=8, epochs=1, verbose=0, shuffle=False)

    w = kernel.astype("float64")
    u1, v, sigma = _np_power_step(w, u0 / np.linalg.norm(u0))
    y = x @ (w / sigma)
    g = x.T @ (2.0 * (y - t) / y.size)  # dL/dW_sn
    grad = g / sigma - np.sum(g * w) / sigma ** 2 * np.outer(v, u1)
    np.testing.assert_allclose(_np(sn.layer.kernel), w - lr * grad, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(_np(sn.u), u1, rtol=1e-5, atol=1e-6)


def test_sn_fit_updates_u_and_normalizes():
    """Under fit (JAX: stateless train step) u is threaded and sigma(W_sn) -> 1."""
    kernel = _kernel_with_singular_values(6, 4, [3.0, 1.5, 1.0, 0.5])
    u0 = RNG.normal(size=4).astype("float32")
    model, sn = _sn_model(kernel, u0)
    model.compile(optimizer=keras.optimizers.SGD(1e-3), loss="mse")
    x = RNG.normal(size=(240, 6)).astype("float32")
    t = RNG.normal(size=(240, 4)).astype("float32")
    model.fit(x, t, batch_size=8, epochs=1, verbose=0)  # 30 steps

    w = _np(sn.layer.kernel)
    assert not np.allclose(w, kernel)  # it trained
    assert not np.allclose(_np(sn.u), u0)  # u was threaded back out of the step
    s = np.linalg.svd(w, compute_uv=False)
    assert s[0] == pytest.approx(3.0, rel=0.05)  # the raw kernel is not rewritten
    w_sn = _np(sn.normalized_kernel())
    assert np.linalg.svd(w_sn, compute_uv=False)[0] == pytest.approx(1.0, abs=1e-4)


def test_sn_mixed_precision_updates_u():
    """u stays float32 and is updated when the layer computes in bfloat16.

    (torch assigns into a cast copy if u were autocast; the kernel is read in
    bfloat16, hence the loose tolerance.)
    """
    sn = SpectralNormalization(keras.layers.Dense(3, dtype="mixed_bfloat16"))
    x = RNG.normal(size=(4, 5)).astype("float32")
    sn.build(x.shape)
    u0 = 5.0 * _np(sn.u) / np.linalg.norm(_np(sn.u))  # norm 5: an unchanged u cannot pass
    sn.u.assign(u0)
    u1, _, _ = _np_power_step(_np(sn.layer.kernel).astype("float64"), u0 / 5.0)
    y = sn(x, training=True)
    assert keras.backend.standardize_dtype(y.dtype) == "bfloat16"
    assert sn.u.dtype == "float32"
    np.testing.assert_allclose(_np(sn.u), u1, rtol=2e-2, atol=2e-2)


def test_sn_rejects_unsupported_layer():
    with pytest.raises(ValueError, match="Dense, Conv"):
        SpectralNormalization(keras.layers.DepthwiseConv2D(3))


# -- .keras round trip ----------------------------------------------------------


def test_keras_round_trip_with_every_layer(tmp_path):
    r = 4
    reference = RNG.normal(size=(r, 6, 6, 2)).astype("float32")
    inputs = keras.Input((6, 6, 2))
    h = PrependReference(reference)(inputs)
    h = SpectralNormalization(keras.layers.Conv2D(4, 3, padding="same"), power_iterations=2)(h)
    h = VirtualBatchNormalization(r)(h)
    h = DropReference(r)(h)
    h = MinibatchStdLayer(group_size=2, num_channels=1)(h)
    h = SpectralNormalization(keras.layers.Conv2DTranspose(2, 3, strides=2, padding="same"))(h)
    h = keras.layers.Flatten()(h)
    h = MinibatchDiscrimination(num_kernels=3, kernel_dim=2)(h)
    outputs = SpectralNormalization(keras.layers.Dense(1), eps=1e-8)(h)
    model = keras.Model(inputs, outputs)

    x = RNG.normal(size=(4, 6, 6, 2)).astype("float32")
    for layer in model.layers:  # non-default u values must survive the trip
        if isinstance(layer, SpectralNormalization):
            layer.u.assign(RNG.normal(size=layer.u.shape).astype("float32"))
    expected = model.predict(x, verbose=0)
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path)

    np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    for a, b in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(_np(a), _np(b))
    sns = [layer for layer in loaded.layers if isinstance(layer, SpectralNormalization)]
    assert [s.power_iterations for s in sns] == [2, 1, 1] and sns[2].eps == 1e-8
    assert loaded.layers[1].reference_shape == (r, 6, 6, 2)
