"""BigGAN-deep (Brock et al. 2019, arXiv 1809.11096) as a `ganzoo.GAN`: sampling and fine-tuning.

Sampling follows DeepMind's TF-Hub module and pytorch-pretrained-biggan:
`generate(n, seed=..., labels=..., truncation=t)` draws
`z = t * TruncatedNormal(-2, 2)` (numpy, the same on every backend) and runs
the generator with the standing batch-norm statistics of truncation `t`;
`generate(latents=z, labels=..., truncation=t)` takes z as given and `t`
only selects the statistics, as the port's `model(z, one_hot, t)`.
Labels are ImageNet class ids or names (`class_ids("golden retriever")`).

Training (fine-tuning) is the generic engine: hinge loss, 2 D steps per G
step (BigGAN's defaults), batch statistics in G's batch norms, spectral
norm's `u` updated by one power iteration per call (as in the TF module).

Example:
    >>> import ganzoo
    >>> gan = ganzoo.load("biggan-deep-128")                                # doctest: +SKIP
    >>> imgs = gan.generate(4, seed=0, labels="golden retriever", truncation=0.4)   # doctest: +SKIP
"""

import difflib

import keras
import numpy as np
from keras import ops

from ganzoo import backend
from ganzoo.engine import registry
from ganzoo.engine.gan import GAN
from ganzoo.engine.latents import check_truncation, sample_truncated_normal
from ganzoo.engine.sampling import check_labels
from ganzoo.models.biggan_deep.imagenet_classes import IMAGENET_CLASSES
from ganzoo.models.biggan_deep.layers import record_batch_moments, truncation_weights
from ganzoo.models.biggan_deep.networks import Generator

_BY_NAME = {name.lower(): i for i, name in enumerate(IMAGENET_CLASSES)}


def imagenet_class_id(name):
    """The ImageNet index of a class name (case-insensitive), or a ValueError suggesting the closest.

    A string of digits is read as the index itself (what the CLI passes).

    Example:
        >>> imagenet_class_id("Golden Retriever"), imagenet_class_id("207")
        (207, 207)
    """
    key = " ".join(str(name).replace("_", " ").split()).lower()
    if key.isdigit():
        return int(key)
    if key in _BY_NAME:
        return _BY_NAME[key]
    close = difflib.get_close_matches(key, list(_BY_NAME), n=3, cutoff=0.6)
    hint = (" Did you mean " + ", ".join(f"{IMAGENET_CLASSES[_BY_NAME[c]]!r} ({_BY_NAME[c]})" for c in close) + "?"
            if close else "")
    raise ValueError(
        f"Unknown ImageNet class name {name!r}.{hint} "
        "ganzoo.models.biggan_deep.IMAGENET_CLASSES lists all 1000 in index order."
    )


@registry.register("model_class")
@keras.saving.register_keras_serializable(package="ganzoo")
class BigGANDeep(GAN):
    """BigGAN-deep: a class-conditional `GAN` with truncation-aware sampling.

    Args:
        generator: a `ganzoo.models.biggan_deep.networks.Generator`.
        discriminator: a `networks.Discriminator` (`D([x, y])`).
        latent_dim: defaults to the generator's `z_dim`.
        objective: default "hinge"; d_steps: default 2 (Brock et al. 2019).

    Example:
        >>> from ganzoo.models.biggan_deep.networks import biggan_deep_generator, biggan_deep_discriminator
        >>> G = biggan_deep_generator(32, ch=4, z_dim=8, num_classes=10,
        ...                           layers=[(True, 4, 2), (True, 2, 1), (True, 1, 1)], attention_position=1)
        >>> D = biggan_deep_discriminator(32, ch=4, num_classes=10, layers=G.layer_spec, attention_position=1)
        >>> gan = BigGANDeep(G, D)
        >>> gan.generate(2, seed=0, labels=[3, 4], truncation=0.5).shape
        (2, 32, 32, 3)
    """

    def __init__(self, generator, discriminator, latent_dim=None, objective="hinge", penalties=None, d_steps=2,
                 ema_decay=None, seed=None, **kwargs):
        if not isinstance(generator, Generator):
            raise TypeError(
                f"BigGANDeep needs a ganzoo.models.biggan_deep.networks.Generator, got {type(generator).__name__}."
            )
        if latent_dim is None:
            latent_dim = generator.z_dim
        if int(latent_dim) != generator.z_dim:
            raise ValueError(f"latent_dim {latent_dim} does not match the generator's z_dim {generator.z_dim}.")
        d_classes = getattr(discriminator, "num_classes", generator.num_classes)
        if d_classes != generator.num_classes:
            raise ValueError(
                f"The generator has {generator.num_classes} classes but the discriminator {d_classes}; "
                "build both with the same num_classes."
            )
        given = kwargs.pop("num_classes", None)
        if given is not None and int(given) != generator.num_classes:
            raise ValueError(f"num_classes={given} does not match the generator's {generator.num_classes} classes.")
        super().__init__(generator, discriminator, latent_dim=int(latent_dim), objective=objective,
                         penalties=penalties, d_steps=d_steps, ema_decay=ema_decay, seed=seed,
                         num_classes=generator.num_classes, **kwargs)

    def infer_sample_shape(self):
        r = self.generator.resolution
        return (r, r, 3)

    def discriminate(self, x, y=None, training=True):
        """D(x, y) as `{"logits": (N,)}` (projection D: labels required).

        Example:
            >>> gan.discriminate(images, labels)["logits"]
        """
        if y is None:
            raise ValueError("BigGAN-deep's discriminator is class-conditional: discriminate(x, y) needs labels y.")
        x = self.augment_images(x, training)  # DiffAugment / ADA when the model has one
        logits = self.discriminator([x, y], training=training)
        return {"logits": ops.cast(ops.reshape(logits, (-1,)), "float32")}

    # ------------------------------------------------------------- sampling
    def class_ids(self, labels, n=None):
        """Class ids (int32, (n,)) from ids, ImageNet names, or a mix; range-checked.

        Example:
            >>> gan.class_ids(["tench", 207])
            array([  0, 207], dtype=int32)
        """
        def one(label):
            if isinstance(label, str):
                if self.num_classes != len(IMAGENET_CLASSES):
                    raise ValueError(
                        f"class names are ImageNet's; this model has {self.num_classes} classes: pass class ids."
                    )
                return imagenet_class_id(label)
            return label

        if isinstance(labels, str):
            labels = one(labels)
        elif isinstance(labels, (list, tuple)) or (isinstance(labels, np.ndarray) and labels.dtype.kind in "OUS"):
            labels = [one(label) for label in list(labels)]
        return check_labels(labels, n, self.num_classes)

    def generate(self, n=None, *, seed=None, latents=None, labels=None, truncation=1.0, batch_size=16,
                 use_ema=True):
        """Sample images (NHWC float32 in [-1, 1]) of ImageNet classes.

        Args:
            n, seed: number of images and the numpy seed of their latents,
                `z = truncation * TruncatedNormal(-2, 2)` (same on every backend).
            latents: explicit z (N, z_dim) used as given (`truncation` then only
                selects the batch-norm statistics, as the port's `model(z, y, t)`).
            labels: one class (id or ImageNet name, e.g. 207 or "golden
                retriever") for all images, or one per image.
            truncation: in (0, 1]; 0.4 is typical for high-fidelity samples.
            batch_size: images per forward pass.
            use_ema: use the generator EMA when the model keeps one.

        Example:
            >>> dogs = gan.generate(4, seed=0, labels="golden retriever", truncation=0.4)
            >>> same = gan.generate(latents=z, labels=[207] * 4, truncation=0.4)
        """
        t = check_truncation(truncation)
        if latents is None:
            if n is None and labels is not None and not isinstance(labels, str) and np.ndim(labels) == 1:
                n = len(labels)
            if n is None or isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                raise ValueError(f"generate() needs a positive number of samples, got n={n!r}.")
            latents = self.sample_latents_numpy(int(n), seed, truncation=t)
        latents = np.asarray(latents, dtype="float32")
        if latents.ndim != 2 or latents.shape[1] != self.generator.z_dim or len(latents) == 0:
            raise ValueError(f"latents must have shape (N, {self.generator.z_dim}) with N >= 1, got {latents.shape}.")
        y = self.class_ids(labels, len(latents))
        w = truncation_weights(t, self.generator.n_stats)
        # Where Keras compiles predict (JAX), op-by-op eager calls compile every op for every
        # batch size: run the compiled predict instead, on batches padded to a power of two.
        # EMA weights live outside the generator's variables, so sampling from them stays eager.
        compiled = backend.COMPILES_PER_BATCH_SIZE and not (use_ema and self.ema_weights)
        outputs = []
        for start in range(0, len(latents), int(batch_size)):
            z = latents[start:start + int(batch_size)]
            yc = y[start:start + int(batch_size)]
            if compiled:
                size = len(z)
                padded = min(int(batch_size), 1 << (size - 1).bit_length())
                z = np.concatenate([z, np.zeros((padded - size, z.shape[1]), "float32")])
                yc = np.concatenate([yc, np.zeros((padded - size,), "int32")])
                out = self.generator.predict_on_batch([z, yc, np.tile(w, (padded, 1))])[:size]
            else:
                with backend.no_grad(), self.sampling_scope(use_ema):
                    out = self.generator([ops.convert_to_tensor(z), ops.convert_to_tensor(yc, "int32"),
                                          ops.convert_to_tensor(w)], training=False)
            outputs.append(np.asarray(ops.convert_to_numpy(out), dtype="float32"))
        return np.concatenate(outputs, axis=0)

    def sample_latents_numpy(self, n, seed=None, truncation=1.0):
        """Latents `truncation * TruncatedNormal(-2, 2)`, backend-independent (what `generate` draws).

        Example:
            >>> z = gan.sample_latents_numpy(4, seed=0, truncation=0.4)
        """
        return sample_truncated_normal(n, self.latent_shape, truncation=truncation, seed=seed)

    # ------------------------------------------------------- standing statistics
    def standing_rows(self, truncations=None):
        """The statistics rows `truncations` use (all `n_stats` rows when None).

        Row `i` holds the statistics of truncation `i / (n_stats - 1)`; a
        truncation between two rows blends them, so both are listed.

        Example:
            >>> gan.standing_rows([0.4, 1.0])            # n_stats 51
            [20, 50]
        """
        n = self.generator.n_stats
        if truncations is None:
            return list(range(n))
        rows = set()
        for t in np.atleast_1d(truncations):
            rows.update(int(i) for i in np.flatnonzero(truncation_weights(check_truncation(float(t)), n)))
        return sorted(rows)

    def standing_batch(self, row, index, batch_size, seed=0):
        """Latents and labels of batch `index` for statistics row `row`: what
        `recompute_standing_statistics` feeds the generator.

        `z = t * TruncatedNormal(-2, 2)` at the row's truncation `t = row / (n_stats - 1)`,
        labels uniform over the classes; numpy-seeded by `(seed, row, index)`.

        Example:
            >>> z, y = gan.standing_batch(20, 0, 8)      # truncation 0.4
        """
        n = self.generator.n_stats
        t = int(row) / (n - 1)
        rng = np.random.default_rng([int(seed), int(row), int(index)])
        y = rng.integers(0, self.num_classes, int(batch_size)).astype("int32")
        if t == 0.0:  # truncation 0: every latent is the mean
            return np.zeros((int(batch_size), self.generator.z_dim), "float32"), y
        z = sample_truncated_normal(int(batch_size), self.generator.z_dim, truncation=t,
                                    seed=int(rng.integers(2**31)))
        return z, y

    def recompute_standing_statistics(self, num_batches=16, batch_size=64, seed=0, truncations=None,
                                      use_ema=True):
        """Re-estimate the per-truncation batch-norm statistics, e.g. after fine-tuning.

        BigGAN's "standing statistics" (Brock et al. 2019, appendix C.1;
        BigGAN-PyTorch's `accumulate_standing_stats`): for each row, the
        generator runs on `num_batches` batches drawn at that row's truncation
        with every batch norm normalizing by the batch's moments (spectral norm
        is not stepped), and the row becomes the mean over batches of the batch
        means and of the (biased) batch variances. Training normalizes with
        batch moments and never updates these tables, so inference after
        fine-tuning is off until they are recomputed.

        Args:
            num_batches, batch_size: batches per row and their size.
            seed: numpy seed of the batches (`standing_batch`).
            truncations: only the rows these truncations use (default: all rows).
            use_ema: estimate them for the EMA generator when the model keeps one.

        Returns: the rows recomputed.

        Example:
            >>> gan.fit(images, labels, epochs=1)                 # fine-tune
            >>> gan.recompute_standing_statistics(truncations=[0.4])
            [20]
        """
        if int(num_batches) < 1 or int(batch_size) < 2:
            raise ValueError(
                f"num_batches must be >= 1 and batch_size >= 2 (batch moments), got {num_batches} and {batch_size}."
            )
        rows = self.standing_rows(truncations)
        n = self.generator.n_stats
        estimates = {}  # row -> {layer: (sum of means, sum of variances)}
        with backend.no_grad(), self.sampling_scope(use_ema):  # a StatelessScope: assign after it
            for row in rows:
                sums = estimates[row] = {}
                w = ops.convert_to_tensor(np.eye(n, dtype="float32")[row])
                for index in range(int(num_batches)):
                    z, y = self.standing_batch(row, index, batch_size, seed)
                    with record_batch_moments() as rec:
                        self.generator([ops.convert_to_tensor(z), ops.convert_to_tensor(y, "int32"), w],
                                       training=False)
                    for layer, calls in rec.moments.items():
                        for mean, var in calls:  # one call per layer per forward
                            m, v = sums.get(layer, (0.0, 0.0))
                            sums[layer] = (m + np.asarray(ops.convert_to_numpy(mean), "float64"),
                                           v + np.asarray(ops.convert_to_numpy(var), "float64"))
        for row, sums in estimates.items():
            for layer, (m, v) in sums.items():
                for table, total in ((layer.running_means, m), (layer.running_vars, v)):
                    values = np.array(ops.convert_to_numpy(table))
                    values[row] = total / int(num_batches)
                    table.assign(values)
        return rows
