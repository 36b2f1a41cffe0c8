"""Pix2Pix networks (Isola et al. 2017, arXiv 1611.07004): the U-Net generator and the PatchGAN.

Module layout as in junyanz/pytorch-CycleGAN-and-pix2pix (`models/networks.py`,
`UnetGenerator` / `UnetSkipConnectionBlock` / `NLayerDiscriminator`), read
for facts only:

* U-Net with `depth` 4x4 stride-2 downsamplings (`unet_128`: 7, `unet_256`:
  8). Encoder widths `ngf * min(2^i, 8)`. Block `i` (outermost 0, innermost
  `depth - 1`) is: down = [LeakyReLU(0.2)] conv [norm], up = ReLU, 4x4
  stride-2 transposed conv, [norm], [dropout]; every block except the
  outermost returns `concat([its input, up(...)])` (the skip). The outermost
  down has no activation or norm, its up ends in tanh with a bias; the
  innermost down has no norm. Dropout 0.5 in the `ngf*8 -> ngf*8` decoder
  blocks between the innermost one and the `ngf*4` one (blocks 4 .. depth-2).
* Conv biases are off when BatchNorm is the norm (it has its own offset),
  on for instance norm (no affine) and for no norm.
* PatchGAN (`NLayerDiscriminator`): 4x4 convs with padding 1, `ndf` then
  `ndf * min(2^n, 8)`; `n_layers` stride-2 convs, one stride-1 conv, a
  stride-1 conv to 1 logit. The first conv has a bias and no norm; the
  rest `norm -> LeakyReLU(0.2)`. `n_layers=3`: a 70x70 receptive field.
* Norms: BatchNorm (eps 1e-5, PyTorch momentum 0.1 = Keras 0.9, affine);
  instance norm = per-sample, per-channel, without affine parameters
  (`GroupNormalization(groups=-1, center=False, scale=False)`, eps 1e-5).
* Init: conv kernels N(0, 0.02), biases 0, BatchNorm scale N(1, 0.02).

Spatial sizes: PyTorch's `padding=1` on a 4x4 stride-2 conv equals Keras
"same" for even sizes (so the U-Net uses "same" and takes sizes that are
multiples of `2^depth`); the PatchGAN pads 1 explicitly and uses "valid", so
it takes any size >= its receptive field exactly as the reference does.

Example:
    >>> G = unet_generator(image_size=256, depth=8)          # unet_256
    >>> D = patch_discriminator(channels=3, source_channels=3, image_size=256)
    >>> trainable = lambda m: sum(int(keras.ops.size(w)) for w in m.trainable_weights)
    >>> trainable(G), trainable(D)                             # BN moving stats excluded
    (54413955, 2768705)
"""

import keras
from keras import layers

from ganzoo.engine.registry import register
from ganzoo.layers.batch_norm import BatchNormalization
from ganzoo.layers.conv_transpose import Conv2DTranspose

NORMS = ("batch", "instance", "none")


def _check(norm, depth=None, name="norm"):
    if norm not in NORMS:
        raise ValueError(f"{name} must be one of {', '.join(NORMS)}; got {norm!r}.")
    if depth is not None and (int(depth) != depth or depth < 2):
        raise ValueError(f"U-Net depth (number of downsamplings) must be an integer >= 2; got {depth!r}.")


def _normal(mean, seed):
    """pix2pix's init_weights("normal", 0.02): N(mean, 0.02)."""
    return keras.initializers.RandomNormal(mean, 0.02, seed=seed)


def _kernel_init(seed):
    return _normal(0.0, seed)


def norm_layer(norm, name, seed=None):
    """The normalization layer named by `norm` ("batch" | "instance"), or None for "none".

    Instance norm has no affine parameters, as the reference's default
    `nn.InstanceNorm2d(affine=False, track_running_stats=False)`.

    Example:
        >>> norm_layer("instance", "enc2_norm")(keras.ops.ones((1, 4, 4, 8))).shape
        (1, 4, 4, 8)
    """
    _check(norm)
    if norm == "batch":
        return BatchNormalization(
            momentum=0.9, epsilon=1e-5,
            gamma_initializer=_normal(1.0, seed), name=name,
        )
    if norm == "instance":
        return layers.GroupNormalization(groups=-1, epsilon=1e-5, center=False, scale=False, name=name)
    return None


def unet_widths(depth, ngf=64):
    """Encoder widths of a U-Net of `depth` downsamplings: `ngf * min(2^i, 8)`.

    Example:
        >>> unet_widths(8)
        [64, 128, 256, 512, 512, 512, 512, 512]
    """
    return [int(ngf) * min(2 ** i, 8) for i in range(int(depth))]


def unet_dropout_blocks(depth):
    """The U-Net blocks whose decoder ends in dropout (reference rule: blocks 4 .. depth-2).

    Example:
        >>> unet_dropout_blocks(8)
        [4, 5, 6]
    """
    return list(range(4, int(depth) - 1))


def unet_valid_sizes(depth, limit=4):
    """Example image sizes a U-Net of `depth` downsamplings takes: multiples of 2^depth.

    Example:
        >>> unet_valid_sizes(8, limit=2)
        [256, 512]
    """
    step = 2 ** int(depth)
    return [step * k for k in range(1, limit + 1)]


@register("builder")
def unet_generator(
    image_size=None,
    in_channels=3,
    out_channels=3,
    depth=8,
    ngf=64,
    norm="batch",
    dropout=0.5,
    seed=None,
    name="unet_generator",
):
    """The pix2pix U-Net generator (`unet_128`: depth 7, `unet_256`: depth 8).

    Args:
        image_size: int or (H, W) fixing the input size, or None for any size
            that is a multiple of `2**depth` (checked at `translate` time).
        in_channels: channels of the source image (e.g. 3, or 4 for RGB +
            an inpainting mask).
        out_channels: channels of the output image (tanh, in [-1, 1]).
        depth: number of stride-2 downsamplings (>= 2).
        ngf: width of the outermost conv.
        norm: "batch", "instance" (no affine) or "none".
        dropout: rate of the dropout in the inner `ngf*8` decoder blocks
            (`unet_dropout_blocks(depth)`); 0 for none.
        seed: seed of the initializers (None: random).

    Returns:
        A functional `keras.Model` (N, H, W, in_channels) -> (N, H, W, out_channels).

    Example:
        >>> G = unet_generator(image_size=32, in_channels=1, out_channels=1, depth=5, ngf=16)
        >>> G(keras.ops.zeros((2, 32, 32, 1))).shape
        (2, 32, 32, 1)
    """
    _check(norm, depth)
    depth = int(depth)
    if image_size is not None:
        h, w = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
        step = 2 ** depth
        if h % step or w % step:
            raise ValueError(
                f"A U-Net with {depth} downsamplings takes sizes that are multiples of {step} "
                f"(e.g. {', '.join(map(str, unet_valid_sizes(depth, 3)))}); got {h}x{w}."
            )
        shape = (h, w, int(in_channels))
    else:
        shape = (None, None, int(in_channels))
    use_bias = norm != "batch"
    widths = unet_widths(depth, ngf)
    drop = set(unet_dropout_blocks(depth)) if dropout else set()
    seeds = iter(range(10_000)) if seed is None else iter(range(int(seed), int(seed) + 10_000))

    def init():
        return _kernel_init(None if seed is None else next(seeds))

    source = keras.Input(shape, name="source")
    # Encoder: block i's down path; skips[i] is block i's input (concatenated after its up path).
    skips = []
    h = source
    for i, width in enumerate(widths):
        skips.append(h)
        if i > 0:
            h = layers.LeakyReLU(0.2, name=f"enc{i}_lrelu")(h)
        h = layers.Conv2D(width, 4, strides=2, padding="same", use_bias=use_bias,
                          kernel_initializer=init(), name=f"enc{i}_conv")(h)
        if 0 < i < depth - 1:
            n = norm_layer(norm, f"enc{i}_norm", seed=None if seed is None else next(seeds))
            h = n(h) if n is not None else h
    # Decoder, innermost first: up path of block i, then the skip concat (except block 0).
    for i in reversed(range(depth)):
        h = layers.ReLU(name=f"dec{i}_relu")(h)
        if i == 0:
            h = Conv2DTranspose(int(out_channels), 4, strides=2, padding="same", use_bias=True,
                                kernel_initializer=init(), name="dec0_conv")(h)
            h = layers.Activation("tanh", name="dec0_tanh", dtype="float32")(h)
            break
        h = Conv2DTranspose(widths[i - 1], 4, strides=2, padding="same", use_bias=use_bias,
                            kernel_initializer=init(), name=f"dec{i}_conv")(h)
        n = norm_layer(norm, f"dec{i}_norm", seed=None if seed is None else next(seeds))
        h = n(h) if n is not None else h
        if i in drop:
            h = layers.Dropout(float(dropout), seed=None if seed is None else next(seeds),
                               name=f"dec{i}_dropout")(h)
        h = layers.Concatenate(axis=-1, name=f"skip{i}")([skips[i], h])
    return keras.Model(source, h, name=name)


@register("builder")
def unet_128(**kwargs):
    """`unet_generator(depth=7, image_size=128)` (pix2pix's `--netG unet_128`).

    Example:
        >>> sum(int(keras.ops.size(w)) for w in unet_128().trainable_weights)
        41828995
    """
    kwargs.setdefault("image_size", 128)
    return unet_generator(depth=7, **kwargs)


@register("builder")
def unet_256(**kwargs):
    """`unet_generator(depth=8, image_size=256)` (pix2pix's `--netG unet_256`).

    Example:
        >>> sum(int(keras.ops.size(w)) for w in unet_256().trainable_weights)
        54413955
    """
    kwargs.setdefault("image_size", 256)
    return unet_generator(depth=8, **kwargs)


def patch_receptive_field(n_layers=3):
    """The receptive field (pixels) of one PatchGAN logit, from its kernel sizes and strides.

    Walking back from the logit: `r <- r * stride + (kernel - stride)`.

    Example:
        >>> patch_receptive_field(3)
        70
    """
    r = 1
    for kernel, stride in reversed(patch_layers(n_layers)):
        r = r * stride + (kernel - stride)
    return r


def patch_layers(n_layers=3):
    """`(kernel, stride)` of each conv of an `n_layers` PatchGAN.

    Example:
        >>> patch_layers(1)
        [(4, 2), (4, 1), (4, 1)]
    """
    return [(4, 2)] * int(n_layers) + [(4, 1), (4, 1)]


@register("builder")
def patch_discriminator(
    channels=3,
    source_channels=None,
    image_size=None,
    n_layers=3,
    ndf=64,
    norm="batch",
    seed=None,
    name="patch_discriminator",
):
    """The PatchGAN discriminator: a map of logits, one per (70x70 for 3 layers) patch.

    Args:
        channels: channels of the judged image.
        source_channels: None for a one-input D (CycleGAN); else D takes
            `[source, image]` and concatenates them on channels (pix2pix's
            conditional D; `source_channels + channels` input channels).
        image_size: int or (H, W), or None for any size (>= the receptive
            field gives at least one full patch).
        n_layers: number of stride-2 convs (3: the 70x70 PatchGAN; 0 is
            not the PixelGAN and is refused).
        ndf: width of the first conv.
        norm: "batch", "instance" (no affine) or "none".
        seed: seed of the initializers (None: random).

    Returns:
        A functional `keras.Model` giving logits of shape (N, h, w, 1).

    Example:
        >>> D = patch_discriminator(channels=3, norm="instance")    # CycleGAN's D
        >>> D.count_params()
        2764737
        >>> D(keras.ops.zeros((1, 256, 256, 3))).shape
        (1, 30, 30, 1)
    """
    _check(norm)
    if int(n_layers) != n_layers or n_layers < 1:
        raise ValueError(f"n_layers must be an integer >= 1; got {n_layers!r}.")
    n_layers = int(n_layers)
    if image_size is None:
        hw = (None, None)
    else:
        hw = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    use_bias = norm != "batch"
    seeds = iter(range(10_000)) if seed is None else iter(range(int(seed) + 5_000, int(seed) + 15_000))

    def init():
        return _kernel_init(None if seed is None else next(seeds))

    image = keras.Input(hw + (int(channels),), name="image")
    if source_channels:
        source = keras.Input(hw + (int(source_channels),), name="source")
        inputs = [source, image]
        h = layers.Concatenate(axis=-1, name="pair")([source, image])
    else:
        inputs = image
        h = image

    def conv(h, filters, stride, bias, label):
        h = layers.ZeroPadding2D(1, name=f"{label}_pad")(h)
        return layers.Conv2D(filters, 4, strides=stride, padding="valid", use_bias=bias,
                             kernel_initializer=init(), name=f"{label}_conv")(h)

    h = conv(h, int(ndf), 2, True, "d0")
    h = layers.LeakyReLU(0.2, name="d0_lrelu")(h)
    for n in range(1, n_layers + 1):
        stride = 2 if n < n_layers else 1
        h = conv(h, int(ndf) * min(2 ** n, 8), stride, use_bias, f"d{n}")
        nl = norm_layer(norm, f"d{n}_norm", seed=None if seed is None else next(seeds))
        h = nl(h) if nl is not None else h
        h = layers.LeakyReLU(0.2, name=f"d{n}_lrelu")(h)
    h = conv(h, 1, 1, True, "logits")
    h = layers.Activation("linear", dtype="float32", name="logits")(h)
    return keras.Model(inputs, h, name=name)
