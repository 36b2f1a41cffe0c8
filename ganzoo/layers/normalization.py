"""Virtual batch normalization (Salimans et al. 2016, arXiv 1606.03498, Sec. 3.4).

Each example is normalized with the statistics of a reference batch ``R``,
chosen once and fixed, combined with the example itself; the reference batch
is normalized with its own statistics only (reference batch normalization).
An example's output therefore does not depend on the other examples of its
minibatch, which is the point of VBN.

How the reference reaches every layer: the reference's activations change
with the weights, so they must flow through the same network as the batch. The
network input is ``concat([reference, batch])`` and every
``VirtualBatchNormalization(reference_size=|R|)`` treats its first ``|R|`` rows
as the reference. ``PrependReference`` stores the fixed reference (a
non-trainable weight, saved with the model) and prepends it; ``DropReference``
removes those rows at the end, so the network still maps ``N`` rows to ``N``
rows and trains with an unchanged GAN step::

    z_ref = np.random.default_rng(0).standard_normal((64, 128))
    generator = keras.Sequential([
        keras.Input((128,)),
        PrependReference(z_ref),
        keras.layers.Dense(256), VirtualBatchNormalization(64), keras.layers.ReLU(),
        keras.layers.Dense(256), VirtualBatchNormalization(64), keras.layers.ReLU(),
        keras.layers.Dense(2),
        DropReference(64),
    ])

Layers between them must act row by row (Dense, conv, activations), not mix
rows (BatchNormalization, MinibatchStdDev).
"""

import keras
from keras import ops


def _check_reference_size(reference_size):
    if int(reference_size) != reference_size or reference_size < 1:
        raise ValueError(f"reference_size must be an integer >= 1, got {reference_size!r}.")
    return int(reference_size)


@keras.saving.register_keras_serializable(package="ganzoo")
class VirtualBatchNormalization(keras.layers.Layer):
    """Normalizes each example with reference-batch statistics plus its own.

    The input's first ``reference_size`` rows are the reference batch ``R``.
    Per channel (last axis), with means over the batch and spatial axes for the
    reference and over the spatial axes only for an example ``x``:
    ``mu = |R|/(|R|+1) * mean_R + 1/(|R|+1) * mean_x`` and likewise for the mean
    of squares; ``var = E[x^2] - mu^2``; ``y = gamma * (x - mu) / sqrt(var + eps)
    + beta``. The reference rows use ``mean_R`` and ``var_R`` alone. Train and
    inference behave the same (there are no moving statistics). The output
    keeps all rows, reference first, for the next VBN layer.

    Args:
        reference_size: ``|R|``, how many leading rows are the reference.
        epsilon: added to the variance.
        center: learn an offset ``beta``.
        scale: learn a scale ``gamma``.
        beta_initializer: initializer of ``beta``.
        gamma_initializer: initializer of ``gamma``.

    Example:
        >>> vbn = VirtualBatchNormalization(reference_size=16)
        >>> x = np.random.randn(16 + 4, 8, 8, 3)   # reference rows, then the batch
        >>> tuple(vbn(x).shape)
        (20, 8, 8, 3)
    """

    def __init__(
        self,
        reference_size,
        epsilon=1e-5,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.reference_size = _check_reference_size(reference_size)
        if not epsilon > 0:
            raise ValueError(f"epsilon must be > 0, got {epsilon!r}.")
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = keras.initializers.get(beta_initializer)
        self.gamma_initializer = keras.initializers.get(gamma_initializer)

    def build(self, input_shape):
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise ValueError(
                "VirtualBatchNormalization needs (N, ..., C) input with a known "
                f"channel count, got {input_shape}."
            )
        batch = input_shape[0]
        if batch is not None and batch <= self.reference_size:
            raise ValueError(
                f"The input has {batch} rows but reference_size={self.reference_size}: "
                "prepend the reference batch (PrependReference) to the examples."
            )
        channels = (input_shape[-1],)
        self.gamma = None
        self.beta = None
        if self.scale:
            self.gamma = self.add_weight(name="gamma", shape=channels, initializer=self.gamma_initializer)
        if self.center:
            self.beta = self.add_weight(name="beta", shape=channels, initializer=self.beta_initializer)
        self.built = True

    def _normalize(self, x, mean, mean_sq):
        var = ops.maximum(mean_sq - ops.square(mean), 0.0)
        y = (x - mean) * ops.rsqrt(var + self.epsilon)
        if self.gamma is not None:
            y = y * ops.cast(self.gamma, y.dtype)
        if self.beta is not None:
            y = y + ops.cast(self.beta, y.dtype)
        return y

    def call(self, inputs):
        dtype = inputs.dtype
        # Statistics of half-precision activations are taken in float32.
        x = ops.cast(inputs, "float32") if dtype in ("float16", "bfloat16") else inputs
        r = self.reference_size
        ref, live = x[:r], x[r:]
        rank = len(x.shape)
        ref_axes = tuple(range(rank - 1))
        ref_mean = ops.mean(ref, axis=ref_axes, keepdims=True)
        ref_mean_sq = ops.mean(ops.square(ref), axis=ref_axes, keepdims=True)

        spatial = tuple(range(1, rank - 1))
        if spatial:
            ex_mean = ops.mean(live, axis=spatial, keepdims=True)
            ex_mean_sq = ops.mean(ops.square(live), axis=spatial, keepdims=True)
        else:
            ex_mean, ex_mean_sq = live, ops.square(live)
        new = 1.0 / (r + 1.0)
        old = 1.0 - new
        mean = old * ref_mean + new * ex_mean
        mean_sq = old * ref_mean_sq + new * ex_mean_sq

        out = ops.concatenate(
            [self._normalize(ref, ref_mean, ref_mean_sq), self._normalize(live, mean, mean_sq)],
            axis=0,
        )
        return ops.cast(out, dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({
            "reference_size": self.reference_size,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": keras.initializers.serialize(self.beta_initializer),
            "gamma_initializer": keras.initializers.serialize(self.gamma_initializer),
        })
        return config


@keras.saving.register_keras_serializable(package="ganzoo")
class PrependReference(keras.layers.Layer):
    """Prepends a fixed reference batch to every input batch (for VBN).

    The reference is a non-trainable weight, so it is saved and restored with
    the model; the config keeps only its shape.

    Args:
        reference: array ``(|R|, *feature_shape)``, the reference inputs
            (e.g. latent vectors drawn once before training).
        reference_shape: the shape alone, when restoring from a config (the
            values then come from the saved weights).

    Example:
        >>> layer = PrependReference(np.zeros((16, 8), "float32"))
        >>> tuple(layer(np.ones((4, 8), "float32")).shape)
        (20, 8)
    """

    def __init__(self, reference=None, reference_shape=None, **kwargs):
        super().__init__(**kwargs)
        if (reference is None) == (reference_shape is None):
            raise ValueError("Pass exactly one of `reference` (an array) or `reference_shape`.")
        if reference is not None:
            reference_shape = tuple(ops.shape(reference))
        reference_shape = tuple(int(d) for d in reference_shape)
        if len(reference_shape) < 1 or reference_shape[0] < 1:
            raise ValueError(f"The reference needs at least one row, got shape {reference_shape}.")
        self.reference_shape = reference_shape
        self.reference = self.add_weight(
            name="reference", shape=reference_shape, initializer="zeros", trainable=False,
            autocast=False,
        )
        if reference is not None:
            self.reference.assign(ops.cast(reference, self.reference.dtype))

    @property
    def reference_size(self):
        """``|R|``, the number of rows prepended."""
        return self.reference_shape[0]

    def build(self, input_shape):
        if tuple(input_shape[1:]) != self.reference_shape[1:]:
            raise ValueError(
                f"Input rows have shape {tuple(input_shape[1:])} but reference rows have "
                f"shape {self.reference_shape[1:]}; they must match."
            )
        self.built = True

    def call(self, inputs):
        return ops.concatenate([ops.cast(self.reference, inputs.dtype), inputs], axis=0)

    def compute_output_shape(self, input_shape):
        batch = None if input_shape[0] is None else input_shape[0] + self.reference_size
        return (batch,) + tuple(input_shape[1:])

    def get_config(self):
        config = super().get_config()
        config["reference_shape"] = list(self.reference_shape)
        return config


@keras.saving.register_keras_serializable(package="ganzoo")
class DropReference(keras.layers.Layer):
    """Removes the first ``reference_size`` rows (the VBN reference batch).

    Example:
        >>> tuple(DropReference(16)(np.ones((20, 3))).shape)
        (4, 3)
    """

    def __init__(self, reference_size, **kwargs):
        super().__init__(**kwargs)
        self.reference_size = _check_reference_size(reference_size)

    def call(self, inputs):
        return inputs[self.reference_size:]

    def compute_output_shape(self, input_shape):
        batch = None if input_shape[0] is None else input_shape[0] - self.reference_size
        return (batch,) + tuple(input_shape[1:])

    def get_config(self):
        config = super().get_config()
        config["reference_size"] = self.reference_size
        return config
