"""AC-GAN (Odena et al. 2017, arXiv 1610.09585): D also classifies.

D has an auxiliary classifier head (`class_logits`). With L_S the usual
adversarial objective and L_C the class cross-entropy,

    D minimises  L_S^D + w * (CE(C(x), y) + CE(C(G(z, c)), c))
    G minimises  L_S^G + w * CE(C(G(z, c)), c)

i.e. both networks maximise the log-likelihood of the correct class (the
paper's L_C) while playing the adversarial game. `fake_class_loss=False`
drops the fake term from D's loss (trains the classifier on real data only,
a common variant that keeps D from rewarding easy-to-classify fakes).

Example:
    >>> from ganzoo.architectures import dcgan_generator, dcgan_discriminator
    >>> G = dcgan_generator(latent_dim=32, resolution=32, channels=1, num_classes=10)
    >>> D = dcgan_discriminator(resolution=32, channels=1, num_classes=10, aux_classifier=True)
    >>> gan = ACGAN(G, D, latent_dim=32, num_classes=10)
    >>> gan.compile(); gan.fit(images, labels, batch_size=64)      # doctest: +SKIP
"""

import keras
from keras import ops

from ganzoo.engine import registry
from ganzoo.engine.gan import GAN


def class_cross_entropy(class_logits, labels):
    """Mean sparse categorical cross-entropy of class logits (N, K) against ids (N,).

    Example:
        >>> float(class_cross_entropy(ops.zeros((2, 4)), ops.array([0, 3])))   # log 4
        1.386...
    """
    ce = keras.losses.sparse_categorical_crossentropy(labels, class_logits, from_logits=True)
    return ops.mean(ops.cast(ce, "float32"))


def class_accuracy(class_logits, labels):
    """Share of samples whose arg-max class is the label.

    Example:
        >>> float(class_accuracy(ops.array([[2.0, 0.0], [0.0, 1.0]]), ops.array([0, 0])))
        0.5
    """
    hit = ops.equal(ops.cast(ops.argmax(class_logits, axis=-1), "int32"), ops.cast(labels, "int32"))
    return ops.mean(ops.cast(hit, "float32"))


@registry.register("model_class")
@keras.saving.register_keras_serializable(package="ganzoo")
class ACGAN(GAN):
    """Auxiliary-classifier GAN: a conditional `GAN` whose D predicts the class.

    Args:
        generator: a conditional generator `G([z, y])`.
        discriminator: returns `{"logits", "class_logits"}` (build it with
            `aux_classifier=True`); it may also be label-conditioned.
        num_classes: number of classes (required, >= 2).
        class_weight: weight `w` of the class loss in both networks.
        fake_class_loss: include the fakes' class loss in D's loss (paper).
        Other arguments as `ganzoo.GAN`.

    Logs `d_class` (D's class loss), `d_accuracy` (real-data class accuracy)
    and `g_class` (G's class loss) besides the GAN's own.

    Example:
        >>> gan = ACGAN(G, D, latent_dim=32, num_classes=10, class_weight=1.0)
    """

    def __init__(self, generator, discriminator, latent_dim, num_classes, class_weight=1.0,
                 fake_class_loss=True, **kwargs):
        if not num_classes or int(num_classes) < 2:
            raise ValueError(f"ACGAN needs num_classes >= 2, got {num_classes!r}.")
        if float(class_weight) < 0:
            raise ValueError(f"class_weight must be >= 0, got {class_weight}.")
        self.class_weight = float(class_weight)
        self.fake_class_loss = bool(fake_class_loss)
        super().__init__(generator, discriminator, latent_dim, num_classes=num_classes, **kwargs)

    def phases(self):
        d, g, *rest = super().phases()
        return [d.with_logs("d_class", "d_accuracy"), g.with_logs("g_class"), *rest]

    @staticmethod
    def _class_logits(out):
        if "class_logits" not in out:
            raise ValueError(
                "ACGAN's discriminator must return {'logits', 'class_logits'}: build it with "
                "aux_classifier=True (e.g. dcgan_discriminator(..., num_classes=K, aux_classifier=True))."
            )
        return out["class_logits"]

    def discriminator_terms(self, real, fake, real_out, fake_out):
        real_logits = self._class_logits(real_out)
        ce = class_cross_entropy(real_logits, real["y"])
        if self.fake_class_loss:
            ce = ce + class_cross_entropy(self._class_logits(fake_out), fake["y"])
        logs = {"d_class": ce, "d_accuracy": class_accuracy(real_logits, real["y"])}
        return self.class_weight * ce, logs

    def generator_terms(self, real, fake, fake_out):
        ce = class_cross_entropy(self._class_logits(fake_out), fake["y"])
        return self.class_weight * ce, {"g_class": ce}

    def get_config(self):
        config = super().get_config()
        config.update(class_weight=self.class_weight, fake_class_loss=self.fake_class_loss)
        return config
