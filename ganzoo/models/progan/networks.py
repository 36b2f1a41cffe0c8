"""Progressive GAN networks (Karras et al. 2018, arXiv 1710.10196, Table 2), every stage built up front.

Stage `s` works at `4 * 2**s` pixels; stage 0 is 4x4. Both networks hold the
blocks of every resolution from the start and take `stage` (a Python int:
it fixes the output shape, so each stage is its own traced function) and
`alpha` (the fade-in weight, a scalar that may be a tensor) at call time:

- G at stage s > 0: `lerp(upsample(toRGB_{s-1}(h_{s-1})), toRGB_s(block_s(h_{s-1})), alpha)`,
  nearest-neighbour upsampling; at alpha = 0 it is stage s-1's output upsampled.
- D at stage s > 0: `lerp(fromRGB_{s-1}(avgpool(x)), block_s(fromRGB_s(x)), alpha)`
  continued by the lower blocks; at alpha = 0 it is stage s-1's D on avgpool(x).

Widths follow the official code's `nf(stage) = min(fmap_base / 2**(stage * fmap_decay), fmap_max)`
(8192, 1.0, 512: 512 channels up to 32x32, then halving to 16 at 1024x1024).
Every layer has an equalized learning rate (`ganzoo.layers.stylegan`'s
EqualizedConv2D / EqualizedDense: weights ~N(0, 1) scaled by 1/sqrt(fan_in)
at run time; their activation gain sqrt(2) is applied after the leaky ReLU,
which at zero biases is the same function as ProGAN's He-scaled weights). G
uses pixel norm after every conv and on z, D a minibatch standard-deviation
layer (group 4) before its last conv. G's output is linear, as in the paper.

Example:
    >>> G = progan_generator(latent_dim=32, resolution=16, channels=1, fmap_base=128, fmap_max=32)
    >>> tuple(G(np.zeros((2, 32), "float32"), stage=1, alpha=0.5).shape)
    (2, 8, 8, 1)
"""

import math

import keras
from keras import ops

from ganzoo.engine import registry
from ganzoo.layers.minibatch import MinibatchStdLayer
from ganzoo.layers.stylegan import EqualizedConv2D, EqualizedDense, bias_act, normalize_2nd_moment

_register = keras.saving.register_keras_serializable(package="ganzoo")


def num_stages_for(resolution):
    """Stages of a network growing from 4x4 to `resolution` (a power of two >= 4).

    Example:
        >>> num_stages_for(1024)
        9
    """
    r = int(resolution)
    if r < 4 or r & (r - 1):
        raise ValueError(f"ProGAN resolution must be a power of two >= 4 (4, 8, ..., 1024), got {resolution}.")
    return int(math.log2(r)) - 1


def feature_maps(stage, fmap_base=8192, fmap_decay=1.0, fmap_max=512):
    """The official `nf(stage)`: `min(int(fmap_base / 2**(stage * fmap_decay)), fmap_max)`.

    The block at resolution 2**r has `nf(r - 1)` channels (r = 2 for 4x4).

    Example:
        >>> [feature_maps(s) for s in (1, 4, 5, 9)]
        [512, 512, 256, 16]
    """
    return min(int(fmap_base / (2.0 ** (stage * fmap_decay))), int(fmap_max))


def upsample_nearest(x, factor=2):
    """Nearest-neighbour upsampling of NHWC `x` by an integer factor.

    Example:
        >>> tuple(upsample_nearest(np.zeros((1, 4, 4, 3), "float32")).shape)
        (1, 8, 8, 3)
    """
    return ops.repeat(ops.repeat(x, factor, axis=1), factor, axis=2)


def downsample_average(x, factor=2):
    """Average pooling of NHWC `x` over `factor` x `factor` blocks (ProGAN's `downscale2d`).

    Example:
        >>> float(downsample_average(np.ones((1, 4, 4, 1), "float32")).mean())
        1.0
    """
    if factor == 1:
        return x
    h, w, c = x.shape[1], x.shape[2], x.shape[3]
    x = ops.reshape(x, (-1, h // factor, factor, w // factor, factor, c))
    return ops.mean(x, axis=(2, 4))


def pixel_norm(x, eps=1e-8):
    """Pixelwise feature normalization (ProGAN Sec. 4.2): x / sqrt(mean_c x^2 + eps).

    Example:
        >>> y = pixel_norm(np.full((1, 2, 2, 4), 3.0, "float32"))
        >>> float(y.mean())
        1.0
    """
    return normalize_2nd_moment(x, axis=-1, eps=eps)


def _lerp(a, b, alpha):
    return a + ops.cast(alpha, a.dtype) * (b - a)


def _check_stage(stage, num_stages, resolution):
    if stage is None:
        return num_stages - 1
    if isinstance(stage, bool) or int(stage) != stage or not 0 <= int(stage) < num_stages:
        raise ValueError(
            f"ProGAN stage {stage!r} is outside 0..{num_stages - 1}: this network grows from 4x4 to "
            f"{resolution}x{resolution} (stage s works at 4*2^s pixels); pass a stage <= {num_stages - 1}."
        )
    return int(stage)


class WidthsMixin:
    """The width settings shared by G and D (a mixin, no layer state).

    Example:
        >>> G.nf_function()(1)
        512
    """

    def nf_function(self):
        """`nf(stage)` with this network's width settings."""
        return lambda s: feature_maps(s, self.fmap_base, self.fmap_decay, self.fmap_max)

    def width_config(self):
        """The width settings as config entries."""
        return {"resolution": self.resolution, "channels": self.channels, "fmap_base": self.fmap_base,
                "fmap_decay": self.fmap_decay, "fmap_max": self.fmap_max}


@_register
class ProGANGenerator(WidthsMixin, keras.Model):
    """ProGAN's G with every resolution's block; `call(z, stage=None, alpha=1.0)`.

    Args:
        latent_dim: size of z (512 in the paper).
        resolution: final resolution (power of two >= 4).
        channels: image channels.
        fmap_base, fmap_decay, fmap_max: widths (`feature_maps`).
        normalize_latents: pixel-normalize z first (the paper's hypersphere).

    `stage=None` means the final stage. Output: linear, `(N, 4*2^stage, 4*2^stage, channels)`.

    Example:
        >>> G = ProGANGenerator(latent_dim=8, resolution=8, channels=1, fmap_base=32, fmap_max=8)
        >>> tuple(G(np.zeros((1, 8), "float32"), stage=0).shape)
        (1, 4, 4, 1)
    """

    def __init__(self, latent_dim=512, resolution=1024, channels=3, fmap_base=8192, fmap_decay=1.0,
                 fmap_max=512, normalize_latents=True, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim, self.channels = int(latent_dim), int(channels)
        self.resolution = int(resolution)
        self.num_stages = num_stages_for(resolution)
        self.fmap_base, self.fmap_decay, self.fmap_max = int(fmap_base), float(fmap_decay), int(fmap_max)
        self.normalize_latents = bool(normalize_latents)
        nf = self.nf_function()
        # 4x4: "Conv 4x4" on a 1x1 latent = a dense layer to 4*4*nf(1), one bias per channel (official).
        self.dense = EqualizedDense(16 * nf(1), in_features=self.latent_dim, use_bias=False, name="dense")
        self.base_conv = EqualizedConv2D(nf(1), 3, in_channels=nf(1), activation="lrelu", name="conv_4")
        self.conv0, self.conv1 = [], []
        for s in range(1, self.num_stages):
            r = 4 * 2**s
            self.conv0.append(EqualizedConv2D(nf(s + 1), 3, in_channels=nf(s), activation="lrelu", name=f"conv0_{r}"))
            self.conv1.append(EqualizedConv2D(nf(s + 1), 3, in_channels=nf(s + 1), activation="lrelu",
                                              name=f"conv1_{r}"))
        self.to_rgb = [EqualizedConv2D(self.channels, 1, in_channels=nf(s + 1), name=f"to_rgb_{4 * 2**s}")
                       for s in range(self.num_stages)]
        self.build((None, self.latent_dim))

    def build(self, input_shape=None):
        nf = self.nf_function()
        self.dense_bias = self.add_weight(shape=(nf(1),), initializer="zeros", name="dense_bias")
        self.dense.build((None, self.latent_dim))
        self.base_conv.build((None, 4, 4, nf(1)))
        for s, (a, b) in enumerate(zip(self.conv0, self.conv1), start=1):
            a.build((None, None, None, nf(s)))
            b.build((None, None, None, nf(s + 1)))
        for s, layer in enumerate(self.to_rgb):
            layer.build((None, None, None, nf(s + 1)))
        self.built = True

    def features(self, z, stage):
        """The feature maps of blocks 0..stage (a list, 4x4 first), before toRGB.

        Example:
            >>> hs = G.features(z, stage=2)      # [4x4, 8x8, 16x16]
        """
        nf = self.nf_function()
        x = ops.convert_to_tensor(z)
        if self.normalize_latents:
            x = pixel_norm(x)
        x = ops.reshape(self.dense(x), (-1, 4, 4, nf(1)))
        x = pixel_norm(bias_act(x, self.dense_bias, "lrelu"))
        x = pixel_norm(self.base_conv(x))
        out = [x]
        for s in range(1, stage + 1):
            x = upsample_nearest(x)
            x = pixel_norm(self.conv0[s - 1](x))
            x = pixel_norm(self.conv1[s - 1](x))
            out.append(x)
        return out

    def call(self, z, stage=None, alpha=1.0, training=False):
        stage = _check_stage(stage, self.num_stages, self.resolution)
        hs = self.features(z, stage)
        new = self.to_rgb[stage](hs[-1])
        if stage == 0:
            return new
        old = upsample_nearest(self.to_rgb[stage - 1](hs[-2]))
        return _lerp(old, new, alpha)

    def get_config(self):
        config = super().get_config()
        config.update(latent_dim=self.latent_dim, normalize_latents=self.normalize_latents, **self.width_config())
        return config


@_register
class ProGANDiscriminator(WidthsMixin, keras.Model):
    """ProGAN's D with every resolution's block; `call(x, stage=None, alpha=1.0)` -> logits (N, 1).

    Args:
        resolution, channels, fmap_base, fmap_decay, fmap_max: as the generator.
        mbstd_group_size: minibatch-stddev group (4 in the paper; the batch
            must be divisible by min(group, N)); 0 disables the layer.

    Example:
        >>> D = ProGANDiscriminator(resolution=8, channels=1, fmap_base=32, fmap_max=8)
        >>> tuple(D(np.zeros((4, 8, 8, 1), "float32"), stage=1).shape)
        (4, 1)
    """

    def __init__(self, resolution=1024, channels=3, fmap_base=8192, fmap_decay=1.0, fmap_max=512,
                 mbstd_group_size=4, **kwargs):
        super().__init__(**kwargs)
        self.channels, self.resolution = int(channels), int(resolution)
        self.num_stages = num_stages_for(resolution)
        self.fmap_base, self.fmap_decay, self.fmap_max = int(fmap_base), float(fmap_decay), int(fmap_max)
        self.mbstd_group_size = int(mbstd_group_size)
        nf = self.nf_function()
        self.from_rgb = [EqualizedConv2D(nf(s + 1), 1, in_channels=self.channels, activation="lrelu",
                                         name=f"from_rgb_{4 * 2**s}") for s in range(self.num_stages)]
        self.conv0, self.conv1 = [], []
        for s in range(1, self.num_stages):
            r = 4 * 2**s
            self.conv0.append(EqualizedConv2D(nf(s + 1), 3, in_channels=nf(s + 1), activation="lrelu",
                                              name=f"conv0_{r}"))
            self.conv1.append(EqualizedConv2D(nf(s), 3, in_channels=nf(s + 1), activation="lrelu", name=f"conv1_{r}"))
        self.mbstd = MinibatchStdLayer(self.mbstd_group_size, name="mbstd") if self.mbstd_group_size else None
        extra = 1 if self.mbstd else 0
        self.head_conv = EqualizedConv2D(nf(1), 3, in_channels=nf(1) + extra, activation="lrelu", name="conv_4")
        self.head_dense0 = EqualizedDense(nf(0), in_features=16 * nf(1), activation="lrelu", name="dense0_4")
        self.head_dense1 = EqualizedDense(1, in_features=nf(0), name="dense1_4")
        self.build((None, self.resolution, self.resolution, self.channels))

    def build(self, input_shape=None):
        nf = self.nf_function()
        for layer in self.from_rgb:
            layer.build((None, None, None, self.channels))
        for s, (a, b) in enumerate(zip(self.conv0, self.conv1), start=1):
            a.build((None, None, None, nf(s + 1)))
            b.build((None, None, None, nf(s + 1)))
        if self.mbstd is not None:
            self.mbstd.build((None, 4, 4, nf(1)))
        self.head_conv.build((None, 4, 4, nf(1) + (1 if self.mbstd else 0)))
        self.head_dense0.build((None, 16 * nf(1)))
        self.head_dense1.build((None, nf(0)))
        self.built = True

    def block(self, x, stage):
        """Block `stage` (> 0): two 3x3 convs, then 2x average pooling.

        Example:
            >>> h = D.block(D.from_rgb[2](x16), stage=2)    # 16x16 -> 8x8
        """
        x = self.conv1[stage - 1](self.conv0[stage - 1](x))
        return downsample_average(x)

    def head(self, x):
        """The 4x4 epilogue: minibatch stddev, 3x3 conv, dense, dense -> (N, 1).

        Example:
            >>> logits = D.head(h4)
        """
        if self.mbstd is not None:
            x = self.mbstd(x)
        x = self.head_conv(x)
        x = ops.reshape(x, (-1, 16 * x.shape[-1]))
        return self.head_dense1(self.head_dense0(x))

    def call(self, x, stage=None, alpha=1.0, training=False):
        stage = _check_stage(stage, self.num_stages, self.resolution)
        r = 4 * 2**stage
        if tuple(x.shape[1:3]) != (r, r):
            raise ValueError(
                f"ProGAN D at stage {stage} takes {r}x{r} images, got {tuple(x.shape[1:3])}; "
                "downsample the input (ganzoo.models.progan.downsample_average) or pick its stage."
            )
        h = self.from_rgb[stage](x)
        if stage > 0:
            h = self.block(h, stage)
            old = self.from_rgb[stage - 1](downsample_average(x))
            h = _lerp(old, h, alpha)
        for s in range(stage - 1, 0, -1):
            h = self.block(h, s)
        return self.head(h)

    def get_config(self):
        config = super().get_config()
        config.update(mbstd_group_size=self.mbstd_group_size, **self.width_config())
        return config


@registry.register("builder")
def progan_generator(latent_dim=512, resolution=1024, channels=3, fmap_base=8192, fmap_decay=1.0, fmap_max=512,
                     normalize_latents=True, name="generator"):
    """ProGAN G for recipes (defaults: the paper's CelebA-HQ 1024x1024 network, 23.1M parameters).

    Example:
        >>> G = progan_generator(latent_dim=32, resolution=16, channels=1, fmap_base=128, fmap_max=32)
    """
    return ProGANGenerator(latent_dim, resolution, channels, fmap_base, fmap_decay, fmap_max,
                           normalize_latents, name=name)


@registry.register("builder")
def progan_discriminator(resolution=1024, channels=3, fmap_base=8192, fmap_decay=1.0, fmap_max=512,
                         mbstd_group_size=4, name="discriminator"):
    """ProGAN D for recipes (defaults: the paper's CelebA-HQ 1024x1024 network).

    Example:
        >>> D = progan_discriminator(resolution=16, channels=1, fmap_base=128, fmap_max=32)
    """
    return ProGANDiscriminator(resolution, channels, fmap_base, fmap_decay, fmap_max, mbstd_group_size, name=name)


__all__ = [
    "ProGANDiscriminator", "ProGANGenerator", "downsample_average", "feature_maps", "num_stages_for",
    "pixel_norm", "progan_discriminator", "progan_generator", "upsample_nearest",
]
