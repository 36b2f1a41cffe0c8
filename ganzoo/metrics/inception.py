"""The FID Inception network (TF graph `inception-2015-12-05`) in Keras layers.

FID, IS and KID are only comparable across papers when they are computed with
the exact network of the original TTUR / OpenAI code: the 2015 TensorFlow
Inception graph. pytorch-fid ported it to PyTorch (`pt_inception-2015-12-05-
6726825d.pth`); this module rebuilds the same graph from Keras layers so it runs
on TensorFlow, JAX and PyTorch and loads that file. It differs from the usual
Inception-v3 in three places, all kept here:

* 1008 output classes (the 2015 graph has 8 unused classes);
* every average-pool branch excludes the zero padding from its mean (TF's
  `SAME` pooling; torchvision counts the padding);
* the last block (`Mixed_7c`, pytorch-fid's `FIDInceptionE_2`) pools its fourth
  branch with max-pooling instead of average-pooling.

The network takes 299x299 RGB in [0, 255] and normalises with (x - 128) / 128, as
the graph does; `ganzoo.metrics.extractor` adds the graph's legacy resize and
batching. Blocks are layers with a plain `call` (not a functional graph), so
eager backends free each activation as soon as it is used.

Layer names follow pytorch-fid's module paths with "." replaced by "_": the
kernel of `Mixed_5b.branch1x1.conv.weight` lives in layer `Mixed_5b_branch1x1_conv`.
"""

import keras
from keras import layers
from keras import ops

from ganzoo import backend

INPUT_SIZE = 299
NUM_CLASSES = 1008
POOL_DIM = 2048
BN_EPSILON = 1e-3  # torchvision's BasicConv2d, as in the TF graph


def default_data_format():
    """The faster layout for the current backend: NCHW for torch, NHWC otherwise.

    PyTorch convolutions are native NCHW (Keras would transpose around every
    layer otherwise); TensorFlow's CPU convolutions only support NHWC.

    Example:
    >>> default_data_format() in ("channels_first", "channels_last")
    True
    """
    return backend.preferred_data_format()


class BasicConv2D(layers.Layer):
    """Convolution without bias, BatchNorm (eps 1e-3, with scale), ReLU.

    Example:
    >>> conv = BasicConv2D(32, 3, strides=2, name="Conv2d_1a_3x3")
    >>> conv.conv.name, conv.bn.name
    ('Conv2d_1a_3x3_conv', 'Conv2d_1a_3x3_bn')
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format="channels_last", **kwargs):
        super().__init__(**kwargs)
        self.conv = layers.Conv2D(
            filters,
            kernel_size,
            strides=strides,
            padding=padding,
            use_bias=False,
            data_format=data_format,
            kernel_initializer="zeros",  # always loaded; random init is slow under JAX
            name=f"{self.name}_conv",
        )
        axis = 1 if data_format == "channels_first" else -1
        self.bn = layers.BatchNormalization(axis=axis, epsilon=BN_EPSILON, name=f"{self.name}_bn")

    def build(self, input_shape):
        self.conv.build(input_shape)
        self.bn.build(self.conv.compute_output_shape(input_shape))

    def call(self, x):
        # Inference BatchNorm folded into the convolution: one pass over the
        # activations instead of four elementwise ones (same result up to rounding).
        bn = self.bn
        scale = bn.gamma * ops.rsqrt(bn.moving_variance + bn.epsilon)
        shift = bn.beta - bn.moving_mean * scale
        if self.conv.data_format == "channels_first":
            shift = ops.reshape(shift, (-1, 1, 1))
        y = ops.conv(
            x,
            self.conv.kernel * scale,
            strides=self.conv.strides,
            padding=self.conv.padding,
            data_format=self.conv.data_format,
        )
        return ops.relu(y + shift)


class _Block(layers.Layer):
    """An Inception block: parallel branches concatenated along channels."""

    def __init__(self, data_format="channels_last", **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format
        self.axis = 1 if data_format == "channels_first" else -1

    def conv(self, branch, filters, kernel_size, strides=1, same=False):
        return BasicConv2D(
            filters,
            kernel_size,
            strides=strides,
            padding="same" if same else "valid",
            data_format=self.data_format,
            name=f"{self.name}_{branch}",
        )

    def avg_pool(self):
        # Keras "same" average pooling excludes the padding on every backend:
        # TF's behaviour, pytorch-fid's count_include_pad=False.
        return layers.AveragePooling2D(3, strides=1, padding="same", data_format=self.data_format)

    def max_pool(self, strides=2, padding="valid"):
        return layers.MaxPooling2D(3, strides=strides, padding=padding, data_format=self.data_format)

    def concat(self, tensors):
        return ops.concatenate(tensors, axis=self.axis)


class InceptionA(_Block):
    """Mixed_5b/5c/5d: 1x1, 5x5, double 3x3 and pooled branches.

    Example:
    >>> InceptionA(32, name="Mixed_5b").branch_pool.conv.name
    'Mixed_5b_branch_pool_conv'
    """

    def __init__(self, pool_features, **kwargs):
        super().__init__(**kwargs)
        self.branch1x1 = self.conv("branch1x1", 64, 1)
        self.branch5x5_1 = self.conv("branch5x5_1", 48, 1)
        self.branch5x5_2 = self.conv("branch5x5_2", 64, 5, same=True)
        self.branch3x3dbl_1 = self.conv("branch3x3dbl_1", 64, 1)
        self.branch3x3dbl_2 = self.conv("branch3x3dbl_2", 96, 3, same=True)
        self.branch3x3dbl_3 = self.conv("branch3x3dbl_3", 96, 3, same=True)
        self.pool = self.avg_pool()
        self.branch_pool = self.conv("branch_pool", pool_features, 1)

    def call(self, x):
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return self.concat([self.branch1x1(x), b5, b3, self.branch_pool(self.pool(x))])


class InceptionB(_Block):
    """Mixed_6a: grid reduction 35 -> 17.

    Example:
    >>> InceptionB(name="Mixed_6a").branch3x3.conv.strides
    (2, 2)
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.branch3x3 = self.conv("branch3x3", 384, 3, strides=2)
        self.branch3x3dbl_1 = self.conv("branch3x3dbl_1", 64, 1)
        self.branch3x3dbl_2 = self.conv("branch3x3dbl_2", 96, 3, same=True)
        self.branch3x3dbl_3 = self.conv("branch3x3dbl_3", 96, 3, strides=2)
        self.pool = self.max_pool()

    def call(self, x):
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return self.concat([self.branch3x3(x), b3, self.pool(x)])


class InceptionC(_Block):
    """Mixed_6b..6e: factorised 7x7 convolutions with `channels_7x7` inner channels.

    Example:
    >>> InceptionC(128, name="Mixed_6b").branch7x7[1].conv.kernel_size
    (1, 7)
    """

    def __init__(self, channels_7x7, **kwargs):
        super().__init__(**kwargs)
        c7 = channels_7x7
        self.branch1x1 = self.conv("branch1x1", 192, 1)
        self.branch7x7 = [
            self.conv("branch7x7_1", c7, 1),
            self.conv("branch7x7_2", c7, (1, 7), same=True),
            self.conv("branch7x7_3", 192, (7, 1), same=True),
        ]
        self.branch7x7dbl = [
            self.conv("branch7x7dbl_1", c7, 1),
            self.conv("branch7x7dbl_2", c7, (7, 1), same=True),
            self.conv("branch7x7dbl_3", c7, (1, 7), same=True),
            self.conv("branch7x7dbl_4", c7, (7, 1), same=True),
            self.conv("branch7x7dbl_5", 192, (1, 7), same=True),
        ]
        self.pool = self.avg_pool()
        self.branch_pool = self.conv("branch_pool", 192, 1)

    def call(self, x):
        b7, bd = x, x
        for layer in self.branch7x7:
            b7 = layer(b7)
        for layer in self.branch7x7dbl:
            bd = layer(bd)
        return self.concat([self.branch1x1(x), b7, bd, self.branch_pool(self.pool(x))])


class InceptionD(_Block):
    """Mixed_7a: grid reduction 17 -> 8.

    Example:
    >>> len(InceptionD(name="Mixed_7a").branch7x7x3)
    4
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.branch3x3_1 = self.conv("branch3x3_1", 192, 1)
        self.branch3x3_2 = self.conv("branch3x3_2", 320, 3, strides=2)
        self.branch7x7x3 = [
            self.conv("branch7x7x3_1", 192, 1),
            self.conv("branch7x7x3_2", 192, (1, 7), same=True),
            self.conv("branch7x7x3_3", 192, (7, 1), same=True),
            self.conv("branch7x7x3_4", 192, 3, strides=2),
        ]
        self.pool = self.max_pool()

    def call(self, x):
        b7 = x
        for layer in self.branch7x7x3:
            b7 = layer(b7)
        return self.concat([self.branch3x3_2(self.branch3x3_1(x)), b7, self.pool(x)])


class InceptionE(_Block):
    """Mixed_7b (average-pool branch) and Mixed_7c (max-pool branch, `pool="max"`).

    Example:
    >>> type(InceptionE(pool="max", name="Mixed_7c").pool).__name__
    'MaxPooling2D'
    """

    def __init__(self, pool="avg", **kwargs):
        super().__init__(**kwargs)
        self.branch1x1 = self.conv("branch1x1", 320, 1)
        self.branch3x3_1 = self.conv("branch3x3_1", 384, 1)
        self.branch3x3_2a = self.conv("branch3x3_2a", 384, (1, 3), same=True)
        self.branch3x3_2b = self.conv("branch3x3_2b", 384, (3, 1), same=True)
        self.branch3x3dbl_1 = self.conv("branch3x3dbl_1", 448, 1)
        self.branch3x3dbl_2 = self.conv("branch3x3dbl_2", 384, 3, same=True)
        self.branch3x3dbl_3a = self.conv("branch3x3dbl_3a", 384, (1, 3), same=True)
        self.branch3x3dbl_3b = self.conv("branch3x3dbl_3b", 384, (3, 1), same=True)
        # The 2015 graph max-pools in its last block (pytorch-fid's FIDInceptionE_2).
        self.pool = self.max_pool(strides=1, padding="same") if pool == "max" else self.avg_pool()
        self.branch_pool = self.conv("branch_pool", 192, 1)

    def call(self, x):
        b3 = self.branch3x3_1(x)
        b3 = self.concat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)])
        bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = self.concat([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)])
        return self.concat([self.branch1x1(x), b3, bd, self.branch_pool(self.pool(x))])


class FIDInceptionV3(keras.Model):
    """The FID Inception network; `call` maps (N, 299, 299, 3) [0, 255] to (pool, logits).

    `pool` is the 2048-d final average pool ("pool_3" in the TF graph), `logits`
    the 1008 class logits. `data_format` picks the internal layout (default:
    the faster for the backend); inputs are always NHWC and the weights are the
    same in both layouts. Use `build_fid_inception()` for a built instance.

    Example:
    >>> net = build_fid_inception()
    >>> pool, logits = net(np.zeros((1, 299, 299, 3), "float32"))  # doctest: +SKIP
    >>> tuple(pool.shape), tuple(logits.shape)                      # doctest: +SKIP
    ((1, 2048), (1, 1008))
    """

    def __init__(self, data_format=None, name="fid_inception_v3", **kwargs):
        super().__init__(name=name, **kwargs)
        data_format = data_format or default_data_format()
        if data_format not in ("channels_first", "channels_last"):
            raise ValueError(
                f"data_format must be 'channels_first' or 'channels_last', got {data_format!r}"
            )
        self.data_format = data_format
        fmt = {"data_format": data_format}
        self.stem = [
            BasicConv2D(32, 3, strides=2, name="Conv2d_1a_3x3", **fmt),
            BasicConv2D(32, 3, name="Conv2d_2a_3x3", **fmt),
            BasicConv2D(64, 3, padding="same", name="Conv2d_2b_3x3", **fmt),
            layers.MaxPooling2D(3, strides=2, name="maxpool1", **fmt),
            BasicConv2D(80, 1, name="Conv2d_3b_1x1", **fmt),
            BasicConv2D(192, 3, name="Conv2d_4a_3x3", **fmt),
            layers.MaxPooling2D(3, strides=2, name="maxpool2", **fmt),
        ]
        self.mixed = [
            InceptionA(32, name="Mixed_5b", **fmt),
            InceptionA(64, name="Mixed_5c", **fmt),
            InceptionA(64, name="Mixed_5d", **fmt),
            InceptionB(name="Mixed_6a", **fmt),
            InceptionC(128, name="Mixed_6b", **fmt),
            InceptionC(160, name="Mixed_6c", **fmt),
            InceptionC(160, name="Mixed_6d", **fmt),
            InceptionC(192, name="Mixed_6e", **fmt),
            InceptionD(name="Mixed_7a", **fmt),
            InceptionE(pool="avg", name="Mixed_7b", **fmt),
            InceptionE(pool="max", name="Mixed_7c", **fmt),
        ]
        self.global_pool = layers.GlobalAveragePooling2D(name="pool", **fmt)
        self.fc = layers.Dense(NUM_CLASSES, kernel_initializer="zeros", name="fc")

    def call(self, images):
        x = (ops.cast(images, "float32") - 128.0) / 128.0  # the graph's Sub and Mul
        if self.data_format == "channels_first":
            x = ops.transpose(x, (0, 3, 1, 2))
        for layer in self.stem + self.mixed:
            x = layer(x)
        pool = self.global_pool(x)
        return pool, self.fc(pool)


def build_fid_inception(data_format=None):
    """Build the FID Inception network, weights not loaded yet (see `FIDInceptionV3`).

    Kernels start at zero; `load_inception()` or
    `ganzoo.metrics.inception_weights.load_weights` fill them.

    Example:
    >>> net = build_fid_inception()
    >>> net.count_params()
    23885392
    """
    network = FIDInceptionV3(data_format=data_format)
    network(keras.KerasTensor((None, INPUT_SIZE, INPUT_SIZE, 3)))  # builds every layer
    return network
