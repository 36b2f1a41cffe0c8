"""SRGAN (Ledig et al. 2017, arXiv 1609.04802): photo-realistic x4 super-resolution.

Batches are `(lr, hr)` pairs (`{"source": lr, "target": hr}`, e.g. from
`ganzoo.data.superres(...)`, which makes LR images by bicubic downsampling).

Two stages, each a recipe:

1. SRResNet pre-training (`pretrain=True`): G alone minimises the pixel MSE
   E(G(lr) - hr)^2 in one phase; D is not trained (`srresnet-*` recipes).
2. SRGAN (`pretrain=False`): the perceptual loss of G is the content loss +
   1e-3 x the adversarial loss -log D(G(lr)) (non-saturating); D minimises
   -log D(hr) - log(1 - D(G(lr))). The content loss is "vgg54" (VGG19
   phi_5,4 feature MSE / 12.75^2, `ganzoo.models.srgan.perceptual`) or "mse".
   The paper starts SRGAN from the pre-trained SRResNet.

`sr.upscale(images)` is `translate`: numpy LR images in [-1, 1] in, HR out.

Example:
    >>> sr = SRGAN(srresnet(scale=4), srgan_discriminator(image_size=96), pretrain=True)
    >>> sr.compile(g_optimizer=keras.optimizers.Adam(1e-4, 0.9))
    >>> sr.fit(lr_images, hr_images, batch_size=16, epochs=1)
    >>> hr = sr.upscale(lr_images[:4])
"""

import keras
from keras import ops

from ganzoo.engine import registry
from ganzoo.engine.phases import Phase
from ganzoo.engine.translation import ImageTranslationGAN
from ganzoo.models.srgan.perceptual import VGGContent

CONTENT = ("vgg54", "mse")


def mse(x, y):
    """Mean squared difference, float32.

    Example:
        >>> float(mse(keras.ops.ones((2,)), keras.ops.zeros((2,))))
        1.0
    """
    return ops.mean(ops.square(ops.cast(x, "float32") - ops.cast(y, "float32")))


@registry.register("model_class")
@keras.saving.register_keras_serializable(package="ganzoo")
class SRGAN(ImageTranslationGAN):
    """SRResNet pre-training and SRGAN training on `(lr, hr)` pairs (see the module docstring).

    Args:
        generator: LR -> HR (`srresnet`).
        discriminator: judges HR images (`srgan_discriminator`).
        pretrain: True: the MSE-only SRResNet phase; False: the SRGAN phases.
        content: "vgg54" or "mse" (the content part of the perceptual loss).
        adversarial_weight: weight of G's adversarial loss (1e-3).
        vgg_weights: "imagenet" (the paper's) or None (random VGG, for tests).
        objective: default "non_saturating" (the paper's).

    Example:
        >>> sr = SRGAN(G, D, content="vgg54", vgg_weights="imagenet")
    """

    def __init__(self, generator, discriminator, pretrain=False, content="vgg54", adversarial_weight=1e-3,
                 vgg_weights="imagenet", objective="non_saturating", **kwargs):
        if content not in CONTENT:
            raise ValueError(f"content must be one of {', '.join(CONTENT)}; got {content!r}.")
        super().__init__(generator, discriminator, objective=objective, **kwargs)
        self.pretrain = bool(pretrain)
        self.content = content
        self.adversarial_weight = float(adversarial_weight)
        self.vgg_weights = vgg_weights
        self.content_loss = VGGContent(weights=vgg_weights) if content == "vgg54" else None

    @property
    def scale(self):
        """The upscaling factor (HR size / LR size), from the generator's shapes when known."""
        h_in, h_out = self.generator.inputs[0].shape[1], self.generator.outputs[0].shape[1]
        if h_in is None or h_out is None:
            return None
        return int(h_out) // int(h_in)

    def phases(self):
        """Pre-training: one MSE phase for G. SRGAN: the engine's D phase, then G's perceptual loss.

        Example:
            >>> [p.name for p in SRGAN(G, D, pretrain=True).phases()]
            ['pretrain']
        """
        if self.pretrain:
            return [Phase("pretrain", networks=("generator",), optimizer="generator", loss=self.pretrain_loss,
                          fakes="none", logs=("mse",), total_log="g_loss")]
        d, g = super().phases()[:2]
        return [d, g.with_logs("content", "g_adversarial")]

    def pretrain_loss(self, real, fake=None):
        """SRResNet's pixel MSE, E(G(lr) - hr)^2.

        Example:
            >>> loss, logs = sr.pretrain_loss({"source": lr, "target": hr})
        """
        value = mse(self.generator(real["source"], training=True), real["target"])
        return value, {"mse": value}

    def generator_loss(self, real, fake):
        """The perceptual loss: content + adversarial_weight * (-log D(G(lr))).

        Example:
            >>> loss, logs = sr.generator_loss(real, sr.sample_fakes(real))
        """
        adversarial = self.objective.g_loss(self.discriminate(fake["x"])["logits"])
        if self.content == "vgg54":
            content = self.content_loss(real["target"], fake["x"])
        else:
            content = mse(fake["x"], real["target"])
        return content + self.adversarial_weight * adversarial, {"content": content, "g_adversarial": adversarial}

    def fit(self, *args, **kwargs):
        """`GAN.fit`; builds the VGG extractor first (outside any traced step).

        Example:
            >>> sr.fit(lr_images, hr_images, batch_size=16)
        """
        if self.content_loss is not None and not self.pretrain:
            self.content_loss.build()
        return super().fit(*args, **kwargs)

    def upscale(self, images, batch_size=16, progress=None):
        """Super-resolve images: numpy NHWC in [-1, 1] in, `scale` times larger out.

        Example:
            >>> sr.upscale(np.zeros((2, 24, 24, 3), "float32")).shape
            (2, 96, 96, 3)
        """
        return self.translate(images, batch_size=batch_size, progress=progress)

    def get_config(self):
        config = super().get_config()
        config.update(pretrain=self.pretrain, content=self.content, adversarial_weight=self.adversarial_weight,
                      vgg_weights=self.vgg_weights)
        for key in ("penalties", "d_steps", "ema_decay"):
            config.pop(key, None)
        return config
