"""Semi-supervised adversarial autoencoder (Makhzani et al. 2016, arXiv 1511.05644, section 5).

The encoder q(y, z|x) has two heads: a categorical y (softmax over K
classes) and a continuous style z. Two discriminators on the latent space
make q(y) match a Categorical prior (one-hot samples, uniform classes) and
q(z) match the style prior (a Gaussian); the decoder p(x|y, z) reads both.
Each training step runs four phases, in the paper's order:

1. reconstruction: encoder + decoder minimise the reconstruction MSE of
   x from (softmax q(y|x), z);
2. regularization, D: `discriminator` tells prior z from codes z,
   `discriminator_y` tells one-hot samples from q(y|x) (one optimizer over
   both: Adam is per-variable, so this equals two Adams);
3. regularization, G: the encoder fools both discriminators;
4. semi-supervised classification: cross-entropy of the y head on the
   labelled rows of the batch (the `labelled` mask), times
   `supervised_weight`.

Batches are dicts `{"x", "y", "labelled"}` (`ganzoo.models.aae.data`):
unlabelled rows carry y = -1 and mask 0. The engine's `generator` is the
decoder, `discriminator` the style D; `encoder` and `discriminator_y` are
the other networks.

Example:
    >>> from ganzoo.models.aae import SemiSupervisedAAE, data
    >>> split = data.semisupervised_digits(per_class=10, seed=0)
    >>> aae = SemiSupervisedAAE(G, D_z, latent_dim=4, encoder=E, discriminator_y=D_y, num_classes=10)
    >>> aae.compile(); aae.fit(split["train"], batch_size=100, epochs=30)   # doctest: +SKIP
    >>> ids = aae.classify(split["test"][0])
"""

import keras
import numpy as np
from keras import ops

from ganzoo import backend
from ganzoo.engine import registry
from ganzoo.engine.draws import ModelDraws
from ganzoo.engine.sampling import check_labels
from ganzoo.models.aae.model import AAE

MASK = "labelled"


@registry.register("model_class")
@keras.saving.register_keras_serializable(package="ganzoo")
class SemiSupervisedAAE(AAE):
    """Semi-supervised AAE: encoder with y and z heads, two latent discriminators, four phases.

    Args:
        generator: the decoder, `[z (N, d), y (N, K) float]` -> x.
        discriminator: the style D, z (N, d) -> logit.
        latent_dim: the style size d.
        encoder: x -> `[y logits (N, K), z (N, d)]` (`aae_semisupervised_encoder`).
        discriminator_y: the categorical D, y (N, K) -> logit.
        num_classes: K (>= 2).
        prior: the style prior ("gaussian" by default, `priors.PRIORS`).
        reconstruction_weight: weight of the reconstruction MSE.
        supervised_weight: weight of the classification cross-entropy.
        Other arguments as `ganzoo.GAN`.

    Logs `recon`, `d_loss` (`d_prior`, `d_code`: style D; `d_cat_prior`,
    `d_cat_code`: categorical D), `e_loss` (`e_style` + `e_cat`),
    `class_loss` and `class_acc` (on the batch's labelled rows).

    Example:
        >>> ids, probs = aae.classify(images[:4], probabilities=True)
        >>> probs.shape
        (4, 10)
    """

    def __init__(self, generator, discriminator, latent_dim, encoder=None, discriminator_y=None, num_classes=10,
                 prior="gaussian", reconstruction_weight=1.0, supervised_weight=1.0, label_prior=False, **kwargs):
        if encoder is None or discriminator_y is None:
            raise ValueError("SemiSupervisedAAE needs encoder= (y and z heads) and discriminator_y= (D on y).")
        if label_prior:
            raise ValueError("label_prior is the supervised AAE's; the semi-supervised AAE infers y (drop it).")
        if isinstance(num_classes, bool) or int(num_classes) < 2:
            raise ValueError(f"num_classes must be >= 2 (the categorical head's size), got {num_classes}.")
        self.supervised_weight = float(supervised_weight)
        super().__init__(encoder, generator, discriminator, latent_dim, prior=prior,
                         reconstruction_weight=reconstruction_weight, num_classes=num_classes, **kwargs)
        self.discriminator_y = discriminator_y
        outputs = getattr(encoder, "outputs", None)
        if outputs is not None and (len(outputs) != 2 or tuple(outputs[0].shape[1:]) != (self.num_classes,)
                                    or tuple(outputs[1].shape[1:]) != self.latent_shape):
            raise ValueError(
                f"The encoder must return [y logits (N, {self.num_classes}), z (N, {self.latent_shape[0]})], got "
                f"{[tuple(o.shape) for o in outputs]}; build it with aae_semisupervised_encoder.")

    def network_names(self):
        return ("generator", "discriminator", "encoder", "discriminator_y")

    def batch_keys(self):
        return ("x", "y", MASK)

    def phases(self):
        out = []
        for phase in super().phases():
            if phase.name == "discriminator":
                phase = phase.replace(networks=("discriminator", "discriminator_y")).with_logs(
                    "d_cat_prior", "d_cat_code")
            elif phase.name == "encoder":
                phase = phase.with_logs("e_style", "e_cat")
            out.append(phase)
            if phase.name == "encoder":
                out.append(phase.replace(name="classification", optimizer="classifier", loss=self.classification_loss,
                                         fakes="none", logs=("class_loss", "class_acc"), total_log=None))
        return out

    # ---------------------------------------------------------------- the step
    def encode_heads(self, x, training=True):
        """The encoder's two heads: `(y logits (N, K) float32, z (N, d) float32)`.

        Example:
            >>> logits, z = aae.encode_heads(real["x"])
        """
        logits, z = self.encoder(x, training=training)
        return ops.cast(logits, "float32"), ops.cast(z, "float32")

    def call_generator(self, z, y=None, training=False):
        """The decoder on `[z, y]`; int class ids `y` (N,) become one-hot vectors first."""
        if y is None:
            raise ValueError("The semi-supervised decoder needs y: class ids (N,) or class vectors (N, K).")
        if len(y.shape) == 1:
            y = ops.one_hot(ops.cast(y, "int32"), self.num_classes)
        return self.generator([z, ops.cast(y, "float32")], training=training)

    def sample_fakes(self, real):
        """The codes of the batch: `{"z": style, "q_y": softmax q(y|x)}`."""
        logits, z = self.encode_heads(real["x"])
        return {"z": z, "q_y": ops.softmax(logits, axis=-1)}

    def prior_samples(self, real):
        """Style prior samples (N, d)."""
        return self.prior.sample(ModelDraws(self), self.batch_size_of(real), self.latent_shape[0])

    def categorical_samples(self, real):
        """One-hot samples (N, K) of the uniform Categorical prior on y."""
        u = ModelDraws(self).uniform((self.batch_size_of(real),))
        k = ops.minimum(ops.cast(ops.floor(u * self.num_classes), "int32"), self.num_classes - 1)
        return ops.one_hot(k, self.num_classes)

    def reconstruction_loss(self, real, fake=None):
        logits, z = self.encode_heads(real["x"])
        x_hat = self.call_generator(z, ops.softmax(logits, axis=-1), training=True)
        mse = ops.mean(ops.square(ops.cast(x_hat, "float32") - real["x"]))
        return self.reconstruction_weight * mse, {"recon": mse}

    def discriminate_categories(self, y, training=True):
        """The categorical D's logits (N,) for class vectors y (N, K)."""
        return ops.cast(ops.reshape(self.discriminator_y(y, training=training), (-1,)), "float32")

    def discriminator_loss(self, real, fake):
        prior_logits = self.discriminate_codes(self.prior_samples(real))
        code_logits = self.discriminate_codes(fake["z"])
        cat_prior = self.discriminate_categories(self.categorical_samples(real))
        cat_code = self.discriminate_categories(fake["q_y"])
        loss = self.objective.d_loss(prior_logits, code_logits) + self.objective.d_loss(cat_prior, cat_code)
        return loss, {"d_prior": ops.mean(prior_logits), "d_code": ops.mean(code_logits),
                      "d_cat_prior": ops.mean(cat_prior), "d_cat_code": ops.mean(cat_code)}

    def encoder_loss(self, real, fake):
        style = self.objective.g_loss(self.discriminate_codes(fake["z"]))
        cat = self.objective.g_loss(self.discriminate_categories(fake["q_y"]))
        return style + cat, {"e_style": style, "e_cat": cat}

    def classification_loss(self, real, fake=None):
        """Masked cross-entropy of q(y|x) on the labelled rows (mean over them), times `supervised_weight`."""
        logits, _ = self.encode_heads(real["x"])
        mask = real[MASK]
        y = ops.maximum(real["y"], 0)  # unlabelled rows (y = -1) are masked out below
        ce = -ops.sum(ops.one_hot(y, self.num_classes) * ops.log_softmax(logits, axis=-1), axis=-1)
        count = ops.maximum(ops.sum(mask), 1.0)
        loss = ops.sum(mask * ce) / count
        hit = ops.cast(ops.equal(ops.cast(ops.argmax(logits, axis=-1), "int32"), y), "float32")
        return self.supervised_weight * loss, {"class_loss": loss, "class_acc": ops.sum(mask * hit) / count}

    # ---------------------------------------------------------------- data
    def unpack_keys_check(self, keys):
        if "x" in keys and MASK not in keys:
            raise ValueError(
                f"SemiSupervisedAAE batches are dicts {{'x', 'y', '{MASK}'}}: '{MASK}' is the 0/1 mask of rows whose "
                "y is a label; build them with ganzoo.models.aae.data.semisupervised_batches(x, y, mask).")
        if keys != set(self.batch_keys()):
            raise ValueError(f"SemiSupervisedAAE reads batches with keys {sorted(self.batch_keys())}; got {sorted(keys)}.")

    def check_batch(self, batch):
        batch = dict(batch)
        mask = batch.pop(MASK)
        labels = batch.pop("y")
        batch = super().check_batch({"x": batch["x"]})
        if not _is_int(labels):
            raise ValueError(
                f"Labels must be integer class ids (-1 for unlabelled rows), got dtype "
                f"{keras.backend.standardize_dtype(labels.dtype)}; cast them, e.g. y.astype('int32').")
        batch["y"] = ops.reshape(ops.cast(labels, "int32"), (-1,))
        batch[MASK] = ops.reshape(ops.cast(mask, "float32"), (-1,))
        return batch

    def check_fit_data(self, x, y=None):
        """Numpy fit data: a dict `{"x", "y", "labelled"}`, labelled ids in range, a 0/1 mask.

        Example:
            >>> aae.check_fit_data(data.semisupervised_batches(x, y, mask))
        """
        if not isinstance(x, dict):
            if hasattr(x, "shape"):
                raise ValueError(
                    "SemiSupervisedAAE.fit takes a dict {'x', 'y', 'labelled'} (images, class ids with -1 for "
                    "unlabelled rows, 0/1 mask), e.g. ganzoo.models.aae.data.semisupervised_batches(x, y, mask).")
            return super().check_fit_data(x, y)  # datasets: their element structure is checked
        if y is not None:
            raise ValueError("Pass the labels inside the batch dict (its 'y' entry), not as fit's y.")
        self.unpack_keys_check(set(x))
        n = len(x["x"])
        labels, mask = np.asarray(x["y"]), np.asarray(x[MASK])
        if labels.shape != (n,) or mask.shape != (n,):
            raise ValueError(f"'y' and '{MASK}' must have shape ({n},) (one per image), got {labels.shape} and "
                             f"{mask.shape}.")
        if not np.isin(mask, (0, 1)).all():
            raise ValueError(f"'{MASK}' must hold 0/1 (1: the row's y is a label), got values "
                             f"{np.unique(mask)[:8].tolist()}.")
        if not mask.any():
            raise ValueError(f"'{MASK}' marks no row as labelled; the classification phase needs labelled rows.")
        check_labels(labels[mask.astype(bool)], None, self.num_classes)
        super().check_fit_data(x)  # the keys and the image range

    # ---------------------------------------------------------------- API
    def encode(self, images, batch_size=256):
        """Style codes z (N, d) as numpy (`classify` gives y).

        Example:
            >>> z = aae.encode(images)
        """
        return self.heads_numpy(images, batch_size)[1]

    def classify(self, images, probabilities=False, batch_size=256):
        """Class ids (N,) int32 from the y head; with `probabilities`, also q(y|x) (N, K).

        Example:
            >>> ids = aae.classify(images)
            >>> ids, probs = aae.classify(images, probabilities=True)
        """
        logits = self.heads_numpy(images, batch_size)[0]
        probs = np.exp(logits - logits.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        ids = probs.argmax(-1).astype("int32")
        return (ids, probs.astype("float32")) if probabilities else ids

    def heads_numpy(self, images, batch_size=256):
        """Both heads as numpy: `(y logits (N, K), z (N, d))`, inference mode.

        Example:
            >>> logits, z = aae.heads_numpy(images)
        """
        x = np.asarray(images, "float32")
        if tuple(x.shape[1:]) != tuple(self.sample_shape):
            raise ValueError(f"Images must have shape (N, {', '.join(map(str, self.sample_shape))}), got {x.shape}.")
        heads = ([], [])
        for i in range(0, len(x), int(batch_size)):
            with backend.no_grad():
                logits, z = self.encode_heads(ops.convert_to_tensor(x[i:i + int(batch_size)]), training=False)
            heads[0].append(ops.convert_to_numpy(logits))
            heads[1].append(ops.convert_to_numpy(z))
        return tuple(np.concatenate(h).astype("float32") for h in heads)

    def get_config(self):
        config = super().get_config()
        config.update(discriminator_y=keras.saving.serialize_keras_object(self.discriminator_y),
                      supervised_weight=self.supervised_weight)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["discriminator_y"] = keras.saving.deserialize_keras_object(config["discriminator_y"],
                                                                          custom_objects=custom_objects)
        return super().from_config(config, custom_objects=custom_objects)


def _is_int(x):
    return "int" in keras.backend.standardize_dtype(x.dtype)
