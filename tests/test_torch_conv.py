"""ganzoo.backend.torch_conv (torch only): the copy-free channels-last `conv` / `conv_transpose`
against Keras's own torch functions (the truth) and a float64 numpy convolution: outputs,
input and kernel gradients, double backprop, which calls take the fast path, and that Keras's
layers run through it."""

import keras
import numpy as np
import pytest
from keras import ops

from conftest import BACKEND

pytestmark = pytest.mark.skipif(BACKEND != "torch", reason="Keras's torch convolutions only")

# (kernel, strides, padding, dilation, groups, input (H, W), fast path expected)
CONVS = [
    (4, 2, "same", 1, 1, (8, 8), True),      # DCGAN's D
    (3, 1, "same", 1, 1, (5, 6), True),
    (3, 1, "same", 1, 4, (5, 5), True),      # grouped (R3GAN)
    (3, 2, "valid", 1, 1, (7, 6), True),
    (3, 1, "same", 2, 1, (6, 6), True),
    ((3, 1), (1, 2), "same", 1, 2, (5, 6), True),
    (4, 1, "same", 1, 1, (6, 6), False),     # even kernel, stride 1: asymmetric "same" -> Keras
    (3, 2, "same", 1, 1, (6, 6), False),     # odd kernel, stride 2, even input: asymmetric
]
# (kernel, strides, padding, output_padding, input (H, W), fast path expected)
TRANSPOSES = [
    (4, 2, "same", None, (4, 5), True),      # DCGAN's G, U-Net's decoder
    (4, 1, "valid", None, (1, 1), True),     # DCGAN's 1x1 -> 4x4
    (3, 1, "same", None, (4, 5), True),
    (3, 2, "valid", None, (4, 4), True),
    (5, 3, "valid", 2, (3, 3), True),
    (2, 3, "valid", None, (3, 2), True),
    (1, 2, "same", 0, (3, 3), True),
    (3, 2, "same", None, (5, 4), False),     # odd kernel, stride 2: crops more on the right -> Keras
    (4, 2, "same", 1, (3, 4), False),
    ((3, 2), (2, 1), "same", None, (4, 3), False),
]


def _np(x):
    return np.asarray(ops.convert_to_numpy(x), dtype="float64")


def _fns():
    from keras.src.backend.torch import nn as knn

    from ganzoo.backend import torch_conv

    conv0, conv_t0 = torch_conv.keras_originals()
    assert knn.conv is not conv0 and knn.conv_transpose is not conv_t0, "ganzoo.backend did not install them"
    return knn, conv0, conv_t0


def _grads(fn, x, k, g):
    """fn(x, k), d sum(fn * g)/dx, d/dk, and d/dk of ||d sum(tanh(fn) * g)/dx||^2 (double backprop)."""
    import torch

    x, k = x.clone().requires_grad_(True), k.clone().requires_grad_(True)
    y = fn(x, k)
    dx, dk = torch.autograd.grad((y * g).sum(), (x, k))
    (dx2,) = torch.autograd.grad((torch.tanh(fn(x, k)) * g).sum(), x, create_graph=True)
    (dk2,) = torch.autograd.grad(dx2.square().sum(), k)
    return [_np(t.detach()) for t in (y, dx, dk, dk2)]


def _assert_same(fn, reference, x, k, rng):
    import torch

    g = torch.tensor(rng.normal(size=tuple(reference(x, k).shape)), dtype=torch.float32)
    for name, a, b in zip(("output", "d_input", "d_kernel", "double backprop"), _grads(fn, x, k, g),
                          _grads(reference, x, k, g)):
        assert a.shape == b.shape, name
        np.testing.assert_allclose(a, b, atol=1e-4, rtol=1e-4, err_msg=name)


def _numpy_conv(x, k, stride, pads, dilation):
    """Valid correlation of zero-padded NHWC x with an HWIO kernel (groups 1), float64."""
    x = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
    kh, kw = k.shape[:2]
    eh, ew = (kh - 1) * dilation[0] + 1, (kw - 1) * dilation[1] + 1
    oh, ow = (x.shape[1] - eh) // stride[0] + 1, (x.shape[2] - ew) // stride[1] + 1
    out = np.zeros((x.shape[0], oh, ow, k.shape[3]))
    for i in range(oh):
        for j in range(ow):
            patch = x[:, i * stride[0]:i * stride[0] + eh:dilation[0], j * stride[1]:j * stride[1] + ew:dilation[1]]
            out[:, i, j] = np.einsum("nabc,abcf->nf", patch, k)
    return out


@pytest.mark.parametrize("kernel, strides, padding, dilation, groups, size, fast", CONVS)
def test_conv_equals_keras(kernel, strides, padding, dilation, groups, size, fast):
    import torch

    from ganzoo.backend import torch_conv

    knn, conv0, _ = _fns()
    kernel = (kernel, kernel) if isinstance(kernel, int) else kernel
    cin, cout = 8, 4
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.normal(size=(2, *size, cin)), dtype=torch.float32)
    k = torch.tensor(rng.normal(0, 0.3, (*kernel, cin // groups, cout)), dtype=torch.float32)
    args = (strides, padding, "channels_last", dilation)
    assert (torch_conv._plan_conv(x, k, *args, knn) is not None) == fast
    _assert_same(lambda a, b: knn.conv(a, b, *args), lambda a, b: conv0(a, b, *args), x, k, rng)


def test_conv_equals_numpy_and_keras_layers_use_it():
    knn, conv0, _ = _fns()
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 8, 8, 3)).astype("float32")
    layer = keras.layers.Conv2D(5, 4, strides=2, padding="same", use_bias=False)
    layer.build(x.shape)
    expected = _numpy_conv(x.astype("float64"), _np(layer.kernel), (2, 2), ((1, 1), (1, 1)), (1, 1))
    np.testing.assert_allclose(_np(layer(x)), expected, atol=1e-4)
    # Off by one pixel of padding gives another answer: the comparison can fail.
    shifted = _numpy_conv(x.astype("float64"), _np(layer.kernel), (2, 2), ((2, 0), (2, 0)), (1, 1))
    assert np.abs(_np(layer(x)) - shifted).max() > 0.1
    calls = []
    real = knn.conv
    knn.conv = lambda *a, **kw: calls.append(1) or real(*a, **kw)
    try:
        layer(x)
    finally:
        knn.conv = real
    assert calls, "keras.layers.Conv2D does not reach the backend's conv"


@pytest.mark.parametrize("kernel, strides, padding, output_padding, size, fast", TRANSPOSES)
def test_conv_transpose_equals_keras(kernel, strides, padding, output_padding, size, fast):
    import torch

    from ganzoo.backend import torch_conv

    knn, _, conv_t0 = _fns()
    kernel = (kernel, kernel) if isinstance(kernel, int) else kernel
    rng = np.random.default_rng(2)
    x = torch.tensor(rng.normal(size=(2, *size, 6)), dtype=torch.float32)
    k = torch.tensor(rng.normal(0, 0.3, (*kernel, 4, 6)), dtype=torch.float32)  # (kh, kw, out, in)
    args = (strides, padding, output_padding, "channels_last", 1)
    assert (torch_conv._plan_conv_transpose(x, k, *args, knn) is not None) == fast
    _assert_same(lambda a, b: knn.conv_transpose(a, b, *args), lambda a, b: conv_t0(a, b, *args), x, k, rng)


def test_channels_first_and_bad_shapes_keep_keras_behaviour():
    import torch

    knn, conv0, _ = _fns()
    x = torch.randn(2, 3, 6, 6)
    k = torch.randn(3, 3, 3, 4)
    np.testing.assert_allclose(_np(knn.conv(x, k, 1, "same", "channels_first")),
                               _np(conv0(x, k, 1, "same", "channels_first")), atol=1e-5)
    with pytest.raises(ValueError, match="divisible"):
        knn.conv(torch.randn(2, 6, 6, 5), torch.randn(3, 3, 2, 4), 1, "same", "channels_last")
