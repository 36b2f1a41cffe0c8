"""InfoGAN (Chen et al. 2016, arXiv 1606.03657): codes the generator must keep recoverable.

G takes `[noise, categorical codes, continuous codes]` (`LatentCodes`); a Q
head on D's last feature map predicts the codes of a fake. The variational
lower bound of the mutual information I(c; G(z, c)) is maximised by G and
Q (Q shares D's body, so D's phase trains it):

    L_info = lambda_cat * sum_j CE(Q_j(x), c_j) + lambda_cont * mean 0.5 (Q_cont(x) - c_cont)^2
    D (+ Q) minimises  L_D + L_info(fakes)        G minimises  L_G + L_info(fakes)

Optionally (`real_info_weight` w > 0, off in the paper) D's phase adds
w * `clustering_loss` of Q's first categorical code on real images.

Continuous codes use a factored Gaussian with unit variance (the constant
log-normaliser dropped), as the paper's MNIST setting with fixed sigma;
lambda = 1 (categorical) and 0.1 (continuous) by default.

Example:
    >>> from ganzoo.architectures import dcgan_generator, dcgan_discriminator
    >>> codes = LatentCodes(62, (10,), 2)
    >>> G = dcgan_generator(latent_dim=codes.latent_dim, resolution=32, channels=1)
    >>> D = dcgan_discriminator(resolution=32, channels=1, return_features=True)
    >>> gan = InfoGAN(G, D, noise_dim=62, categorical=(10,), continuous=2)
    >>> sevens_ish = gan.generate(8, seed=0, categorical=3)          # doctest: +SKIP
"""

import keras
import numpy as np
from keras import ops

from ganzoo.engine import registry
from ganzoo.engine.gan import GAN
from ganzoo.models.infogan.codes import LatentCodes


def q_head(feature_shape, q_dim, width=128, name="q_network"):
    """Q's head on D's features: flatten -> dense(width) -> LeakyReLU(0.1) -> dense(q_dim).

    Example:
        >>> q = q_head((4, 4, 128), 12)
        >>> q.output.shape
        (None, 12)
    """
    x_in = keras.Input(tuple(feature_shape))
    h = keras.layers.Flatten()(x_in) if len(feature_shape) > 1 else x_in
    h = keras.layers.LeakyReLU(0.1)(keras.layers.Dense(width)(h))
    return keras.Model(x_in, keras.layers.Dense(q_dim)(h), name=name)


def info_loss(codes, q, categorical, continuous):
    """InfoGAN's code losses for Q's output `q` against the codes that made the fakes.

    Returns `(categorical cross-entropy summed over codes, continuous 0.5 * MSE)`.

    Example:
        >>> cat, cont = info_loss(codes, q, fake["categorical"], fake["continuous"])
    """
    logits, means = codes.split_q(ops.cast(q, "float32"))
    ce = 0.0
    for j, lg in enumerate(logits):
        ce = ce + ops.mean(keras.losses.sparse_categorical_crossentropy(categorical[:, j], lg, from_logits=True))
    gaussian = 0.5 * ops.mean(ops.square(means - continuous)) if means is not None else 0.0
    return ce, gaussian


def clustering_loss(logits):
    """H(p(c|x)) - H(mean_x p(c|x)) for logits `(N, k)`: minus the mutual information between x and c.

    Regularized information maximization (Krause et al. 2010): each real image
    confidently in one category, all categories used. -log(k) at best, 0 when
    every row is the same distribution.

    Example:
        >>> float(clustering_loss(ops.convert_to_tensor(np.eye(4) * 50.0)))  # doctest: +ELLIPSIS
        -1.386...
    """
    logp = ops.log_softmax(ops.cast(logits, "float32"), axis=-1)
    p = ops.exp(logp)
    conditional = -ops.mean(ops.sum(p * logp, axis=-1))
    marginal = ops.mean(p, axis=0)
    return conditional + ops.sum(marginal * ops.log(marginal + 1e-8))


@registry.register("model_class")
@keras.saving.register_keras_serializable(package="ganzoo")
class InfoGAN(GAN):
    """An InfoGAN: `GAN` + structured latent codes + a Q head on D's features.

    Args:
        generator: takes latents of size `noise_dim + sum(categorical) + continuous`.
        discriminator: returns `{"logits", "features"}` (build it with
            `return_features=True`); Q reads `features`.
        noise_dim, categorical, continuous: the latent layout (`LatentCodes`).
        noise: "normal" (N(0, 1), default) or "uniform" (U(-1, 1)) noise.
        info_weights: `(lambda_cat, lambda_cont)` (paper: 1 and 0.1).
        real_info_weight: weight of `clustering_loss` of Q's first categorical
            code on real images, added to D's phase (0: off, the paper).
        q_network: Q's head on D's features (default `q_head(...)`).
        Other arguments as `ganzoo.GAN` (latent_dim is implied).

    Logs `d_info` (Q's code loss in D's phase, with the weighted
    `clustering_loss` when `real_info_weight` > 0), `q_accuracy` (share of
    fakes whose first categorical code Q recovers) and `g_info`.

    Example:
        >>> gan = InfoGAN(G, D, noise_dim=62, categorical=(10,), continuous=2)
        >>> gan.compile(); gan.fit(images, batch_size=64, epochs=20)     # doctest: +SKIP
        >>> grid = gan.traverse("continuous:0", rows=10, steps=8, seed=0) # doctest: +SKIP
    """

    def __init__(self, generator, discriminator, noise_dim=62, categorical=(10,), continuous=2,
                 info_weights=(1.0, 0.1), q_network=None, noise="normal", real_info_weight=0.0, **kwargs):
        self.codes = LatentCodes(noise_dim, categorical, continuous, noise)
        latent_dim = kwargs.pop("latent_dim", None)
        if latent_dim is not None and int(latent_dim) != self.codes.latent_dim:
            raise ValueError(
                f"latent_dim={latent_dim} but the codes need {self.codes.latent_dim} "
                f"(noise {self.codes.noise_dim} + categorical {sum(self.codes.categorical)} + continuous "
                f"{self.codes.continuous}); drop latent_dim or match it."
            )
        if kwargs.get("num_classes"):
            raise ValueError("InfoGAN learns its categories unsupervised: it takes no num_classes.")
        weights = tuple(float(w) for w in info_weights)
        if len(weights) != 2 or min(weights) < 0:
            raise ValueError(f"info_weights must be (lambda_cat, lambda_cont) >= 0, got {info_weights}.")
        self.info_weights = weights
        self.real_info_weight = float(real_info_weight)
        if self.real_info_weight < 0 or (self.real_info_weight and not self.codes.categorical):
            raise ValueError(f"real_info_weight must be >= 0 and needs a categorical code, got {real_info_weight}.")
        outputs = getattr(discriminator, "output", None)
        if not isinstance(outputs, dict) or "features" not in outputs:
            raise ValueError(
                "InfoGAN's Q head reads D's features: build the discriminator with return_features=True "
                "(a functional model returning {'logits', 'features'})."
            )
        q_network = q_network or q_head(tuple(outputs["features"].shape[1:]), self.codes.q_dim)
        super().__init__(generator, discriminator, latent_dim=self.codes.latent_dim, **kwargs)
        self.q_network = q_network

    def network_names(self):
        return (*super().network_names(), "q_network")

    def phases(self):
        d, g, *rest = super().phases()
        # Q shares D's body: D's phase trains D and Q on the code loss of its (detached) fakes.
        d = d.replace(networks=("discriminator", "q_network")).with_logs("d_info", "q_accuracy")
        return [d, g.with_logs("g_info"), *rest]

    # ------------------------------------------------------------ training
    def sample_fakes(self, real):
        """`{"x", "z", "categorical", "continuous"}` with codes drawn for each fake."""
        n = self.batch_size_of(real)
        z, cat, cont = self.codes.sample(self, n)
        fake = {"x": self.generator(z, training=True), "z": z}
        if cat is not None:
            fake["categorical"] = cat
        if cont is not None:
            fake["continuous"] = cont
        return fake

    def code_loss(self, fake, fake_out):
        """`(weighted total, categorical CE, continuous term, accuracy of code 0)` for fakes."""
        q = self.q_network(fake_out["features"], training=True)
        cat, cont = info_loss(self.codes, q, fake.get("categorical"), fake.get("continuous"))
        total = self.info_weights[0] * cat + self.info_weights[1] * cont
        accuracy = 0.0
        if self.codes.categorical:
            logits, _ = self.codes.split_q(ops.cast(q, "float32"))
            hit = ops.equal(ops.cast(ops.argmax(logits[0], axis=-1), "int32"), fake["categorical"][:, 0])
            accuracy = ops.mean(ops.cast(hit, "float32"))
        return total, accuracy

    def real_info_loss(self, real_out):
        """`clustering_loss` of Q's first categorical code on D's features of real images.

        Example:
            >>> loss = gan.real_info_loss(gan.discriminator(real_images, training=True))
        """
        logits, _ = self.codes.split_q(ops.cast(self.q_network(real_out["features"], training=True), "float32"))
        return clustering_loss(logits[0])

    def discriminator_terms(self, real, fake, real_out, fake_out):
        total, accuracy = self.code_loss(fake, fake_out)
        if self.real_info_weight:
            total = total + self.real_info_weight * self.real_info_loss(real_out)
        return total, {"d_info": total, "q_accuracy": accuracy}

    def generator_terms(self, real, fake, fake_out):
        total, _ = self.code_loss(fake, fake_out)
        return total, {"g_info": total}

    # ------------------------------------------------------------ sampling
    def sample_latents_numpy(self, n, seed=None):
        return self.codes.sample_numpy(n, seed)

    def generate(self, n=None, *, seed=None, latents=None, categorical=None, continuous=None, **kwargs):
        """Sample with chosen codes: `categorical` / `continuous` fixed, the rest drawn from `seed`.

        Args:
            categorical: with one categorical code, an int (all samples) or
                one per sample; with several, one value per code or (n, k).
            continuous: one value per continuous code (all samples) or (n, m).
            Other arguments as `GAN.generate`.

        Example:
            >>> threes = gan.generate(16, seed=0, categorical=3)
            >>> tilted = gan.generate(16, seed=0, categorical=3, continuous=[1.5, 0.0])
        """
        if latents is None and (categorical is not None or continuous is not None):
            if n is None:
                for given in (categorical, continuous):
                    if given is not None and np.ndim(given) >= 1 and len(given) not in (
                            len(self.codes.categorical), self.codes.continuous):
                        n = len(given)
            if n is None or int(n) < 1:
                raise ValueError(f"generate() needs a positive number of samples, got n={n!r}.")
            latents = self.codes.sample_numpy(int(n), seed, categorical, continuous)
        return super().generate(n, seed=seed, latents=latents, **kwargs)

    def traverse(self, code="continuous:0", rows=10, steps=8, seed=0, span=(-2.0, 2.0), **kwargs):
        """A latent-traversal grid: each row one noise draw, each column one value of `code`.

        `code` is "categorical:J" (columns: its values 0..k-1; `steps`
        ignored) or "continuous:J" (columns: `steps` values over `span`,
        beyond the training range U(-1, 1) as the paper's figures). Other
        codes are held at one draw per row. Returns `(rows * columns, H, W, C)`
        in row order, for `make_grid(..., nrow=columns)`.

        Example:
            >>> grid = gan.traverse("categorical:0", rows=5, seed=0)
            >>> grid.shape[0]
            50
        """
        kind, _, index = str(code).partition(":")
        try:
            j = int(index)
        except ValueError:
            j = -1
        sizes = {"categorical": len(self.codes.categorical), "continuous": self.codes.continuous}
        if kind not in sizes or not 0 <= j < sizes[kind]:
            valid = [f"categorical:{i}" for i in range(sizes["categorical"])] + [
                f"continuous:{i}" for i in range(sizes["continuous"])]
            raise ValueError(f"Unknown code {code!r}; this InfoGAN has {', '.join(valid)}.")
        base = self.codes.sample_numpy(int(rows), seed)  # (rows, latent)
        start = self.codes.noise_dim
        if kind == "categorical":
            offset = start + sum(self.codes.categorical[:j])
            k = self.codes.categorical[j]
            values = range(k)
        else:
            offset = start + sum(self.codes.categorical) + j
            values = np.linspace(float(span[0]), float(span[1]), int(steps))
        latents = []
        for r in range(int(rows)):
            for v in values:
                z = base[r].copy()
                if kind == "categorical":
                    z[offset:offset + k] = 0.0
                    z[offset + v] = 1.0
                else:
                    z[offset] = v
                latents.append(z)
        return super().generate(latents=np.stack(latents), **kwargs)

    # -------------------------------------------------------------- config
    def get_config(self):
        config = super().get_config()
        config.pop("latent_dim", None)
        config.update(self.codes.get_config())
        config.update(info_weights=list(self.info_weights), real_info_weight=self.real_info_weight,
                      q_network=keras.saving.serialize_keras_object(self.q_network))
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["q_network"] = keras.saving.deserialize_keras_object(config["q_network"], custom_objects=custom_objects)
        return super().from_config(config, custom_objects=custom_objects)
