"""ganzoo.layers.BatchNormalization against a float64 numpy BatchNorm and Keras's own call on the
same layer (`fused = False`): outputs, moving statistics, input/gamma/beta gradients, double
backprop (a gradient penalty through BN), mixed precision, serialization; on every backend (the
fused kernel is torch's; elsewhere the layer must be Keras's).

(The speed reason, measured on torch, one thread: forward + backward of BN over a DCGAN
activation (64, 32, 32, 128): Keras's ops 330-360 ms, torch.native_batch_norm 110-130 ms.)
"""

import keras
import numpy as np
import pytest
from keras import ops

from ganzoo import backend
from ganzoo.layers import BatchNormalization, SyncBatchNormalization

# (input shape, axis, center, scale)
CASES = [((4, 5, 6, 8), -1, True, True), ((16, 8), -1, True, True), ((4, 8, 5, 6), 1, True, True),
         ((3, 7, 6), -1, False, False), ((4, 3, 3, 5), -1, True, False)]


def _np(x):
    return np.asarray(ops.convert_to_numpy(x), dtype="float64")


def _layer(shape, axis, center, scale, cls=BatchNormalization):
    layer = cls(axis=axis, momentum=0.8, epsilon=1e-3, center=center, scale=scale)
    layer.build(shape)
    rng = np.random.default_rng(0)
    layer.set_weights([rng.uniform(0.5, 1.5, w.shape).astype("float32") for w in layer.get_weights()])
    return layer


def _numpy_bn(x, axis, gamma, beta, eps):
    axes = tuple(i for i in range(x.ndim) if i != axis % x.ndim)
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]
    mean, var = x.mean(axes), x.var(axes)
    y = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    if gamma is not None:
        y = y * gamma.reshape(shape)
    if beta is not None:
        y = y + beta.reshape(shape)
    return y, mean, var


def _x(shape, seed=1):
    return np.random.default_rng(seed).normal(2.0, 3.0, shape).astype("float32")


def test_fused_where_the_backend_has_a_kernel():
    layer = _layer((4, 8), -1, True, True)
    assert layer.fusable(True, None) == (backend.FUSED_BATCH_NORM is not None)
    assert not layer.fusable(False, None) and not layer.fusable(True, ops.ones((4,)))
    assert (backend.FUSED_BATCH_NORM is not None) == (backend.NAME == "torch")


@pytest.mark.parametrize("shape, axis, center, scale", CASES)
def test_training_call_equals_numpy(shape, axis, center, scale):
    layer = _layer(shape, axis, center, scale)
    weights = {v.name: _np(v) for v in layer.weights}
    x = _x(shape)
    y = _np(layer(x, training=True))
    expected, mean, var = _numpy_bn(x.astype("float64"), axis, weights.get("gamma"), weights.get("beta"), 1e-3)
    np.testing.assert_allclose(y, expected, atol=2e-5)
    np.testing.assert_allclose(_np(layer.moving_mean), 0.8 * weights["moving_mean"] + 0.2 * mean, rtol=1e-5)
    np.testing.assert_allclose(_np(layer.moving_variance), 0.8 * weights["moving_variance"] + 0.2 * var,
                               rtol=1e-5)
    # Inference normalizes with the moving statistics.
    shape_c = [1] * len(shape)
    shape_c[axis] = shape[axis]
    mm, mv = (_np(v).reshape(shape_c) for v in (layer.moving_mean, layer.moving_variance))
    inference = (x - mm) / np.sqrt(mv + 1e-3) * weights.get("gamma", np.ones(1)).reshape(
        shape_c if scale else [1]) + weights.get("beta", np.zeros(1)).reshape(shape_c if center else [1])
    np.testing.assert_allclose(_np(layer(x, training=False)), inference, atol=2e-5)
    # A wrong reduction axis gives another answer: the comparison can fail.
    wrong = _numpy_bn(x.astype("float64"), 0, None, None, 1e-3)[0]
    assert np.abs(_np(layer(x, training=True)) - wrong).max() > 0.1


@pytest.mark.parametrize("shape, axis, center, scale", CASES)
def test_gradients_equal_keras(shape, axis, center, scale):
    layer = _layer(shape, axis, center, scale)
    x = ops.convert_to_tensor(_x(shape))
    g = ops.convert_to_tensor(_x(shape, seed=2))

    def grads():
        y, dx = backend.input_grad(lambda t: layer(t, training=True) * g, x)
        dw = []
        if layer.trainable_variables:
            _, _, dw = backend.value_and_grad(lambda: (ops.sum(layer(x, training=True) * g), {}),
                                              layer.trainable_variables)
        return [_np(y), _np(dx)] + [_np(d) for d in dw]

    fused = grads()
    layer.fused = False
    for a, b in zip(fused, grads()):
        np.testing.assert_allclose(a, b, atol=1e-4, rtol=1e-4)


def test_double_backprop_equals_keras():
    # d/d(gamma, beta) of a gradient-norm penalty through BN (WGAN-GP / R1 through a BN critic).
    layer = _layer((6, 3, 3, 4), -1, True, True)
    x = ops.convert_to_tensor(_x((6, 3, 3, 4)))
    w = ops.convert_to_tensor(_x((6, 3, 3, 4), seed=3))

    def penalty():
        def loss():
            _, dx = backend.input_grad(lambda t: ops.sum(ops.tanh(layer(t, training=True)) * w, axis=(1, 2, 3)), x)
            return ops.sum(ops.square(dx)), {}

        return [_np(d) for d in backend.value_and_grad(loss, layer.trainable_variables)[2]]

    fused = penalty()
    layer.fused = False
    for a, b in zip(fused, penalty()):
        np.testing.assert_allclose(a, b, atol=1e-4, rtol=1e-4)
    assert max(np.abs(a).max() for a in fused) > 1e-3  # the penalty's gradient is not trivially zero


def test_mixed_precision_keeps_float32_statistics():
    layer = BatchNormalization(dtype="mixed_bfloat16", epsilon=1e-3)
    x = _x((8, 4, 4, 6))
    y = layer(ops.cast(x, "bfloat16"), training=True)
    assert keras.backend.standardize_dtype(y.dtype) == "bfloat16"
    assert keras.backend.standardize_dtype(layer.moving_mean.dtype) == "float32"
    expected = _numpy_bn(_np(ops.cast(ops.cast(x, "bfloat16"), "float32")), -1, None, None, 1e-3)[0]
    np.testing.assert_allclose(_np(y), expected, atol=0.05)


def test_serializes_and_loads_as_keras_weights(tmp_path):
    layer = _layer((4, 8), -1, True, True)
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(clone) is BatchNormalization and clone.get_config() == layer.get_config()
    # The same variables as Keras's layer: its weights load into ours and back.
    ref = keras.layers.BatchNormalization(**{k: v for k, v in layer.get_config().items() if k != "name"})
    ref.build((4, 8))
    ref.set_weights(layer.get_weights())
    assert [v.path.split("/")[-1] for v in ref.weights] == [v.path.split("/")[-1] for v in layer.weights]
    x = _x((4, 8))
    np.testing.assert_allclose(_np(ref(x, training=False)), _np(layer(x, training=False)), atol=1e-6)


def test_sync_batchnorm_on_one_replica_takes_the_same_path():
    sync, plain = _layer((4, 3, 3, 5), -1, True, True, SyncBatchNormalization), _layer((4, 3, 3, 5), -1, True, True)
    assert sync.fusable(True, None) == plain.fusable(True, None)
    x = _x((4, 3, 3, 5))
    np.testing.assert_allclose(_np(sync(x, training=True)), _np(plain(x, training=True)), atol=1e-6)
