"""Adversarial autoencoder (Makhzani et al. 2016, arXiv 1511.05644).

An encoder q(z|x) and a decoder p(x|z) trained as an autoencoder, while a
discriminator on the latent space makes the aggregated posterior q(z)
match a prior p(z). Each training step runs three phases (section 2):

1. reconstruction: encoder + decoder minimise the reconstruction MSE;
2. regularization, D: tell prior samples (real) from codes E(x) (fake);
3. regularization, G: the encoder fools D.

Supervised variant (section 5, `num_classes=K`): the decoder also gets the
label, so z keeps only the style; with the "mixture10" prior and
`label_prior=True`, each class is matched to its own mixture component.
In this class the engine's `generator` is the decoder and `discriminator`
is the latent D; `encoder` is the third network. The semi-supervised
variant (categorical y head with its own adversarial prior, a
classification phase) is `ganzoo.models.aae.semisupervised.SemiSupervisedAAE`.

Example:
    >>> aae = AAE(encoder, decoder, latent_disc, latent_dim=2, prior="gaussian")
    >>> aae.compile(optimizers={"generator": "adam", "discriminator": "adam", "encoder": "adam"})
    >>> aae.fit(images, batch_size=64, epochs=10)          # doctest: +SKIP
    >>> z = aae.encode(images); x = aae.decode(z)
"""

import keras
import numpy as np
from keras import ops

from ganzoo import backend
from ganzoo.engine import registry
from ganzoo.engine.draws import ModelDraws, NumpyDraws
from ganzoo.engine.gan import GAN
from ganzoo.engine.phases import Phase
from ganzoo.models.aae import priors as priors_lib


@registry.register("model_class")
@keras.saving.register_keras_serializable(package="ganzoo")
class AAE(GAN):
    """Adversarial autoencoder: `GAN` networks (decoder, latent D) + an encoder, three phases.

    Args:
        encoder: x (N, *sample_shape) -> z (N, latent_dim).
        generator: the decoder, z (or [z, y] when `num_classes`) -> x.
        discriminator: z -> logit.
        latent_dim: size of z.
        prior: "gaussian", "mixture10" or "swiss_roll" (`priors.PRIORS`).
        reconstruction_weight: weight of the reconstruction MSE.
        label_prior: supervised mixture10: class y's codes matched to component y.
        Other arguments as `ganzoo.GAN` (the objective is the latent game's).

    Logs `recon` (reconstruction MSE), `d_loss`, `e_loss` (the encoder's adversarial loss).

    Example:
        >>> aae.encode(images[:4]).shape
        (4, 2)
    """

    def __init__(self, encoder, generator, discriminator, latent_dim, prior="gaussian", reconstruction_weight=1.0,
                 label_prior=False, **kwargs):
        self.prior = priors_lib.get(prior)
        self.prior.check_dim(latent_dim)
        if kwargs.get("penalties") or kwargs.get("augment"):
            raise ValueError("AAE takes no penalties or augment (its discriminator judges latent codes).")
        kwargs.pop("penalties", None), kwargs.pop("augment", None)
        self.reconstruction_weight = float(reconstruction_weight)
        self.label_prior = bool(label_prior)
        if self.label_prior and not (kwargs.get("num_classes") and isinstance(self.prior, priors_lib.Mixture10)):
            raise ValueError("label_prior needs the mixture10 prior and num_classes=10 (one component per class).")
        super().__init__(generator, discriminator, latent_dim=latent_dim, **kwargs)
        self.encoder = encoder

    def network_names(self):
        return ("generator", "discriminator", "encoder")

    def phases(self):
        rest = [p for p in super().phases() if p.name not in ("generator", "discriminator")]
        return [
            Phase("reconstruction", networks=("encoder", "generator"), optimizer="generator",
                  loss=self.reconstruction_loss, fakes="none", logs=("recon",)),
            Phase("discriminator", networks=("discriminator",), optimizer="discriminator",
                  loss=self.discriminator_loss, repeat=self.d_steps, logs=("d_prior", "d_code"), total_log="d_loss"),
            Phase("encoder", networks=("encoder",), optimizer="encoder", loss=self.encoder_loss, fakes="live",
                  total_log="e_loss"),
            *rest,
        ]

    # ---------------------------------------------------------------- phases
    def sample_fakes(self, real):
        """The codes of the batch: `{"z": E(x)}` (+ the labels)."""
        fake = {"z": self.encoder(real["x"], training=True)}
        if "y" in real:
            fake["y"] = real["y"]
        return fake

    def prior_samples(self, real):
        n = self.batch_size_of(real)
        if self.label_prior:
            return self.prior.sample_for_labels(ModelDraws(self), real["y"])
        return self.prior.sample(ModelDraws(self), n, self.latent_shape[0])

    def reconstruction_loss(self, real, fake=None):
        z = self.encoder(real["x"], training=True)
        x_hat = self.call_generator(z, real.get("y"), training=True)
        mse = ops.mean(ops.square(ops.cast(x_hat, "float32") - real["x"]))
        return self.reconstruction_weight * mse, {"recon": mse}

    def discriminate_codes(self, z, training=True):
        """D's logits (N,) for latent codes."""
        logits = self.discriminator(z, training=training)
        return ops.cast(ops.reshape(logits, (-1,)), "float32")

    def discriminator_loss(self, real, fake):
        prior_logits = self.discriminate_codes(self.prior_samples(real))
        code_logits = self.discriminate_codes(fake["z"])
        return self.objective.d_loss(prior_logits, code_logits), {
            "d_prior": ops.mean(prior_logits), "d_code": ops.mean(code_logits)}

    def encoder_loss(self, real, fake):
        return self.objective.g_loss(self.discriminate_codes(fake["z"])), {}

    # ---------------------------------------------------------------- API
    def encode(self, images, batch_size=256):
        """Codes E(x) as numpy (N, latent_dim).

        Example:
            >>> z = aae.encode(images)
        """
        x = np.asarray(images, "float32")
        out = []
        for i in range(0, len(x), int(batch_size)):
            with backend.no_grad():
                out.append(ops.convert_to_numpy(self.encoder(ops.convert_to_tensor(x[i:i + int(batch_size)]), training=False)))
        return np.concatenate(out).astype("float32")

    def decode(self, latents, labels=None, **kwargs):
        """Images from codes (the decoder; labels for the supervised variant).

        Example:
            >>> x = aae.decode(aae.encode(images))
        """
        return self.generate(latents=np.asarray(latents, "float32"), labels=labels, use_ema=False, **kwargs)

    def sample_latents_numpy(self, n, seed=None):
        """Prior samples for `generate` (numpy seed: the same on every backend)."""
        return np.asarray(ops.convert_to_numpy(self.prior.sample(NumpyDraws(seed), int(n), self.latent_shape[0])), "float32")

    def get_config(self):
        config = super().get_config()
        config.pop("penalties", None)
        config.update(encoder=keras.saving.serialize_keras_object(self.encoder), prior=self.prior.name,
                      reconstruction_weight=self.reconstruction_weight, label_prior=self.label_prior)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"], custom_objects=custom_objects)
        return super().from_config(config, custom_objects=custom_objects)
