"""BigGAN's networks (Brock et al. 2019, arXiv 1809.11096, appendix B), also used for SAGAN.

Generator, `[z, y]` -> image:
* a shared class embedding `shared(y)` (`shared_dim` > 0; not spectrally
  normalized, as in BigGAN-PyTorch), or per-block class tables (`shared_dim=0`,
  BigGAN-PyTorch without `--G_shared`, and SAGAN);
* hierarchical latents: z is cut into (blocks + 1) chunks; the first feeds
  the input linear layer, chunk i + 1 joins `shared(y)` as block i's
  condition (`LatentChunks`, layers named "cond{i}");
* ResBlockUp blocks with conditional batch norm (gain `1 + W_g c`, bias
  `W_b c`), self-attention after the blocks at the `attention` resolutions,
  then BN-ReLU-conv3x3-tanh. Spectral normalization on every conv and linear
  layer.

Discriminator, `[x, y]` -> logit: ResBlockDown blocks (the first without
pre-activation, "wide" convs), self-attention after the first block at each
`attention` resolution, ReLU, global sum pooling, an SN linear output plus
the projection `<embed(y), phi(x)>` (SN embedding).

Channel multipliers per resolution are BigGAN-PyTorch's `G_arch` / `D_arch`
tables; 16x16 (two G blocks, three D blocks with one downsampling, for CPU
tests) is ours. With BigGAN-PyTorch's CIFAR defaults (width 64, z 128, no
shared embedding, no hierarchy, no attention) the networks have 4,304,387 /
4,207,361 trainable parameters; ImageNet 128x128 (width 96, z 120, shared
128, hierarchical, attention at 64): 70,433,988 / 87,982,370.

Example:
    >>> G = biggan_generator(latent_dim=120, resolution=128, width=96, num_classes=1000, shared_dim=128)
    >>> D = biggan_discriminator(resolution=128, width=96, num_classes=1000)
    >>> cifarG = biggan_generator(latent_dim=128, resolution=32, width=64, num_classes=10, shared_dim=0,
    ...                           hierarchical=False, attention=())
"""

import keras
from keras import layers

from ganzoo.engine.registry import register
from ganzoo.layers.attention import SelfAttention
from ganzoo.layers.batch_norm import BatchNormalization
from ganzoo.layers.conditional_bn import fresh_initializer, serialize_initializer
from ganzoo.layers.hierarchical import LatentChunks
from ganzoo.layers.pooling import GlobalSumPooling2D
from ganzoo.layers.resblocks import ResBlockDown, ResBlockUp
from ganzoo.layers.spectral_norm import SpectralNormalization

# Output-channel multipliers of G's blocks (the first block's input has the first multiplier).
G_MULTIPLIERS = {
    16: (4, 4),
    32: (4, 4, 4),
    64: (16, 8, 4, 2),
    128: (16, 8, 4, 2, 1),
    256: (16, 8, 8, 4, 2, 1),
    512: (16, 8, 8, 4, 2, 1, 1),
}
# D: output multipliers of its blocks and how many of the first blocks downsample.
D_MULTIPLIERS = {
    16: ((4, 4, 4), 1),
    32: ((4, 4, 4, 4), 2),
    64: ((1, 2, 4, 8, 16), 4),
    128: ((1, 2, 4, 8, 16, 16), 5),
    256: ((1, 2, 4, 8, 8, 16, 16), 6),
    512: ((1, 1, 2, 4, 8, 8, 16, 16), 7),
}
INITS = {
    "ortho": {"class_name": "Orthogonal", "config": {"gain": 1.0, "seed": None}},
    "N02": {"class_name": "RandomNormal", "config": {"mean": 0.0, "stddev": 0.02, "seed": None}},
    "glorot": {"class_name": "GlorotUniform", "config": {"seed": None}},
}
BOTTOM_WIDTH = 4


def _check_resolution(resolution, table, what):
    if isinstance(resolution, bool) or resolution not in table:
        raise ValueError(
            f"The BigGAN {what} has architectures for resolutions {', '.join(map(str, sorted(table)))}; "
            f"got resolution={resolution!r}."
        )
    return resolution


def _check_init(init):
    if init not in INITS:
        raise ValueError(f"init must be one of {', '.join(INITS)} (BigGAN: ortho; its CIFAR script: N02), got {init!r}.")
    return INITS[init]


def _check_attention(attention, resolutions, what):
    attention = tuple(int(a) for a in (attention or ()))
    bad = [a for a in attention if a not in resolutions]
    if bad:
        raise ValueError(
            f"attention at {bad}: the BigGAN {what}'s blocks run at {', '.join(map(str, sorted(set(resolutions))))}; "
            "pick from those (or attention: [] for none)."
        )
    return attention


def _positive(value, name):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}.")
    return value


def _sn(layer, name):
    return SpectralNormalization(layer, name=f"{name}_sn")


@register("builder")
def biggan_generator(latent_dim=120, resolution=128, channels=3, width=96, num_classes=1000, shared_dim=128,
                     hierarchical=True, attention=(64,), attention_pool=True, init="ortho", name="generator"):
    """BigGAN's generator: `G([z, y])`, y int class ids.

    Args:
        latent_dim: size of z; with `hierarchical` a multiple of (blocks + 1).
        resolution: 16, 32, 64, 128, 256 or 512.
        channels: output channels.
        width: the channel multiplier `ch` (BigGAN: 96 at 128x128; CIFAR: 64).
        num_classes: number of classes (>= 2).
        shared_dim: size of the shared class embedding; 0: per-block class
            tables in the batch norms (no shared embedding).
        hierarchical: split z across the blocks (needs `shared_dim > 0`).
        attention: resolutions after whose block a self-attention layer
            follows (BigGAN: (64,); SAGAN: one mid resolution; () none).
        attention_pool: BigGAN's max-pooled keys and values (False: SAGAN's form).
        init: "ortho" (BigGAN), "N02" (N(0, 0.02)) or "glorot".

    Example:
        >>> G = biggan_generator(latent_dim=24, resolution=16, width=4, num_classes=2, shared_dim=8,
        ...                      attention=(16,))
        >>> tuple(G.output.shape)
        (None, 16, 16, 3)
    """
    _check_resolution(resolution, G_MULTIPLIERS, "generator")
    kernel_init = serialize_initializer(_check_init(init))
    _positive(latent_dim, "latent_dim")
    _positive(width, "width")
    _positive(channels, "channels")
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"BigGAN is class-conditional: num_classes must be an integer >= 2, got {num_classes!r}.")
    if isinstance(shared_dim, bool) or not isinstance(shared_dim, int) or shared_dim < 0:
        raise ValueError(f"shared_dim must be an integer >= 0 (0: no shared embedding), got {shared_dim!r}.")
    if hierarchical and not shared_dim:
        raise ValueError("hierarchical=True joins z chunks to the shared class embedding: set shared_dim > 0.")
    multipliers = G_MULTIPLIERS[resolution]
    blocks = len(multipliers)
    resolutions = [BOTTOM_WIDTH * 2 ** (i + 1) for i in range(blocks)]
    attention = _check_attention(attention, resolutions, "generator")
    slots = blocks + 1 if hierarchical else 1
    if latent_dim % slots:
        raise ValueError(
            f"hierarchical latents split z into {slots} equal chunks ({blocks} blocks + the input layer) at "
            f"{resolution}x{resolution}: latent_dim={latent_dim} is not divisible by {slots} "
            f"(e.g. {slots * max(1, latent_dim // slots)})."
        )

    z = keras.Input((latent_dim,), name="z")
    y = keras.Input((), dtype="int32", name="y")
    if shared_dim:
        shared = layers.Embedding(num_classes, shared_dim, embeddings_initializer=fresh_initializer(kernel_init),
                                  name="shared")(y)
    if hierarchical:
        z0, *chunks = LatentChunks(slots, name="z_chunks")(z)
        conditions = [layers.Concatenate(name=f"cond{i}")([shared, chunks[i]]) for i in range(blocks)]
    else:
        z0 = z
        conditions = [shared if shared_dim else y] * blocks
    first = multipliers[0] * width
    h = _sn(layers.Dense(BOTTOM_WIDTH * BOTTOM_WIDTH * first, kernel_initializer=fresh_initializer(kernel_init),
                         name="linear"), "linear")(z0)
    h = layers.Reshape((BOTTOM_WIDTH, BOTTOM_WIDTH, first))(h)
    for i, multiplier in enumerate(multipliers):
        h = ResBlockUp(multiplier * width, conditional=True, num_classes=0 if shared_dim else num_classes,
                       spectral_norm=True, kernel_initializer=kernel_init, shortcut_initializer=kernel_init,
                       name=f"block{i}")([h, conditions[i]])
        if resolutions[i] in attention:
            h = SelfAttention(pool=attention_pool, spectral_norm=True, kernel_initializer=kernel_init,
                              name=f"attention{resolutions[i]}")(h)
    h = layers.ReLU()(BatchNormalization(momentum=0.9, epsilon=1e-5, name="bn_out")(h))
    h = _sn(layers.Conv2D(channels, 3, padding="same", kernel_initializer=fresh_initializer(kernel_init),
                          name="conv_out"), "conv_out")(h)
    out = layers.Activation("tanh", dtype="float32", name="tanh")(h)
    return keras.Model([z, y], out, name=name)


@register("builder")
def biggan_discriminator(resolution=128, channels=3, width=96, num_classes=1000, attention=(64,), attention_pool=True,
                         wide=True, init="ortho", name="discriminator"):
    """BigGAN's projection discriminator: `D([x, y])` -> logits (N, 1).

    Args:
        resolution: 16, 32, 64, 128, 256 or 512.
        channels: input channels.
        width: the channel multiplier `ch`.
        num_classes: classes of the projection (>= 2); 0: no projection, D
            takes the image only.
        attention: resolutions after whose first block self-attention follows.
        attention_pool: BigGAN's max-pooled keys and values.
        wide: the blocks' first conv has the output width (BigGAN, SAGAN).
        init: "ortho", "N02" or "glorot".

    Example:
        >>> D = biggan_discriminator(resolution=32, width=64, num_classes=10, attention=())
        >>> sum(int(np.prod(v.shape)) for v in D.trainable_variables)
        4207361
    """
    _check_resolution(resolution, D_MULTIPLIERS, "discriminator")
    kernel_init = serialize_initializer(_check_init(init))
    _positive(width, "width")
    _positive(channels, "channels")
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 0 or num_classes == 1:
        raise ValueError(f"num_classes must be 0 (no projection) or an integer >= 2, got {num_classes!r}.")
    multipliers, downs = D_MULTIPLIERS[resolution]
    resolutions = [resolution // 2 ** min(i + 1, downs) for i in range(len(multipliers))]
    attention = _check_attention(attention, resolutions, "discriminator")
    image = keras.Input((resolution, resolution, channels), name="image")
    inputs = image
    if num_classes:
        y = keras.Input((), dtype="int32", name="y")
        inputs = [image, y]
    h, attended = image, set()
    for i, multiplier in enumerate(multipliers):
        h = ResBlockDown(multiplier * width, downsample=i < downs, preactivation=i > 0, wide=wide, spectral_norm=True,
                         kernel_initializer=kernel_init, shortcut_initializer=kernel_init, name=f"block{i}")(h)
        if resolutions[i] in attention and resolutions[i] not in attended:
            attended.add(resolutions[i])
            h = SelfAttention(pool=attention_pool, spectral_norm=True, kernel_initializer=kernel_init,
                              name=f"attention{resolutions[i]}")(h)
    phi = GlobalSumPooling2D(name="sum_pool")(layers.ReLU()(h))
    logits = _sn(layers.Dense(1, kernel_initializer=fresh_initializer(kernel_init), name="linear"), "linear")(phi)
    if num_classes:
        embedded = _sn(layers.Embedding(num_classes, phi.shape[-1], embeddings_initializer=fresh_initializer(kernel_init),
                                        name="class_embedding"), "class_embedding")(y)
        logits = layers.Add(name="projection")([logits, layers.Dot(axes=1)([embedded, phi])])
    logits = layers.Activation("linear", dtype="float32", name="logits")(logits)
    return keras.Model(inputs, logits, name=name)
