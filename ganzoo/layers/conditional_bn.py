"""Conditional batch normalization: BN whose gain and bias are predicted per sample.

`out = BN(x) * (1 + gain(c)) + bias(c)`, BN without its own affine terms.
Two ways to predict them:

* from a condition *vector* `c` (BigGAN, Brock et al. 2019, section 3: the
  shared class embedding concatenated with a chunk of z): `gain` and `bias`
  are linear maps without bias, spectrally normalized in BigGAN;
* from *class ids* `y` (de Vries et al. 2017; the SNGAN projection generator
  of Miyato & Koyama 2018; BigGAN-PyTorch without `G_shared`): `gain` and
  `bias` are per-class embeddings.

The `1 +` makes a zero-initialised (or small) predictor start as plain BN.

Example:
    >>> cbn = ConditionalBatchNormalization()                 # vector condition
    >>> h = cbn([np.ones((2, 4, 4, 8), "float32"), np.ones((2, 5), "float32")])
    >>> cbn10 = ConditionalBatchNormalization(num_classes=10)   # class ids
    >>> h = cbn10([np.ones((2, 4, 4, 8), "float32"), np.array([3, 7])])
"""

import keras
from keras import ops

from ganzoo.layers.batch_norm import BatchNormalization
from ganzoo.layers.spectral_norm import SpectralNormalization


def fresh_initializer(identifier):
    """A new initializer object from an identifier or a serialized config.

    Unseeded Keras initializers fix their seed when constructed, so one
    object shared by two same-shaped weights would give them equal values;
    every weight gets its own object.

    Example:
        >>> a, b = fresh_initializer("orthogonal"), fresh_initializer("orthogonal")
        >>> a is b
        False
    """
    config = identifier
    if isinstance(identifier, keras.initializers.Initializer):
        config = keras.initializers.serialize(identifier)
    return keras.initializers.get(config if not isinstance(config, dict) else dict(config))


def serialize_initializer(identifier):
    """An initializer identifier as its Keras config (for `get_config`).

    Example:
        >>> serialize_initializer("zeros")["class_name"]
        'Zeros'
    """
    return keras.initializers.serialize(keras.initializers.get(identifier))


@keras.saving.register_keras_serializable(package="ganzoo")
class ConditionalBatchNormalization(keras.layers.Layer):
    """Batch normalization with per-sample gain `1 + gain(c)` and bias `bias(c)`.

    Called on `[x, c]`: `x` (N, H, W, C) features; `c` a float condition
    vector (N, d) when `num_classes == 0`, else int class ids (N,).

    Args:
        num_classes: 0: `c` is a vector and gain / bias are `Dense(C,
            use_bias=False)` maps (named "gain", "bias"); K > 0: `c` holds
            class ids and gain / bias are `Embedding(K, C)` tables.
        spectral_norm: wrap the two Dense maps in `SpectralNormalization`
            (BigGAN). Embedding tables are never normalized here (as in
            BigGAN-PyTorch, whose class-table ccbn uses plain embeddings).
        momentum, epsilon: of the normalization (Keras convention: 0.9 is
            PyTorch's 0.1).
        kernel_initializer: initializer of the gain / bias weights.

    Example:
        >>> cbn = ConditionalBatchNormalization(spectral_norm=True)
        >>> out = cbn([x, c], training=True)
    """

    def __init__(self, num_classes=0, spectral_norm=False, momentum=0.9, epsilon=1e-5,
                 kernel_initializer="orthogonal", **kwargs):
        super().__init__(**kwargs)
        if isinstance(num_classes, bool) or int(num_classes) != num_classes or num_classes < 0:
            raise ValueError(f"num_classes must be an integer >= 0 (0: vector condition), got {num_classes!r}.")
        self.num_classes = int(num_classes)
        self.spectral_norm = bool(spectral_norm)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.kernel_initializer = serialize_initializer(kernel_initializer)
        self.bn = BatchNormalization(
            center=False, scale=False, momentum=self.momentum, epsilon=self.epsilon, name="bn"
        )

    def _predictor(self, channels, name):
        if self.num_classes:
            return keras.layers.Embedding(
                self.num_classes, channels, embeddings_initializer=fresh_initializer(self.kernel_initializer), name=name
            )
        layer = keras.layers.Dense(
            channels, use_bias=False, kernel_initializer=fresh_initializer(self.kernel_initializer), name=name
        )
        return SpectralNormalization(layer, name=f"{name}_sn") if self.spectral_norm else layer

    def build(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) != 2 or not isinstance(
            input_shape[0], (list, tuple)
        ):
            raise ValueError(
                "ConditionalBatchNormalization is called on [x, c]: features (N, H, W, C) and a condition "
                f"(N, d) or class ids (N,); got input shape {input_shape}."
            )
        x_shape, c_shape = tuple(input_shape[0]), tuple(input_shape[1])
        channels = int(x_shape[-1])
        self.bn.build(x_shape)
        self.gain = self._predictor(channels, "gain")
        self.bias = self._predictor(channels, "bias")
        self.gain.build(c_shape)
        self.bias.build(c_shape)
        self.built = True

    def call(self, inputs, training=None):
        x, c = inputs
        h = self.bn(x, training=training)
        if self.num_classes:
            c = ops.cast(c, "int32")
            gain, bias = self.gain(c), self.bias(c)
        else:
            gain, bias = self.gain(c, training=training), self.bias(c, training=training)
        shape = (-1,) + (1,) * (len(x.shape) - 2) + (int(x.shape[-1]),)
        gain = ops.reshape(ops.cast(gain, h.dtype), shape)
        bias = ops.reshape(ops.cast(bias, h.dtype), shape)
        return h * (1.0 + gain) + bias

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def get_config(self):
        config = super().get_config()
        config.update(
            num_classes=self.num_classes,
            spectral_norm=self.spectral_norm,
            momentum=self.momentum,
            epsilon=self.epsilon,
            kernel_initializer=self.kernel_initializer,
        )
        return config
