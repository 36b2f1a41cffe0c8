"""The CycleGAN ResNet generator (Zhu et al. 2017, arXiv 1703.10593; Johnson et al. 2016).

Module layout as junyanz/pytorch-CycleGAN-and-pix2pix `ResnetGenerator` /
`ResnetBlock` (read for facts only): reflection-pad 3, 7x7 conv to `ngf`,
norm, ReLU; two 3x3 stride-2 convs (`ngf` -> 2 `ngf` -> 4 `ngf`; `n_downsampling`), each norm +
ReLU; `n_blocks` residual blocks at 4 `ngf` (reflection-pad 1, 3x3 conv,
norm, ReLU, [dropout], reflection-pad 1, 3x3 conv, norm; plus the input);
two 3x3 stride-2 transposed convs (PyTorch padding 1, output padding 1)
back to `ngf`, each norm + ReLU; reflection-pad 3, 7x7 conv to the output
channels with a bias, tanh. Conv biases are off only with BatchNorm.
Instance norm has no affine parameters. Init N(0, 0.02), biases 0.

The discriminator is pix2pix's PatchGAN on one image
(`ganzoo.models.pix2pix.patch_discriminator(channels, norm="instance")`).

Example:
    >>> G = resnet_generator(n_blocks=9)
    >>> G.count_params()
    11378179
"""

import keras
from keras import layers

from ganzoo.engine.registry import register
from ganzoo.layers.conv_transpose import Conv2DTranspose
from ganzoo.models.cyclegan.layers import ReflectionPadding2D
from ganzoo.models.pix2pix.networks import norm_layer


def _size(image_size, channels, n_downsampling=2):
    if image_size is None:
        return (None, None, int(channels))
    h, w = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    step = 2 ** int(n_downsampling)
    if h % step or w % step:
        raise ValueError(f"The ResNet generator downsamples {n_downsampling} times: it takes sizes that are "
                         f"multiples of {step}; got {h}x{w}.")
    return (int(h), int(w), int(channels))


@register("builder")
def resnet_generator(
    image_size=None,
    in_channels=3,
    out_channels=3,
    ngf=64,
    n_blocks=9,
    norm="instance",
    dropout=0.0,
    seed=None,
    name="resnet_generator",
    n_downsampling=2,
):
    """CycleGAN's ResNet generator (`resnet_9blocks` for 256x256, `resnet_6blocks` for 128x128).

    Args:
        image_size: int or (H, W) (multiples of 2**n_downsampling), or None for any such size.
        in_channels, out_channels: image channels in and out (tanh output).
        ngf: width of the first conv (64 in the paper).
        n_blocks: residual blocks at 4 * ngf (9 or 6 in the paper).
        norm: "instance" (no affine, the paper's), "batch" or "none".
        dropout: dropout rate inside each residual block (0: none, CycleGAN's).
        seed: seed of the initializers (None: random).
        n_downsampling: stride-2 convs down, and transposed convs back up (2 in the paper: the
            reference's `ResnetGenerator` fixes `n_downsampling = 2`); the blocks run at
            `ngf * 2**n_downsampling`. 0 keeps full resolution: with `n_blocks=0` the receptive
            field is 13x13 (two 7x7 convs), too local to learn a map that rearranges shapes.

    Returns:
        A functional `keras.Model` (N, H, W, in_channels) -> (N, H, W, out_channels).

    Example:
        >>> resnet_generator(n_blocks=6).count_params()
        7837699
        >>> G = resnet_generator(image_size=16, in_channels=1, out_channels=1, ngf=8, n_blocks=2)
        >>> G(keras.ops.zeros((2, 16, 16, 1))).shape
        (2, 16, 16, 1)
        >>> resnet_generator(image_size=16, in_channels=1, out_channels=1, ngf=8, n_blocks=0,
        ...                  n_downsampling=0).count_params()
        793
    """
    if int(n_blocks) != n_blocks or n_blocks < 0:
        raise ValueError(f"n_blocks must be an integer >= 0, got {n_blocks!r}.")
    if int(n_downsampling) != n_downsampling or n_downsampling < 0:
        raise ValueError(f"n_downsampling must be an integer >= 0, got {n_downsampling!r}.")
    n_down = int(n_downsampling)
    use_bias = norm != "batch"
    counter = iter(range(10**6))

    def init():
        return keras.initializers.RandomNormal(0.0, 0.02, seed=None if seed is None else int(seed) + next(counter))

    def conv(h, filters, kernel, label, stride=1, bias=use_bias):
        return layers.Conv2D(filters, kernel, strides=stride, padding="valid", use_bias=bias,
                             kernel_initializer=init(), name=f"{label}_conv")(h)

    def norm_relu(h, label, relu=True):
        n = norm_layer(norm, f"{label}_norm", seed=None if seed is None else int(seed) + 5000 + next(counter))
        h = n(h) if n is not None else h
        return layers.ReLU(name=f"{label}_relu")(h) if relu else h

    source = keras.Input(_size(image_size, in_channels, n_down), name="source")
    h = ReflectionPadding2D(3, name="stem_pad")(source)
    h = norm_relu(conv(h, int(ngf), 7, "stem"), "stem")
    for i in range(1, n_down + 1):
        h = layers.ZeroPadding2D(1, name=f"down{i}_pad")(h)
        h = norm_relu(conv(h, int(ngf) * 2 ** i, 3, f"down{i}", stride=2), f"down{i}")
    width = int(ngf) * 2 ** n_down
    for b in range(int(n_blocks)):
        r = ReflectionPadding2D(1, name=f"res{b}_pad1")(h)
        r = norm_relu(conv(r, width, 3, f"res{b}_1"), f"res{b}_1")
        if dropout:
            r = layers.Dropout(float(dropout), name=f"res{b}_dropout")(r)
        r = ReflectionPadding2D(1, name=f"res{b}_pad2")(r)
        r = norm_relu(conv(r, width, 3, f"res{b}_2"), f"res{b}_2", relu=False)
        h = layers.Add(name=f"res{b}_add")([h, r])
    for i in range(1, n_down + 1):
        # PyTorch's ConvTranspose2d(k=3, s=2, padding=1, output_padding=1): the full
        # (2H+1) "valid" output without its first row and column.
        h = Conv2DTranspose(int(ngf) * 2 ** (n_down - i), 3, strides=2, padding="valid", use_bias=use_bias,
                            kernel_initializer=init(), name=f"up{i}_conv")(h)
        h = layers.Cropping2D(((1, 0), (1, 0)), name=f"up{i}_crop")(h)
        h = norm_relu(h, f"up{i}")
    h = ReflectionPadding2D(3, name="out_pad")(h)
    h = conv(h, int(out_channels), 7, "out", bias=True)
    h = layers.Activation("tanh", dtype="float32", name="out_tanh")(h)
    return keras.Model(source, h, name=name)
