"""BigGAN-deep generator and discriminator (Brock et al. 2019, appendix B), NHWC Keras models.

The generator is DeepMind's TF-Hub BigGAN-deep as pytorch-pretrained-biggan
lays it out: class embedding (a plain linear map of the one-hot label) concatenated with
z into the condition vector `c = [z, embed(y)]` (no z chunks: BigGAN-deep
feeds all of c to every block), a spectrally normalized linear layer to a
4x4x(16 ch) map, `GBlock`s with self-attention before block
`attention_position`, a final plain BN (per-truncation statistics), ReLU,
3x3 conv to `ch` channels of which the first 3 are the image, tanh.

`layers` lists the blocks as `(upsample, in_multiplier, out_multiplier)`
of `ch`, as the port's `config.json`; `default_layers(resolution)` gives
the published 128/256/512 layouts. The discriminator mirrors the generator
(BigGAN-PyTorch's `BigGANdeep.Discriminator`): a 3x3 stem, the generator's
blocks reversed as `DBlock`s (downsampling where G upsamples), attention at
the same resolution, ReLU, global sum pooling, a linear output plus the
projection term `<embed(y), h>` (Miyato & Koyama 2018).

Example:
    >>> G = biggan_deep_generator(resolution=128, ch=4, z_dim=8, num_classes=10)
    >>> D = biggan_deep_discriminator(resolution=128, ch=4, num_classes=10)
    >>> x = G([np.zeros((2, 8), "float32"), np.array([1, 2])])
    >>> tuple(x.shape), tuple(D([x, np.array([1, 2])]).shape)
    ((2, 128, 128, 3), (2,))
"""

import keras
from keras import ops

from ganzoo.engine import registry
from ganzoo.layers.spectral_norm import SpectralNormalization
from ganzoo.models.biggan_deep.layers import Attention, DBlock, GBlock, Normal02, TruncationBatchNorm, sn_conv, sn_dense

_register = keras.saving.register_keras_serializable(package="ganzoo")

_BASE = [(False, 16, 16), (True, 16, 16), (False, 16, 16), (True, 16, 8), (False, 8, 8)]
# The published layouts (pytorch-pretrained-biggan's convert_tf_to_pytorch.BigGAN128/256/512).
_TAILS = {
    128: [(True, 8, 4), (False, 4, 4), (True, 4, 2), (False, 2, 2), (True, 2, 1)],
    256: [(True, 8, 8), (False, 8, 8), (True, 8, 4), (False, 4, 4), (True, 4, 2), (False, 2, 2), (True, 2, 1)],
    512: [(True, 8, 8), (False, 8, 8), (True, 8, 4), (False, 4, 4), (True, 4, 2), (False, 2, 2), (True, 2, 1),
          (False, 1, 1), (True, 1, 1)],
}
RESOLUTIONS = tuple(sorted(_TAILS))


def default_layers(resolution):
    """The published BigGAN-deep block list for 128, 256 or 512 pixels.

    Example:
        >>> len(default_layers(128)), sum(up for up, _, _ in default_layers(256))
        (10, 6)
    """
    if resolution not in _TAILS:
        raise ValueError(
            f"BigGAN-deep has published layouts for resolutions {RESOLUTIONS}, got {resolution!r}; "
            "pass `layers=[(upsample, in_mult, out_mult), ...]` for another one."
        )
    return [tuple(layer) for layer in _BASE + _TAILS[resolution]]


def _check_layers(layers, resolution):
    layers = [(bool(up), int(a), int(b)) for up, a, b in layers]
    ups = sum(up for up, _, _ in layers)
    if 4 * 2 ** ups != resolution:
        raise ValueError(
            f"layers upsample {ups} times (4x4 -> {4 * 2 ** ups}x{4 * 2 ** ups}) but resolution is {resolution}; "
            f"a resolution of 4 * 2**k needs k upsampling blocks."
        )
    for i in range(1, len(layers)):
        if layers[i][1] != layers[i - 1][2]:
            raise ValueError(f"layers[{i}] takes {layers[i][1]} x ch channels but layers[{i - 1}] gives {layers[i - 1][2]}.")
    return layers


@_register
class Generator(keras.Model):
    """BigGAN-deep generator: `G([z, y])` or `G([z, y, stat_weights])` -> (N, R, R, 3) in [-1, 1].

    `y` is int class ids (N,) or class vectors (N, num_classes) (one-hot, or
    a blend for class interpolation). `stat_weights` (n_stats,) chooses the
    standing BN statistics in inference (`layers.truncation_weights(t)`;
    default: those of truncation 1.0); training uses batch statistics.

    Example:
        >>> G = Generator(resolution=128, ch=4, z_dim=8, num_classes=10)
        >>> tuple(G([np.zeros((1, 8), "float32"), np.array([3])]).shape)
        (1, 128, 128, 3)
    """

    def __init__(self, resolution=128, ch=128, z_dim=128, num_classes=1000, layers=None, attention_position=8,
                 n_stats=51, eps=1e-4, **kwargs):
        super().__init__(**kwargs)
        self.resolution, self.ch, self.z_dim = int(resolution), int(ch), int(z_dim)
        self.num_classes, self.n_stats, self.eps = int(num_classes), int(n_stats), float(eps)
        self.layer_spec = _check_layers(layers if layers is not None else default_layers(self.resolution),
                                        self.resolution)
        self.attention_position = None if attention_position is None else int(attention_position)
        cond = 2 * self.z_dim
        self.embeddings = keras.layers.Embedding(self.num_classes, self.z_dim, embeddings_initializer=Normal02(), name="embeddings")
        self.gen_z = sn_dense(4 * 4 * 16 * self.ch, eps=self.eps, name="gen_z")
        self.blocks, self.attention = [], None
        for i, (up, a, b) in enumerate(self.layer_spec):
            if i == self.attention_position:
                self.attention = Attention(a * self.ch, eps=self.eps, name="attention")
            self.blocks.append(GBlock(a * self.ch, b * self.ch, cond, upsample=up, n_stats=self.n_stats,
                                      eps=self.eps, name=f"block_{i}"))
        self.bn = TruncationBatchNorm(self.layer_spec[-1][2] * self.ch, None, self.n_stats, self.eps, name="bn")
        self.conv_to_rgb = sn_conv(self.ch, 3, eps=self.eps, name="conv_to_rgb")
        self.build()

    def build(self, input_shape=None):
        if self.built:
            return
        self.embeddings.build((None,))
        self.gen_z.build((None, 2 * self.z_dim))
        self.conv_to_rgb.build((None, None, None, self.layer_spec[-1][2] * self.ch))
        self.built = True

    def embed(self, y):
        """The class embedding of ids (N,) or class vectors (N, num_classes).

        Example:
            >>> e = G.embed(np.array([207]))
        """
        table = self.embeddings.embeddings
        if len(y.shape) == 2:
            return ops.matmul(ops.cast(y, table.dtype), table)
        return ops.take(table, ops.cast(y, "int32"), axis=0)

    def call(self, inputs, training=False):
        z, y = inputs[0], inputs[1]
        stat_weights = inputs[2] if len(inputs) > 2 else None
        cond = ops.concatenate([ops.cast(z, "float32"), self.embed(y)], axis=-1)
        h = ops.reshape(self.gen_z(cond, training=training), (-1, 4, 4, 16 * self.ch))
        for i, block in enumerate(self.blocks):
            if i == self.attention_position:
                h = self.attention(h, training=training)
            h = block(h, cond, stat_weights, training=training)
        h = ops.relu(self.bn(h, None, stat_weights, training=training))
        h = self.conv_to_rgb(h, training=training)
        return ops.tanh(h[..., :3])

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], self.resolution, self.resolution, 3)

    def get_config(self):
        config = super().get_config()
        config.update(resolution=self.resolution, ch=self.ch, z_dim=self.z_dim, num_classes=self.num_classes,
                      layers=[list(layer) for layer in self.layer_spec], attention_position=self.attention_position,
                      n_stats=self.n_stats, eps=self.eps)
        return config


@_register
class Discriminator(keras.Model):
    """BigGAN-deep projection discriminator: `D([x, y])` -> logits (N,).

    Example:
        >>> D = Discriminator(resolution=128, ch=4, num_classes=10)
        >>> tuple(D([np.zeros((2, 128, 128, 3), "float32"), np.array([0, 1])]).shape)
        (2,)
    """

    def __init__(self, resolution=128, ch=128, num_classes=1000, layers=None, attention_position=8, eps=1e-4,
                 **kwargs):
        super().__init__(**kwargs)
        self.resolution, self.ch, self.num_classes, self.eps = int(resolution), int(ch), int(num_classes), float(eps)
        self.layer_spec = _check_layers(layers if layers is not None else default_layers(self.resolution),
                                        self.resolution)
        self.attention_position = None if attention_position is None else int(attention_position)
        n = len(self.layer_spec)
        # G's block i (up, a -> b) mirrored: D's block n-1-i (down, b -> a); G's attention sits before
        # its block p, so D's sits after its block n-1-p, at the same resolution and width.
        self.input_conv = sn_conv(self.layer_spec[-1][2] * self.ch, 3, eps=self.eps, name="input_conv")
        self.blocks, self.attention = [], None
        self.attention_after = None if self.attention_position is None else n - 1 - self.attention_position
        for j, (up, a, b) in enumerate(reversed(self.layer_spec)):
            self.blocks.append(DBlock(b * self.ch, a * self.ch, downsample=up, eps=self.eps, name=f"block_{j}"))
            if j == self.attention_after:
                self.attention = Attention(a * self.ch, eps=self.eps, name="attention")
        width = self.layer_spec[0][1] * self.ch
        self.linear = sn_dense(1, eps=self.eps, name="linear")
        self.embed = SpectralNormalization(keras.layers.Embedding(self.num_classes, width, embeddings_initializer=Normal02(), name="embed"),
                                           eps=self.eps, name="embed")
        self.build()

    def build(self, input_shape=None):
        if self.built:
            return
        width = self.layer_spec[0][1] * self.ch
        self.input_conv.build((None, None, None, 3))
        self.linear.build((None, width))
        self.embed.build((None,))
        self.built = True

    def call(self, inputs, training=False):
        x, y = inputs
        h = self.input_conv(x, training=training)
        for j, block in enumerate(self.blocks):
            h = block(h, training=training)
            if j == self.attention_after:
                h = self.attention(h, training=training)
        h = ops.sum(ops.relu(h), axis=(1, 2))
        out = ops.reshape(self.linear(h, training=training), (-1,))
        return out + ops.sum(self.embed(ops.cast(y, "int32"), training=training) * h, axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0],)

    def get_config(self):
        config = super().get_config()
        config.update(resolution=self.resolution, ch=self.ch, num_classes=self.num_classes,
                      layers=[list(layer) for layer in self.layer_spec], attention_position=self.attention_position,
                      eps=self.eps)
        return config


@registry.register("builder")
def biggan_deep_generator(resolution=128, ch=128, z_dim=128, num_classes=1000, layers=None, attention_position=8,
                          n_stats=51, eps=1e-4, name="generator"):
    """The BigGAN-deep generator (published: ch 128, z 128, 1000 classes, attention at 64x64).

    Example:
        >>> G = biggan_deep_generator(256)
    """
    return Generator(resolution, ch, z_dim, num_classes, layers, attention_position, n_stats, eps, name=name)


@registry.register("builder")
def biggan_deep_discriminator(resolution=128, ch=128, num_classes=1000, layers=None, attention_position=8,
                              eps=1e-4, name="discriminator"):
    """The BigGAN-deep projection discriminator, the generator's mirror.

    Example:
        >>> D = biggan_deep_discriminator(128, ch=128)
    """
    return Discriminator(resolution, ch, num_classes, layers, attention_position, eps, name=name)
