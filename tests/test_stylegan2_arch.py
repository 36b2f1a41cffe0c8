"""StyleGAN2 layers and networks: numbers checked against independent truth.

- FIR resampling against scipy.signal.upfirdn (a separate implementation of
  "zero-insert, filter, decimate") with NVIDIA's padding rules;
- demodulation keeps unit variance; AdaIN sets per-channel mean/std;
- parameter counts against a closed-form count of NVIDIA's tensors (config F
  1024: 30,370,060 G and 29,012,513 D parameters);
- truncation, style mixing, w_avg tracking, serialization, input errors.
"""

import math

import keras
import numpy as np
import pytest
import scipy.signal
from keras import ops

from ganzoo.architectures.stylegan2 import (
    Discriminator,
    Generator,
    MappingNetwork,
    SynthesisNetwork,
    cfg_kwargs,
    cfg_spec,
    stylegan2_discriminator,
    stylegan2_generator,
)
from ganzoo.layers import MinibatchStdLayer
from ganzoo.layers import stylegan as stylegan_layers
from ganzoo.layers.stylegan import (
    AdaIN,
    EqualizedConv2D,
    EqualizedDense,
    ModulatedConv2D,
    NoiseInjection,
    bias_act,
    conv2d_resample,
    downsample2d,
    setup_filter,
    upfirdn2d,
    upsample2d,
)

TINY_G = dict(z_dim=16, c_dim=0, w_dim=16, img_resolution=32, img_channels=3,
              mapping_kwargs=dict(num_layers=2), synthesis_kwargs=dict(channel_base=128, channel_max=16))


def np_(x):
    return np.asarray(ops.convert_to_numpy(x))


@pytest.fixture(scope="module")
def tiny_G():
    keras.utils.set_random_seed(1)
    return Generator(**TINY_G)


# ----------------------------------------------------------------------------
# FIR resampling vs scipy.


def _scipy_upfirdn_axis(x, h, up, down, p0, p1, axis):
    """NVIDIA's per-axis upfirdn (zero insert, pad, convolve, decimate) via scipy's full convolution."""
    length = x.shape[axis]
    full = scipy.signal.upfirdn(h, x, up=up, down=1, axis=axis)  # y[n] = sum_k h[k] u[n - k]
    out_len = -(-(length * up + p0 + p1 - len(h) + 1) // down)
    idx = (len(h) - 1 - p0) + down * np.arange(out_len)  # valid conv on the padded signal
    full = np.moveaxis(full, axis, 0)
    out = np.zeros((out_len,) + full.shape[1:], full.dtype)
    ok = (idx >= 0) & (idx < full.shape[0])
    out[ok] = full[idx[ok]]
    return np.moveaxis(out, 0, axis)


def _scipy_upfirdn2d(x, taps, up, down, pad, gain_per_axis):
    h = np.asarray(taps, np.float64) / np.sum(taps) * gain_per_axis
    px0, px1, py0, py1 = pad
    y = _scipy_upfirdn_axis(x.astype(np.float64), h, up, down, py0, py1, axis=1)
    return _scipy_upfirdn_axis(y, h, up, down, px0, px1, axis=2)


@pytest.mark.parametrize(
    "up,down,pad,gain",
    [(2, 1, (2, 1, 2, 1), 4.0), (1, 2, (1, 1, 1, 1), 1.0), (1, 1, (3, 0, -1, 2), 1.0), (2, 1, (1, 1, 1, 1), 4.0)],
)
@pytest.mark.parametrize("by_slices", [True, False])
def test_upfirdn2d_matches_scipy(up, down, pad, gain, by_slices, monkeypatch):
    monkeypatch.setattr(stylegan_layers, "FIR_BY_SLICES", by_slices)
    x = np.random.default_rng(0).standard_normal((2, 7, 6, 3)).astype(np.float32)
    f = setup_filter([1, 3, 3, 1])
    got = np_(upfirdn2d(x, f, up=up, down=down, padding=pad, gain=gain))
    want = _scipy_upfirdn2d(x, [1, 3, 3, 1], up, down, pad, math.sqrt(gain))
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=1e-5)


def _numpy_upfirdn2d(x, f, up, down, pad, gain):
    """By definition, any 2-D filter: zero insertion, pad (negative crops), true convolution, stride."""
    n, h, w, c = x.shape
    z = np.zeros((n, h * up, w * up, c))
    z[:, ::up, ::up] = x
    px0, px1, py0, py1 = pad
    z = np.pad(z, ((0, 0), (max(py0, 0), max(py1, 0)), (max(px0, 0), max(px1, 0)), (0, 0)))
    z = z[:, max(-py0, 0): z.shape[1] - max(-py1, 0), max(-px0, 0): z.shape[2] - max(-px1, 0)]
    k = np.asarray(f, np.float64)[::-1, ::-1] * gain
    oh, ow = z.shape[1] - k.shape[0] + 1, z.shape[2] - k.shape[1] + 1
    out = np.zeros((n, oh, ow, c))
    for i in range(oh):
        for j in range(ow):
            out[:, i, j] = np.einsum("nabc,ab->nc", z[:, i:i + k.shape[0], j:j + k.shape[1]], k)
    return out[:, ::down, ::down]


@pytest.mark.parametrize("f", [np.outer([1.0, 2.0], [1.0, 3.0, 0.5]), [[1.0, 2.0], [3.0, -1.0]]],
                         ids=["separable-asymmetric", "not-separable"])
@pytest.mark.parametrize("up,down,pad", [(2, 1, (2, 1, 1, 2)), (1, 2, (1, 0, 0, 1)), (1, 1, (2, -1, 0, 1))])
@pytest.mark.parametrize("by_slices", [True, False])
def test_upfirdn2d_any_filter_equals_numpy(f, up, down, pad, by_slices, monkeypatch):
    # Both forms on every backend (shifted slices per axis for separable filters; the depthwise conv).
    monkeypatch.setattr(stylegan_layers, "FIR_BY_SLICES", by_slices)
    f = np.asarray(f, np.float32)
    x = np.random.default_rng(5).standard_normal((2, 5, 6, 2)).astype(np.float32)
    got = np_(upfirdn2d(x, f, up=up, down=down, padding=pad, gain=2.0))
    want = _numpy_upfirdn2d(x, f, up, down, pad, 2.0)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_upsample_downsample_shapes_and_dc_gain():
    f = setup_filter([1, 3, 3, 1])
    np.testing.assert_allclose(f.sum(), 1.0, rtol=1e-6)
    x = np.random.default_rng(1).standard_normal((1, 8, 8, 2)).astype(np.float32)
    up = np_(upsample2d(x, f))
    np.testing.assert_allclose(up, _scipy_upfirdn2d(x, [1, 3, 3, 1], 2, 1, (2, 1, 2, 1), 2.0), atol=1e-5)
    down = np_(downsample2d(x, f))
    np.testing.assert_allclose(down, _scipy_upfirdn2d(x, [1, 3, 3, 1], 1, 2, (1, 1, 1, 1), 1.0), atol=1e-5)
    ones = np.ones((1, 8, 8, 1), np.float32)  # DC passes with gain 1 away from the borders
    np.testing.assert_allclose(np_(upsample2d(ones, f))[0, 2:-2, 2:-2], 1.0, atol=1e-6)
    np.testing.assert_allclose(np_(downsample2d(ones, f))[0, 1:-1, 1:-1], 1.0, atol=1e-6)


def test_conv2d_resample_equals_filter_then_plain_conv():
    # down: FIR (pad 2) then stride-2 conv  ==  NVIDIA's generic path: pad 2, conv, FIR-downsample.
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 8, 8, 3)).astype(np.float32)
    w = rng.standard_normal((3, 3, 3, 4)).astype(np.float32)
    f = setup_filter([1, 3, 3, 1])
    got = np_(conv2d_resample(x, w, f, down=2, padding=1))
    dense = np_(ops.conv(np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0))), w, padding="valid"))
    want = _scipy_upfirdn2d(dense, [1, 3, 3, 1], 1, 2, (0, 0, 0, 0), 1.0)
    np.testing.assert_allclose(got, want, atol=1e-4)
    # up: transposed conv path == zero-insert + FIR (gain 4, pad 3/2) + true convolution.
    got = np_(conv2d_resample(x, w, f, up=2, padding=1))
    upx = _scipy_upfirdn2d(x, [1, 3, 3, 1], 2, 1, (3, 2, 3, 2), 2.0).astype(np.float32)
    want = np_(ops.conv(upx, w[::-1, ::-1].copy(), padding="valid"))
    np.testing.assert_allclose(got, want, atol=1e-4)


# ----------------------------------------------------------------------------
# Layers.


def test_bias_act_gain_and_clamp():
    x = np.array([[-2.0, -0.5, 0.5, 3.0]], np.float32)
    got = np_(bias_act(x, np.float32(0.5), "lrelu", gain=0.5, clamp=1.0))
    pre = x + 0.5
    want = np.clip(np.where(pre >= 0, pre, 0.2 * pre) * math.sqrt(2) * 0.5, -1, 1)
    np.testing.assert_allclose(got, want, atol=1e-6)
    with pytest.raises(ValueError, match="activation must be one of"):
        bias_act(x, activation="gelu")


def test_equalized_dense_runtime_scaling():
    layer = EqualizedDense(5, lr_multiplier=0.01, bias_init=2.0, activation="lrelu")
    x = np.random.default_rng(3).standard_normal((4, 7)).astype(np.float32)
    y = np_(layer(x))
    kernel, bias = np_(layer.kernel), np_(layer.bias)
    np.testing.assert_allclose(bias, 2.0)
    pre = x @ (kernel * 0.01 / math.sqrt(7)) + bias * 0.01
    np.testing.assert_allclose(y, np.where(pre >= 0, pre, 0.2 * pre) * math.sqrt(2), rtol=1e-5, atol=1e-6)
    assert 50 < np.std(kernel) < 200  # stored weights are N(0, 1 / lr_multiplier^2)


def test_equalized_conv_gain_clamp_and_residual_gain():
    conv = EqualizedConv2D(4, 3, activation="lrelu", conv_clamp=0.3)
    x = np.random.default_rng(4).standard_normal((2, 8, 8, 3)).astype(np.float32)
    y = np_(conv(x, gain=math.sqrt(0.5)))
    assert np.abs(y).max() <= 0.3 * math.sqrt(0.5) + 1e-6
    pre = np_(ops.conv(x, np_(conv.kernel) / math.sqrt(27), padding="same"))
    want = np.clip(np.where(pre >= 0, pre, 0.2 * pre), -0.3 * math.sqrt(0.5), 0.3 * math.sqrt(0.5))
    np.testing.assert_allclose(y, want, atol=1e-5)


def test_modulated_conv_is_per_sample_weight_conv_and_demod_keeps_unit_std():
    keras.utils.set_random_seed(5)
    rng = np.random.default_rng(5)
    conv = ModulatedConv2D(8, 3, in_channels=64)
    x = rng.standard_normal((8, 16, 16, 64)).astype(np.float32)
    s = (3.0 * rng.standard_normal((8, 64)) + 1.0).astype(np.float32)
    y = np_(conv(x, s))
    # Unit-variance input -> unit-variance output, whatever the style scale.
    assert abs(np.std(y[:, 1:-1, 1:-1]) - 1.0) < 0.05
    # Same as convolving sample n with w * s_n * d_n (the "fused" definition).
    w = np_(conv.kernel)
    for n in (0, 5):
        wn = w * s[n][None, None, :, None]
        wn = wn / np.sqrt((wn**2).sum(axis=(0, 1, 2), keepdims=True) + 1e-8)
        want = np_(ops.conv(x[n : n + 1], wn, padding="same"))
        np.testing.assert_allclose(y[n : n + 1], want, atol=1e-4)
    plain = np_(ModulatedConv2D(8, 3, in_channels=64, demodulate=False)(x, s))
    assert np.std(plain) > 5.0  # without demodulation the scale is not controlled


def test_noise_injection_modes():
    noise = NoiseInjection(8, seed=3)
    noise.build()
    noise.noise_strength.assign(0.5)
    x = np.zeros((2, 8, 8, 3), np.float32)
    const = np_(noise(x, noise_mode="const"))
    np.testing.assert_allclose(const, 0.5 * np_(noise.noise_const)[None, :, :, None] * np.ones((2, 1, 1, 3)), atol=1e-6)
    assert not noise.noise_const.trainable and noise.noise_strength.trainable
    r1, r2 = np_(noise(x, noise_mode="random")), np_(noise(x, noise_mode="random"))
    assert not np.allclose(r1, r2) and not np.allclose(r1[0], r1[1])
    np.testing.assert_allclose(r1[..., 0], r1[..., 2])  # one map shared by all channels
    np.testing.assert_array_equal(np_(noise(x, noise_mode="none")), x)
    with pytest.raises(ValueError, match="noise_mode"):
        noise(x, noise_mode="fixed")


def test_adain_sets_channel_statistics():
    adain = AdaIN(4, w_dim=6)
    adain.build()
    x = np.random.default_rng(6).standard_normal((3, 9, 9, 4)).astype(np.float32) * 5 + 2
    w = np.random.default_rng(7).standard_normal((3, 6)).astype(np.float32)
    y = np_(adain(x, w))
    style = np_(adain.affine(w))
    np.testing.assert_allclose(y.mean(axis=(1, 2)), style[:, 4:], atol=1e-4)
    np.testing.assert_allclose(y.std(axis=(1, 2)), np.abs(1 + style[:, :4]), rtol=1e-3)


def test_minibatch_std_groups_like_nvidia():
    x = np.random.default_rng(8).standard_normal((6, 4, 4, 5)).astype(np.float32)
    y = np_(MinibatchStdLayer(group_size=3)(x))
    groups = x.reshape(3, 2, 4, 4, 5)  # sample n*... : member g of group m is sample g * 2 + m
    want = np.sqrt(groups.var(axis=0) + 1e-8).mean(axis=(1, 2, 3))  # (2,)
    np.testing.assert_allclose(y[..., 5], np.broadcast_to(np.tile(want, 3)[:, None, None], (6, 4, 4)), rtol=1e-5)
    np.testing.assert_array_equal(y[..., :5], x)
    with pytest.raises(ValueError, match="divisible"):
        MinibatchStdLayer(group_size=4)(x)


# ----------------------------------------------------------------------------
# Networks.


def test_generator_shapes_and_num_ws(tiny_G):
    G = tiny_G
    assert G.num_ws == 8 and G.synthesis.num_ws == 2 * int(math.log2(32)) - 2
    # Batch 4 and the TINY_G shapes everywhere: JAX compiles each op once per shape.
    z = np.random.default_rng(9).standard_normal((4, 16)).astype(np.float32)
    ws = np_(G.mapping(z))
    assert ws.shape == (4, 8, 16)
    np.testing.assert_allclose(ws[:, 0], ws[:, 7])  # broadcast before truncation
    img = np_(G(z))
    assert img.shape == (4, 32, 32, 3) and np.isfinite(img).all()
    np.testing.assert_allclose(img, np_(G.synthesis(ws, noise_mode="const")), atol=1e-6)


def test_truncation_psi_zero_gives_one_image(tiny_G):
    G = tiny_G
    G.mapping.w_avg.assign(np.random.default_rng(10).standard_normal(16).astype(np.float32))
    z = np.random.default_rng(11).standard_normal((4, 16)).astype(np.float32)
    img = np_(G(z, truncation_psi=0.0))
    np.testing.assert_allclose(img[0], img[1], atol=1e-5)
    np.testing.assert_allclose(img[0], img[3], atol=1e-5)
    assert np.std(img) > 1e-3
    free = np_(G(z))
    assert np.abs(free[0] - free[1]).max() > 1e-3
    # With a cutoff only the first layers move to w_avg.
    ws = np_(G.mapping(z))
    cut = np_(G.mapping(z, truncation_psi=0.5, truncation_cutoff=3))
    w_avg = np_(G.mapping.w_avg)
    np.testing.assert_allclose(cut[:, :3], w_avg + 0.5 * (ws[:, :3] - w_avg), atol=1e-5)
    np.testing.assert_allclose(cut[:, 3:], ws[:, 3:], atol=1e-6)


def test_style_mixing_equals_layer_split(tiny_G):
    G = tiny_G
    rng = np.random.default_rng(12)
    wa = np_(G.mapping(rng.standard_normal((4, 16)).astype(np.float32)))
    wb = np_(G.mapping(rng.standard_normal((4, 16)).astype(np.float32)))
    mixed = np_(G.mix_styles(wa, wb, 3))
    np.testing.assert_array_equal(mixed, np.concatenate([wa[:, :3], wb[:, 3:]], axis=1))
    img = np_(G.synthesis(mixed, noise_mode="const"))
    split = np_(G.synthesis(np.concatenate([wa[:, :3], wb[:, 3:]], axis=1), noise_mode="const"))
    np.testing.assert_allclose(img, split, atol=1e-6)
    assert np.abs(img - np_(G.synthesis(wa, noise_mode="const"))).max() > 1e-4
    with pytest.raises(ValueError, match="cutoff"):
        G.mix_styles(wa, wb, 9)


def test_w_avg_tracks_batch_mean_in_training():
    mapping = MappingNetwork(z_dim=16, c_dim=0, w_dim=16, num_ws=8, num_layers=2)
    mapping.build()
    start = np.random.default_rng(13).standard_normal(16).astype(np.float32)
    mapping.w_avg.assign(start)
    z = np.random.default_rng(14).standard_normal((4, 16)).astype(np.float32)
    ws = np_(mapping(z, training=False))
    np.testing.assert_allclose(np_(mapping.w_avg), start)  # inference does not update
    mapping(z, training=True)
    np.testing.assert_allclose(np_(mapping.w_avg), ws[:, 0].mean(0) + 0.995 * (start - ws[:, 0].mean(0)), atol=1e-6)
    assert not mapping.w_avg.trainable


def test_discriminator_conditional_projection():
    keras.utils.set_random_seed(15)
    D = Discriminator(c_dim=3, img_resolution=32, channel_base=128, channel_max=16, mbstd_group_size=2)
    img = np.random.default_rng(16).standard_normal((4, 32, 32, 3)).astype(np.float32)
    c = np.eye(3, dtype=np.float32)[[0, 1, 2, 0]]
    logits = np_(D(img, c))
    assert logits.shape == (4, 1) and D.cmap_dim == 16
    # Projection: logit = <out(x), cmap> / sqrt(cmap_dim).
    x = ops.convert_to_tensor(img)
    for block in D.blocks:
        x = block(x)
    head = D.b4
    feat = np_(head.out(head.fc(ops.reshape(head.conv(head.mbstd(x)), (4, -1)))))
    cmap = np_(D.mapping(None, c))
    np.testing.assert_allclose(logits[:, 0], (feat * cmap).sum(1) / 4.0, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="conditional"):
        D(img)


def test_conditional_builders_call_convention():
    # What the StyleGAN2 model calls: c is a float one-hot (N, c_dim), passed second.
    G = stylegan2_generator(16, z_dim=8, w_dim=8, c_dim=3, channel_base=64, channel_max=8, mapping_layers=1)
    D = stylegan2_discriminator(16, c_dim=3, channel_base=64, channel_max=8, mbstd_group_size=2)
    z = np.random.default_rng(17).standard_normal((4, 8)).astype(np.float32)
    c = np.eye(3, dtype=np.float32)[[0, 1, 2, 0]]
    ws = G.mapping(z, c)
    img = G.synthesis(ws, noise_mode="const")
    np.testing.assert_allclose(np_(G(z, c, noise_mode="const")), np_(img), rtol=1e-5, atol=1e-6)
    assert np.abs(np_(G.mapping(z, c[::-1])) - np_(ws)).max() > 0
    np.testing.assert_allclose(np_(D(img, c)), np_(D(img, c=c)), rtol=1e-6)
    assert np_(D(img, c)).shape == (4, 1)


def _nvidia_param_count_G(z, c, w, res, img, base, cmax, nmap):
    ch = lambda r: min(base // r, cmax)  # noqa: E731
    feats = [z + (w if c else 0)] + [w] * nmap
    total = (c * w + w if c else 0) + sum(feats[i] * feats[i + 1] + feats[i + 1] for i in range(nmap))
    r = 4
    while r <= res:
        convs = [(ch(r), ch(r))] if r == 4 else [(ch(r // 2), ch(r)), (ch(r), ch(r))]
        total += ch(4) * 16 if r == 4 else 0  # const
        total += sum(o * i * 9 + o + 1 + w * i + i for i, o in convs)  # weight, bias, noise_strength, affine
        total += img * ch(r) + img + w * ch(r) + ch(r)  # toRGB
        r *= 2
    return total


def _nvidia_param_count_D(c, res, img, base, cmax, nmap=8):
    ch = lambda r: min(base // r, cmax)  # noqa: E731
    total, r = img * ch(res) + ch(res), res
    while r > 4:
        t, o = ch(r), ch(r // 2)
        total += t * t * 9 + t + o * t * 9 + o + o * t
        r //= 2
    k, cm = ch(4), ch(4) if c else 0
    total += (k + 1) * k * 9 + k + 16 * k * k + k + k * (cm or 1) + (cm or 1)
    if c:
        total += c * cm + cm + nmap * (cm * cm + cm)
    return total


def _trainable_count(model):
    return int(sum(np.prod(v.shape) for v in model.trainable_weights))


def test_param_counts_match_nvidia_formula_small():
    G = Generator(**{**TINY_G, "c_dim": 3})
    assert _trainable_count(G) == _nvidia_param_count_G(16, 3, 16, 32, 3, 128, 16, 2)
    D = Discriminator(c_dim=3, img_resolution=32, channel_base=128, channel_max=16)
    assert _trainable_count(D) == _nvidia_param_count_D(3, 32, 3, 128, 16)
    # Non-trainable: w_avg and one noise_const per conv layer.
    assert {v.name for v in G.non_trainable_weights} == {"w_avg", "noise_const"}


def test_config_f_param_formula():
    # stylegan2-ada-pytorch reports these totals for config F at 1024^2.
    assert _nvidia_param_count_G(512, 0, 512, 1024, 3, 32768, 512, 8) == 30_370_060
    assert _nvidia_param_count_D(0, 1024, 3, 32768, 512) == 29_012_513
    G_kwargs, D_kwargs = cfg_kwargs("f", resolution=1024)
    assert G_kwargs["synthesis_kwargs"]["channel_base"] == 32768 and D_kwargs["mbstd_group_size"] == 4


@pytest.mark.slow
def test_config_f_1024_param_counts_built():
    G_kwargs, D_kwargs = cfg_kwargs("f", resolution=1024)
    assert _trainable_count(Generator(**G_kwargs)) == 30_370_060
    assert _trainable_count(Discriminator(**D_kwargs)) == 29_012_513
    for cfg, res, c_dim, nmap in (("paper256", 256, 0, 8), ("cifar", 32, 10, 2)):
        G_kwargs, D_kwargs = cfg_kwargs(cfg, resolution=res, c_dim=c_dim)
        base = G_kwargs["synthesis_kwargs"]["channel_base"]
        want_G = _nvidia_param_count_G(512, c_dim, 512, res, 3, base, 512, nmap)
        assert _trainable_count(Generator(**G_kwargs)) == want_G
        assert _trainable_count(Discriminator(**D_kwargs)) == _nvidia_param_count_D(c_dim, res, 3, base, 512) - (
            0 if D_kwargs["architecture"] == "resnet" else _skip_params(res, base, 512))


def _skip_params(res, base, cmax):
    """The 1x1 residual skips a resnet D has and an 'orig' D lacks."""
    resolutions = [2**i for i in range(3, int(math.log2(res)) + 1)]
    return sum(min(base // r, cmax) * min(base // (r // 2), cmax) for r in resolutions)


def test_cfg_kwargs_schedules():
    G_kwargs, D_kwargs = cfg_kwargs("paper256", resolution=256)
    assert G_kwargs["synthesis_kwargs"] == dict(channel_base=16384, channel_max=512, conv_clamp=256)
    assert G_kwargs["mapping_kwargs"] == dict(num_layers=8) and D_kwargs["mbstd_group_size"] == 8
    G_kwargs, D_kwargs = cfg_kwargs("cifar", resolution=32, c_dim=10)
    assert G_kwargs["mapping_kwargs"]["num_layers"] == 2 and D_kwargs["architecture"] == "orig"
    assert D_kwargs["mbstd_group_size"] == 32 and G_kwargs["c_dim"] == 10
    G_kwargs, _ = cfg_kwargs("auto", resolution=512)
    assert G_kwargs["synthesis_kwargs"]["channel_base"] == 32768
    syn = SynthesisNetwork(w_dim=8, img_resolution=64, img_channels=3, channel_base=16384, channel_max=512)
    assert [b.out_channels for b in syn.blocks] == [512, 512, 512, 512, 256]
    with pytest.raises(ValueError, match="cfg must be"):
        cfg_kwargs("config-z")


def test_builders_and_cfg_kwargs_read_one_cfg_spec():
    # One source of the per-config defaults: the recipe builders and `cfg_kwargs` agree.
    _, D_kwargs = cfg_kwargs("cifar", resolution=32, c_dim=10)
    D = stylegan2_discriminator(32, c_dim=10, cfg="cifar", channel_base=128, channel_max=16)
    assert (D.architecture, D.mbstd_group_size, D.conv_clamp) == ("orig", 32, 256) == (
        D_kwargs["architecture"], D_kwargs["mbstd_group_size"], D_kwargs["conv_clamp"])
    G = stylegan2_generator(32, z_dim=8, w_dim=8, cfg="cifar", channel_base=128, channel_max=16)
    assert G.mapping.num_layers == cfg_spec("cifar")["mapping_layers"] == 2
    assert G.synthesis_kwargs["conv_clamp"] == 256
    # No cfg: config F, the same as cfg="f".
    assert cfg_spec("f") == dict(channel_base=32768, channel_max=512, mapping_layers=8, mbstd_group_size=4,
                                 conv_clamp=None, d_architecture="resnet")
    D = stylegan2_discriminator(16, channel_base=64, channel_max=16)
    assert (D.architecture, D.mbstd_group_size, D.conv_clamp) == ("resnet", 4, None)
    assert cfg_spec("auto", 256)["channel_base"] == 16384 and cfg_spec("auto", 512)["channel_base"] == 32768
    with pytest.raises(ValueError, match="needs the resolution"):
        cfg_spec("auto")
    with pytest.raises(ValueError, match="cfg must be"):
        stylegan2_generator(16, cfg="paper2048")


@pytest.mark.parametrize("resolution", [48, 4, 2048, 33.0])
def test_bad_resolution_errors(resolution):
    # The networks take 8..1024 (NVIDIA's need 4 < R; tiny test configs use 8-16);
    # the stylegan2-ada training configs (`cfg_kwargs`) keep 32..1024.
    with pytest.raises(ValueError, match="power of two in 8..1024"):
        Generator(img_resolution=resolution)
    with pytest.raises(ValueError, match="power of two in 8..1024"):
        Discriminator(img_resolution=resolution)
    with pytest.raises(ValueError, match="power of two in 32..1024"):
        cfg_kwargs("stylegan2", resolution=16)


def test_bad_inputs_errors(tiny_G):
    with pytest.raises(ValueError, match=r"z must have shape \(N, 16\)"):
        tiny_G(np.zeros((4, 15), np.float32))
    with pytest.raises(ValueError, match=r"ws must have shape \(N, 8, 16\)"):
        tiny_G.synthesis(np.zeros((4, 7, 16), np.float32))
    with pytest.raises(ValueError, match="noise_mode"):
        tiny_G(np.zeros((4, 16), np.float32), noise_mode="fixed")
    with pytest.raises(ValueError, match="style_mode"):
        Generator(**{**TINY_G, "synthesis_kwargs": {**TINY_G["synthesis_kwargs"], "style_mode": "v3"}})


def test_adain_generator_option_runs():
    G = Generator(**{**TINY_G, "synthesis_kwargs": {**TINY_G["synthesis_kwargs"], "style_mode": "adain"}})
    img = np_(G(np.random.default_rng(17).standard_normal((4, 16)).astype(np.float32)))
    assert img.shape == (4, 32, 32, 3) and np.isfinite(img).all() and np.std(img) > 0


def test_serialization_round_trip(tiny_G, tmp_path):
    z = np.random.default_rng(18).standard_normal((4, 16)).astype(np.float32)
    path = str(tmp_path / "g.weights.h5")
    tiny_G.save_weights(path)
    G2 = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(tiny_G))
    G2.load_weights(path)
    np.testing.assert_allclose(np_(G2(z)), np_(tiny_G(z)), atol=1e-6)
    assert G2.get_config()["synthesis_kwargs"] == TINY_G["synthesis_kwargs"]
