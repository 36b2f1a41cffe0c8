"""The ResNet-GAN layers against numpy references on every backend: self-attention (SAGAN's
form and BigGAN's max-pooled keys/values), conditional batch norm (vector condition and class
tables, training and inference), the residual up/down blocks, latent chunks, and BigGAN's
orthogonal regularization (value and gradient against BigGAN-PyTorch's direct update)."""

import keras
import numpy as np
import pytest
from keras import ops

from ganzoo import backend
from ganzoo.layers import (
    ConditionalBatchNormalization,
    LatentChunks,
    ResBlockDown,
    ResBlockUp,
    SelfAttention,
)
from ganzoo.models.biggan.orthogonal import OrthogonalRegularization, orthogonal_penalty

EPS = 1e-5


def to_np(x):
    return np.asarray(ops.convert_to_numpy(x), dtype="float64")


def softmax(t):
    t = t - t.max(axis=-1, keepdims=True)
    e = np.exp(t)
    return e / e.sum(axis=-1, keepdims=True)


def conv_same(x, kernel, bias=None):
    """NHWC 'same' convolution (stride 1, odd kernel) in float64."""
    kh, kw = kernel.shape[:2]
    xp = np.pad(x, ((0, 0), (kh // 2, kh // 2), (kw // 2, kw // 2), (0, 0)))
    h, w = x.shape[1:3]
    out = np.zeros(x.shape[:3] + (kernel.shape[-1],))
    for i in range(kh):
        for j in range(kw):
            out += np.einsum("nhwc,cd->nhwd", xp[:, i : i + h, j : j + w], kernel[i, j])
    return out if bias is None else out + bias


def batch_norm(x, eps=EPS):
    mean = x.mean(axis=(0, 1, 2))
    var = x.var(axis=(0, 1, 2))
    return (x - mean) / np.sqrt(var + eps), mean, var


def up2(x):
    return x.repeat(2, axis=1).repeat(2, axis=2)


def pool2(x):
    n, h, w, c = x.shape
    return x.reshape(n, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4))


def maxpool2(x):
    n, h, w, c = x.shape
    return x.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


def relu(x):
    return np.maximum(x, 0.0)


# ----------------------------------------------------------------------------- self-attention
@pytest.mark.parametrize("pool", [False, True])
def test_self_attention_equals_numpy(pool):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 4, 6, 16)).astype("float32")
    att = SelfAttention(pool=pool, spectral_norm=False)
    y0 = to_np(att(x))
    np.testing.assert_allclose(y0, x, atol=1e-6)  # gamma starts at 0: the identity
    att.gamma.assign(0.7)
    w = {name: to_np(getattr(att, name).kernel)[0, 0] for name in ("theta", "phi", "g", "o")}
    assert w["theta"].shape == (16, 2) and w["g"].shape == (16, 8) and w["o"].shape == (8, 16)
    xd = x.astype("float64")
    theta = (xd @ w["theta"]).reshape(2, 24, 2)
    phi, g = xd @ w["phi"], xd @ w["g"]
    if pool:
        phi, g = maxpool2(phi), maxpool2(g)
    phi, g = phi.reshape(2, -1, 2), g.reshape(2, -1, 8)
    beta = softmax(np.einsum("nik,njk->nij", theta, phi))
    assert beta.shape == (2, 24, 6 if pool else 24)
    o = np.einsum("nij,njc->nic", beta, g).reshape(2, 4, 6, 8) @ w["o"]
    np.testing.assert_allclose(to_np(att(x)), xd + 0.7 * o, rtol=1e-4, atol=1e-5)


def test_self_attention_spectral_norm_uses_normalized_kernels_and_round_trips():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 4, 4, 16)).astype("float32")
    att = SelfAttention(pool=True, spectral_norm=True, name="att")
    att(x)
    att.gamma.assign(1.3)
    w = {name: to_np(getattr(att, name).normalized_kernel())[0, 0] for name in ("theta", "phi", "g", "o")}
    for k in w.values():  # each 1x1 kernel, as a matrix, has spectral norm ~1 after normalization
        assert abs(np.linalg.svd(k, compute_uv=False)[0] - 1.0) < 0.35
    back = SelfAttention.from_config(att.get_config())
    back(x)
    back.set_weights(att.get_weights())
    np.testing.assert_allclose(to_np(back(x)), to_np(att(x)), atol=1e-6)


def test_self_attention_bad_shapes_are_one_line_errors():
    with pytest.raises(ValueError, match="not divisible by key_ratio=8"):
        SelfAttention()(np.zeros((1, 4, 4, 12), "float32"))
    with pytest.raises(ValueError, match="even height and width, got 5x4"):
        SelfAttention(pool=True)(np.zeros((1, 5, 4, 16), "float32"))


# ----------------------------------------------------------------------------- conditional BN
def test_conditional_bn_from_a_vector_equals_numpy_in_training_and_inference():
    rng = np.random.default_rng(2)
    x = rng.normal(1.0, 2.0, size=(4, 3, 3, 5)).astype("float32")
    c = rng.normal(size=(4, 6)).astype("float32")
    cbn = ConditionalBatchNormalization(spectral_norm=False, momentum=0.9)
    out = to_np(cbn([x, c], training=True))
    wg, wb = to_np(cbn.gain.kernel), to_np(cbn.bias.kernel)
    norm, mean, var = batch_norm(x.astype("float64"))
    gain = (1.0 + c @ wg)[:, None, None, :]
    bias = (c @ wb)[:, None, None, :]
    np.testing.assert_allclose(out, norm * gain + bias, rtol=1e-4, atol=1e-4)
    # Inference uses the moving statistics: one update from (0, 1) with momentum 0.9.
    moving_mean, moving_var = 0.1 * mean, 0.9 + 0.1 * var
    expected = (x - moving_mean) / np.sqrt(moving_var + EPS) * gain + bias
    np.testing.assert_allclose(to_np(cbn([x, c], training=False)), expected, rtol=1e-3, atol=1e-3)


def test_conditional_bn_from_class_tables_and_with_spectral_norm():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(6, 2, 2, 4)).astype("float32")
    y = np.array([0, 2, 1, 2, 0, 1], "int32")
    cbn = ConditionalBatchNormalization(num_classes=3)
    out = to_np(cbn([x, y], training=True))
    eg, eb = to_np(cbn.gain.embeddings), to_np(cbn.bias.embeddings)
    norm, _, _ = batch_norm(x.astype("float64"))
    np.testing.assert_allclose(out, norm * (1 + eg[y])[:, None, None] + eb[y][:, None, None], rtol=1e-4, atol=1e-4)
    # Spectrally normalized predictors: gain = 1 + c W / sigma(W).
    c = rng.normal(size=(6, 5)).astype("float32")
    sn = ConditionalBatchNormalization(spectral_norm=True)
    sn([x, c], training=True)
    out = to_np(sn([x, c], training=False))
    wg, wb = to_np(sn.gain.normalized_kernel()), to_np(sn.bias.normalized_kernel())
    mm, mv = to_np(sn.bn.moving_mean), to_np(sn.bn.moving_variance)
    expected = (x - mm) / np.sqrt(mv + EPS) * (1 + c @ wg)[:, None, None] + (c @ wb)[:, None, None]
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match=r"called on \[x, c\]"):
        ConditionalBatchNormalization()(x)


# ----------------------------------------------------------------------------- residual blocks
def test_resblock_up_equals_numpy():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(3, 2, 2, 4)).astype("float32")
    c = rng.normal(size=(3, 5)).astype("float32")
    block = ResBlockUp(6, conditional=True, spectral_norm=False)
    out = to_np(block([x, c], training=True))
    assert out.shape == (3, 4, 4, 6)

    def cbn(layer, h):
        n, _, _ = batch_norm(h)
        return n * (1 + c @ to_np(layer.gain.kernel))[:, None, None] + (c @ to_np(layer.bias.kernel))[:, None, None]

    k = {name: (to_np(getattr(block, name).kernel), to_np(getattr(block, name).bias))
         for name in ("conv1", "conv2", "conv_sc")}
    xd = x.astype("float64")
    h = conv_same(up2(relu(cbn(block.bn1, xd))), *k["conv1"])
    h = conv_same(relu(cbn(block.bn2, h)), *k["conv2"])
    expected = h + conv_same(up2(xd), *k["conv_sc"])
    np.testing.assert_allclose(out, expected, rtol=1e-3, atol=1e-3)
    # Same width, no upsampling: the shortcut is the identity (no conv_sc).
    plain = ResBlockUp(4, upsample=False)
    plain(x, training=True)
    assert plain.conv_sc is None


@pytest.mark.parametrize("preactivation", [False, True])
def test_resblock_down_equals_numpy(preactivation):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 4, 4, 3)).astype("float32")
    block = ResBlockDown(5, downsample=True, preactivation=preactivation, spectral_norm=False)
    out = to_np(block(x))
    assert out.shape == (2, 2, 2, 5)
    k = {name: (to_np(getattr(block, name).kernel), to_np(getattr(block, name).bias))
         for name in ("conv1", "conv2", "conv_sc")}
    xd = x.astype("float64")
    h = conv_same(relu(xd) if preactivation else xd, *k["conv1"])
    h = pool2(conv_same(relu(h), *k["conv2"]))
    sc_kernel, sc_bias = k["conv_sc"][0][0, 0], k["conv_sc"][1]
    shortcut = pool2(xd @ sc_kernel + sc_bias) if preactivation else pool2(xd) @ sc_kernel + sc_bias
    np.testing.assert_allclose(out, h + shortcut, rtol=1e-4, atol=1e-4)


def test_resblocks_serialize_and_wide_sets_the_hidden_width():
    x = np.random.default_rng(6).normal(size=(2, 4, 4, 3)).astype("float32")
    narrow = ResBlockDown(8, wide=False)
    narrow(x)
    assert tuple(narrow.conv1.layer.kernel.shape) == (3, 3, 3, 3)  # SNGAN: hidden = input channels
    for block, inputs in ((ResBlockDown(8, preactivation=False), x),
                          (ResBlockUp(8, conditional=True, num_classes=3), [x, np.array([0, 2], "int32")])):
        out = to_np(block(inputs, training=False))
        back = type(block).from_config(block.get_config())
        back(inputs, training=False)
        back.set_weights(block.get_weights())
        np.testing.assert_allclose(to_np(back(inputs, training=False)), out, atol=1e-5)


def test_latent_chunks_split_in_order():
    z = np.arange(24, dtype="float32").reshape(2, 12)
    parts = [to_np(p) for p in LatentChunks(3)(z)]
    for i, p in enumerate(parts):
        np.testing.assert_array_equal(p, z[:, 4 * i : 4 * (i + 1)])
    with pytest.raises(ValueError, match="cannot be split into 5 equal chunks"):
        LatentChunks(5)(z)


# ----------------------------------------------------------------------------- orthogonal regularization
def test_orthogonal_penalty_equals_its_closed_form_and_biggans_update():
    rng = np.random.default_rng(7)
    conv = keras.Variable(rng.normal(size=(3, 3, 4, 6)).astype("float32"), name="kernel")
    dense = keras.Variable(rng.normal(size=(5, 7)).astype("float32"), name="kernel")
    value = float(to_np(orthogonal_penalty([conv, dense])))

    def closed_form(w):  # filters as columns: beta-free || W^T W (.) (1 - I) ||_F^2
        gram = w.T @ w
        return float(np.sum((gram * (1 - np.eye(len(gram)))) ** 2))

    mats = [to_np(conv).reshape(-1, 6), to_np(dense)]
    np.testing.assert_allclose(value, sum(closed_form(m) for m in mats), rtol=1e-5)

    # The loss term beta/2 * R has gradient 2 beta (W W^T (.) (1 - I)) W with rows as filters:
    # BigGAN-PyTorch's utils.ortho update, applied to the PyTorch layout (out, in*kh*kw).
    beta = 1e-4
    penalty = OrthogonalRegularization(beta)
    assert penalty.weight == pytest.approx(beta / 2)
    _, _, grads = backend.value_and_grad(lambda: (penalty.weight * orthogonal_penalty([conv, dense]), {}), [conv, dense])
    for g, w in zip(grads, mats):
        rows = w.T  # (out, in): PyTorch's view(out, -1)
        update = 2 * beta * ((rows @ rows.T) * (1 - np.eye(len(rows)))) @ rows
        np.testing.assert_allclose(to_np(g).reshape(-1, w.shape[1]), update.T, rtol=1e-4, atol=1e-9)


def test_orthogonal_penalty_is_zero_for_orthogonal_filters_and_skips_the_shared_embedding():
    q, _ = np.linalg.qr(np.random.default_rng(8).normal(size=(6, 6)))
    scaled = keras.Variable((q * np.array([1, 2, 3, 4, 5, 6])).astype("float32"))
    assert abs(float(to_np(orthogonal_penalty([scaled])))) < 1e-3  # norms are free: off-diagonal only
    z = keras.Input((4,))
    y = keras.Input((), dtype="int32")
    e = keras.layers.Embedding(3, 4, name="shared")(y)
    out = keras.layers.Dense(2, name="linear")(keras.layers.Concatenate()([z, e]))
    net = keras.Model([z, y], out)
    from ganzoo.models.biggan.orthogonal import weight_matrices

    assert [v.path.split("/")[0] for v in weight_matrices(net)] == ["linear"]
