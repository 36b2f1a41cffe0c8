"""Pix2Pix (Isola et al. 2017, arXiv 1611.07004) and inpainting as conditional generation.

`Pix2Pix` is the translator base (`ganzoo.engine.translation`) with the
paper's objective: `G* = arg min_G max_D L_cGAN(G, D) + lambda * L_L1(G)`,
lambda = 100, the conditional PatchGAN judging `(source, image)` pairs, and
D's loss halved ("we divide the objective by 2 while optimizing D, which
slows down the rate at which D learns relative to G", Sec. 3.3).

`Pix2PixInpaint` is the same model on inpainting pairs: the source is the
image with a hole (set to `fill`) plus the mask as an extra channel (1 =
hole), the target the full image. G's output is kept inside the hole only
(`mask * G(source) + (1 - mask) * image`, what D judges), and the L1 term
is the mean absolute error over the hole's pixels.

Example:
    >>> from ganzoo.models.pix2pix import Pix2Pix, unet_generator, patch_discriminator
    >>> gan = Pix2Pix(unet_generator(depth=4, ngf=16, in_channels=1, out_channels=1),
    ...               patch_discriminator(channels=1, source_channels=1, n_layers=2, ndf=16))
    >>> gan.compile(g_optimizer=keras.optimizers.Adam(2e-4, 0.5), d_optimizer=keras.optimizers.Adam(2e-4, 0.5))
    >>> gan.fit(sources, targets, batch_size=16, epochs=5)
    >>> out = gan.translate(sources[:4])
"""

import keras
import numpy as np
from keras import ops

from ganzoo.engine import registry
from ganzoo.engine.translation import ImageTranslationGAN


def size_multiple(network):
    """The factor every input side must be a multiple of: the product of the strides of its
    downsampling convolutions (`2**depth` for a U-Net; 1 when there are none).

    Example:
        >>> size_multiple(unet_generator(depth=8))
        256
    """
    factor = 1
    for layer in network.layers:
        if isinstance(layer, keras.layers.Conv2D) and not isinstance(layer, keras.layers.Conv2DTranspose):
            factor *= int(layer.strides[0])
    return factor


@registry.register("model_class")
@keras.saving.register_keras_serializable(package="ganzoo")
class Pix2Pix(ImageTranslationGAN):
    """Paired image-to-image translation: U-Net G, conditional PatchGAN D, cGAN + lambda * L1.

    Args:
        generator: maps source images to targets (e.g. `unet_generator`).
        discriminator: a two-input PatchGAN `[source, image]`
            (`patch_discriminator(source_channels=...)`), or one input for
            the unconditional variant of the paper's ablation.
        l1_weight: lambda (100 in the paper).
        objective: the GAN loss (the paper's "non_saturating"; pix2pix's
            code also offers "least_squares").
        Other arguments as `ganzoo.GAN` (no latents, no classes).

    Example:
        >>> gan = Pix2Pix(G, D, l1_weight=100.0)
        >>> gan.compile(g_optimizer=keras.optimizers.Adam(2e-4, 0.5), d_optimizer=keras.optimizers.Adam(2e-4, 0.5))
    """

    def __init__(self, generator, discriminator, l1_weight=100.0, objective="non_saturating", **kwargs):
        if float(l1_weight) < 0:
            raise ValueError(f"l1_weight (lambda) must be >= 0, got {l1_weight}.")
        self.l1_weight = float(l1_weight)
        super().__init__(generator, discriminator, objective=objective, **kwargs)

    def phases(self):
        d, g, *rest = super().phases()
        return [d, g.with_logs("g_l1"), *rest]

    def reconstruction_l1(self, real, fake):
        """The L1 term: mean |G(source) - target| (before the lambda weight).

        Example:
            >>> l1 = gan.reconstruction_l1(real, gan.sample_fakes(real))
        """
        return ops.mean(ops.abs(fake["x"] - real["target"]))

    def generator_terms(self, real, fake, fake_out):
        l1 = self.reconstruction_l1(real, fake)
        return self.l1_weight * l1, {"g_l1": l1}

    def discriminator_loss(self, real, fake):
        """Half the objective's D loss (Isola et al. Sec. 3.3).

        Example:
            >>> loss, logs = gan.discriminator_loss(real, fake)
        """
        loss, logs = super().discriminator_loss(real, fake)
        return 0.5 * loss, logs

    # ------------------------------------------------------------ sizes
    @property
    def size_multiple(self):
        """Input sides must be multiples of this (2**depth for the U-Net)."""
        return size_multiple(self.generator)

    def valid_size(self, height, width):
        """The nearest `(height, width)` the generator takes (the CLI resizes to it and back).

        Example:
            >>> gan.valid_size(250, 300)     # unet_256 without a fixed size
            (256, 256)
        """
        declared = tuple(self.generator.inputs[0].shape[1:3])
        if None not in declared:
            return int(declared[0]), int(declared[1])
        m = self.size_multiple
        return tuple(max(m, int(np.floor(s / m + 0.5)) * m) for s in (height, width))  # ties round up

    def check_translation_input(self, images, direction):
        """Channels and the U-Net's sizes (multiples of 2**depth); one-line errors saying which work.

        Example:
            >>> gan.check_translation_input(np.zeros((1, 100, 100, 3), "float32"), "a2b")
            Traceback (most recent call last):
            ValueError: Pix2Pix's generator (8 downsamplings) takes sides that are multiples of 256 ...
        """
        m = self.size_multiple
        h, w = images.shape[1:3]
        declared = tuple(self.generator.inputs[0].shape[1:3])
        if None in declared and (h % m or w % m):
            depth = int(np.log2(m))
            raise ValueError(
                f"{type(self).__name__}'s generator ({depth} downsamplings) takes sides that are multiples of {m} "
                f"(e.g. {m}x{m}, {2 * m}x{2 * m}, {m}x{2 * m}); got {h}x{w}. Resize or crop the images "
                "(`ganzoo translate` resizes to the nearest valid size and back)."
            )
        if None not in declared and (h, w) != declared:
            raise ValueError(
                f"{type(self).__name__}'s generator takes {declared[0]}x{declared[1]} images only; got {h}x{w}. "
                "Resize them (`ganzoo translate` resizes and restores the size)."
            )
        super().check_translation_input(images, direction)

    def get_config(self):
        config = super().get_config()
        config["l1_weight"] = self.l1_weight
        return config


@registry.register("model_class")
@keras.saving.register_keras_serializable(package="ganzoo")
class Pix2PixInpaint(Pix2Pix):
    """Inpainting as conditional generation: Pix2Pix on (image with a hole + mask, image) pairs.

    The generator takes `channels + 1` channels (the holed image, then the
    mask, 1 = hole) and outputs `channels`. Batches come from
    `ganzoo.data.paired.inpainting` (fresh random boxes or strokes per
    example). The L1 term counts the hole only; D sees the composite.

    Args:
        fill: the value the data writes into the hole (0: mid-gray in [-1, 1]).
        Other arguments as `Pix2Pix`.

    Example:
        >>> gan = Pix2PixInpaint(unet_generator(in_channels=2, out_channels=1, depth=5, ngf=32),
        ...                      patch_discriminator(channels=1, source_channels=2, n_layers=2))
        >>> completed = gan.inpaint(images, masks)      # masks: 1 in the hole
    """

    def __init__(self, generator, discriminator, fill=0.0, **kwargs):
        self.fill = float(fill)
        super().__init__(generator, discriminator, **kwargs)
        c_in = generator.inputs[0].shape[-1]
        c_out = generator.outputs[0].shape[-1]
        if c_in is not None and c_out is not None and c_in != c_out + 1:
            raise ValueError(
                f"{type(self).__name__}: the generator must take the image channels + 1 mask channel "
                f"({c_out} + 1 = {c_out + 1}), got {c_in} input channels."
            )

    @staticmethod
    def split_source(source):
        """`(known image with the hole filled, mask)` from an inpainting source."""
        return source[..., :-1], source[..., -1:]

    def composite(self, source, output):
        """Keep the known pixels; take G's output inside the hole only.

        Example:
            >>> completed = gan.composite(source, gan.generator(source))
        """
        known, mask = self.split_source(source)
        return mask * output + (1.0 - mask) * known

    def sample_fakes(self, real):
        raw = self.generator(real["source"], training=True)
        return {"x": self.composite(real["source"], raw), "source": real["source"]}

    def reconstruction_l1(self, real, fake):
        """Mean |completed - target| over the hole's pixels (and channels)."""
        _, mask = self.split_source(real["source"])
        channels = real["target"].shape[-1]
        err = ops.sum(ops.abs(fake["x"] - real["target"]) * mask)
        return err / (ops.sum(mask) * channels + 1e-8)

    def inpaint(self, images, masks, batch_size=16, progress=None):
        """Fill the holes of `images` (numpy NHWC in [-1, 1]); `masks` 1 (or True) in the hole.

        Args:
            images: (N, H, W, C) or one (H, W, C) image.
            masks: (N, H, W[, 1]) or one (H, W[, 1]) mask for every image;
                values > 0.5 are the hole.

        Returns:
            The completed images (known pixels unchanged), numpy float32.

        Example:
            >>> done = gan.inpaint(digits, box_masks(len(digits), 32, hole=20, border=4))
        """
        arr = np.asarray(images, "float32")
        single = arr.ndim == 3
        if single:
            arr = arr[None]
        m = np.asarray(masks)
        if m.ndim == 2:  # one (H, W) mask
            m = m[None, ..., None]
        elif m.ndim == 3:  # one (H, W, 1) mask, or (N, H, W)
            m = m[None] if m.shape[-1] == 1 and m.shape[:2] == arr.shape[1:3] else m[..., None]
        if m.ndim != 4 or m.shape[1:3] != arr.shape[1:3] or m.shape[-1] != 1 or len(m) not in (1, len(arr)):
            raise ValueError(
                f"inpaint() masks must be (N, H, W[, 1]) or one (H, W[, 1]) mask for images {arr.shape}; "
                f"got {np.asarray(masks).shape}."
            )
        m = np.broadcast_to((m > 0.5).astype("float32"), (len(arr), *arr.shape[1:3], 1))
        from ganzoo.data.paired import masked_source

        source = masked_source(arr, m, self.fill)
        out = self.translate(source, batch_size=batch_size, progress=progress)
        done = m * out + (1.0 - m) * arr
        return done[0] if single else done

    def get_config(self):
        config = super().get_config()
        config["fill"] = self.fill
        return config
