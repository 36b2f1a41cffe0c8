"""ganzoo.layers.Conv2DTranspose against keras.layers.Conv2DTranspose (the truth): outputs and
the gradients of input, kernel and bias for every formulation on this backend, double backprop,
serialization, and the embedded presets' samples with the builders' new layer."""

import json
import os

import keras
import numpy as np
import pytest
from keras import ops

import ganzoo
from ganzoo import backend, factory, presets
from ganzoo.architectures import dcgan_generator
from ganzoo.layers.conv_transpose import Conv2DTranspose

from conftest import BACKEND

KINDS = ["adjoint"]  # the formulations besides Keras's own ("native"), JAX only
# (kernel, strides, padding, output_padding, input (H, W)): DCGAN's layers and odd cases.
CASES = [
    (4, 2, "same", None, (4, 5)),
    (4, 1, "valid", None, (1, 1)),
    (3, 2, "same", None, (5, 4)),
    (3, 2, "valid", None, (4, 4)),
    (4, 2, "same", 1, (3, 4)),
    (5, 3, "valid", 2, (3, 3)),
    (2, 3, "valid", None, (3, 2)),
    ((3, 2), (2, 1), "same", None, (4, 3)),
    (1, 2, "same", 0, (3, 3)),
]


def _np(x):
    return np.asarray(ops.convert_to_numpy(x))


def _pair(kernel, strides, padding, output_padding, channels=3, filters=4, use_bias=True):
    """Keras's layer and ours, built, with the same random non-zero weights."""
    kwargs = dict(filters=filters, kernel_size=kernel, strides=strides, padding=padding,
                  output_padding=output_padding, use_bias=use_bias)
    ref, new = keras.layers.Conv2DTranspose(**kwargs), Conv2DTranspose(**kwargs)
    for layer in (ref, new):
        layer.build((None, None, None, channels))
    rng = np.random.default_rng(0)
    weights = [rng.normal(0, 0.3, w.shape).astype("float32") for w in ref.get_weights()]
    ref.set_weights(weights)
    new.set_weights(weights)
    return ref, new


def _output_and_grads(layer, x, g):
    """`layer(x)` and the gradients of `sum(layer(x) * g)` w.r.t. x, kernel and bias."""
    y, dx = backend.input_grad(lambda t: layer(t) * g, x)
    _, _, dw = backend.value_and_grad(lambda: (ops.sum(layer(x) * g), {}), layer.trainable_variables)
    return [_np(y), _np(dx)] + [_np(d) for d in dw]


JAX_ONLY = pytest.mark.skipif(BACKEND != "jax", reason="this backend runs Keras's own call")


@JAX_ONLY
@pytest.mark.parametrize("kernel, strides, padding, output_padding, size", CASES)
def test_outputs_and_gradients_equal_keras(kernel, strides, padding, output_padding, size):
    ref, new = _pair(kernel, strides, padding, output_padding)
    rng = np.random.default_rng(1)
    x = ops.convert_to_tensor(rng.normal(size=(2, *size, 3)).astype("float32"))
    y_ref = ref(x)
    g = ops.convert_to_tensor(rng.normal(size=tuple(y_ref.shape)).astype("float32"))
    expected = _output_and_grads(ref, x, g)
    for kind in KINDS:
        new.formulation = kind
        got = _output_and_grads(new, x, g)
        for name, a, b in zip(["output", "d_input", "d_kernel", "d_bias"], got, expected):
            assert a.shape == b.shape, (kind, name)
            np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5, err_msg=f"{kind} {name}")


def test_default_formulation_is_exact_without_bias():
    # The formulation this backend uses by default, at DCGAN's 4x4 stride-2 "same".
    ref, new = _pair(4, 2, "same", None, channels=8, filters=6, use_bias=False)
    assert new.formulation is None and len(new.trainable_variables) == 1
    x = ops.convert_to_tensor(np.random.default_rng(2).normal(size=(3, 4, 4, 8)).astype("float32"))
    g = ops.ones((3, 8, 8, 6))
    for a, b in zip(_output_and_grads(new, x, g), _output_and_grads(ref, x, g)):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)


@JAX_ONLY
def test_double_backprop_equals_keras():
    # d/dkernel of a gradient-norm penalty through the layer, as GP/R1 take it through D.
    ref, new = _pair(3, 2, "same", None)
    x = ops.convert_to_tensor(np.random.default_rng(3).normal(size=(2, 3, 3, 3)).astype("float32"))

    def penalty(layer):
        def loss():
            _, dx = backend.input_grad(lambda t: ops.sum(ops.square(layer(t)), axis=(1, 2, 3)), x)
            return ops.sum(ops.square(dx)), {}

        return [_np(d) for d in backend.value_and_grad(loss, layer.trainable_variables)[2]]

    expected = penalty(ref)
    for kind in KINDS:
        new.formulation = kind
        for a, b in zip(penalty(new), expected):
            np.testing.assert_allclose(a, b, atol=1e-4, rtol=1e-5, err_msg=kind)


def test_fallbacks_and_bad_formulation():
    ref, new = _pair(3, 2, "same", None)
    x = np.random.default_rng(4).normal(size=(1, 4, 4, 3)).astype("float32")
    dilated = Conv2DTranspose(2, 3, dilation_rate=2)
    dilated.build(x.shape)
    assert dilated._kind(x) == "native"  # dilation: Keras's own call
    if BACKEND != "tensorflow":  # TF's CPU kernel has no dilated transposed conv (Conv2DBackpropInput refuses it)
        np.testing.assert_allclose(_np(dilated(x)), _np(ops.conv_transpose(
            x, dilated.kernel, strides=1, padding="valid", dilation_rate=2)), atol=1e-5)
    new.formulation = "fft"
    with pytest.raises(ValueError, match="Unknown Conv2DTranspose formulation 'fft'"):
        new(x)
    if BACKEND != "jax":
        new.formulation = "adjoint"
        with pytest.raises(ValueError, match="exists on JAX only"):
            new(x)


def test_serialization_round_trip_and_registered_name():
    layer = Conv2DTranspose(5, 4, strides=2, padding="same", use_bias=False, name="up1")
    assert keras.saving.get_registered_name(Conv2DTranspose) == "ganzoo>Conv2DTranspose"
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(clone) is Conv2DTranspose and clone.get_config() == layer.get_config()


def test_builder_uses_the_layer_with_keras_variable_paths():
    G = dcgan_generator(latent_dim=8, resolution=16, channels=1, width=4)
    ups = [layer for layer in G.layers if isinstance(layer, keras.layers.Conv2DTranspose)]
    assert [type(u) for u in ups] == [Conv2DTranspose] * 3
    assert [u.name for u in ups] == ["project", "up1", "to_image"]
    paths = [v.path for v in G.weights]
    assert "project/kernel" in paths and "to_image/bias" in paths


@pytest.mark.parametrize("name", ["dcgan-digits", "cgan-digits"])
def test_embedded_preset_samples_unchanged(name, tmp_path):
    # The preset's config names keras.layers.Conv2DTranspose; its recipe's builder now makes ours.
    old = presets.load(name, generator_only=True).generator
    assert not any(isinstance(layer, Conv2DTranspose) for layer in old.layers)
    with open(os.path.join(os.path.dirname(ganzoo.__file__), "embedded", name, "metadata.json")) as f:
        spec = json.load(f)["recipe"]["model"]["generator"]
    new = factory.build_network(spec, "generator")
    assert any(isinstance(layer, Conv2DTranspose) for layer in new.layers)
    old.save_weights(tmp_path / "g.weights.h5")
    new.load_weights(tmp_path / "g.weights.h5")  # matched by path: the class name is Keras's
    assert [v.path for v in new.weights] == [v.path for v in old.weights]
    z = np.random.default_rng(5).normal(size=(6, spec["latent_dim"])).astype("float32")
    inputs = [z, np.arange(6, dtype="int32") % 10] if len(old.inputs) == 2 else z
    np.testing.assert_allclose(_np(new(inputs, training=False)), _np(old(inputs, training=False)), atol=1e-5)
