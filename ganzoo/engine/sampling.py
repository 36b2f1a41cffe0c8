"""Sampling from a latent-variable generator: one mixin for `GAN` and `GANSampler`.

The latent-sampler contract (KerasHub's task bases are the model):
`generate(n, seed=..., labels=...)` returns numpy samples, the same for the
same seed on every backend; `interpolate` and `latent_arithmetic` walk the
latent space. A model using the mixin has `generator`, `latent_shape`,
`num_classes` and `ema_weights` (possibly empty).

Example:
    >>> images = gan.generate(16, seed=0)                 # unconditional
    >>> sevens = cgan.generate(10, seed=0, labels=7)      # class-conditional
"""

import functools

import keras
import numpy as np
from keras import ops
from keras.src.backend import compute_output_spec

from ganzoo import backend
from ganzoo.engine import latents as latents_lib


def check_labels(labels, n, num_classes):
    """Class ids for `n` samples as int32 numpy, or None for an unconditional model.

    `labels` is an int (all samples), or one int per sample (list or array);
    `n=None` takes the count from `labels`.

    Example:
        >>> check_labels(3, 4, num_classes=10)
        array([3, 3, 3, 3], dtype=int32)
    """
    if not num_classes:
        if labels is not None:
            raise ValueError(
                "This model is unconditional (num_classes=0): do not pass labels; "
                "train with num_classes=K to condition on classes."
            )
        return None
    valid = f"class ids in [0, {num_classes})"
    if labels is None:
        raise ValueError(f"This model is class-conditional: pass labels= (one int, or one per sample), {valid}.")
    arr = np.asarray(labels)
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer) or arr.size == 0):
        raise ValueError(f"labels must be integer {valid}, got {arr.dtype} values {arr.ravel()[:8].tolist()}.")
    if arr.ndim == 0:
        if n is None:
            raise ValueError("With one label for all samples, also pass the number of samples n.")
        arr = np.full((int(n),), int(arr))
    if arr.ndim != 1:
        raise ValueError(f"labels must be one int or a 1-D list of class ids, got shape {arr.shape}.")
    if n is not None and len(arr) != int(n):
        raise ValueError(f"Got {len(arr)} labels for {n} samples; pass one label, or one per sample.")
    if len(arr) and (arr.min() < 0 or arr.max() >= num_classes):
        bad = arr[(arr < 0) | (arr >= num_classes)][:8].tolist()
        raise ValueError(f"labels must be {valid}; got {bad}.")
    return arr.astype("int32")


class LatentSamplingMixin:
    """`generate`, `interpolate` and `latent_arithmetic` over `generator` (+ EMA).

    Example:
        >>> class MySampler(LatentSamplingMixin, keras.Model): ...
    """

    num_classes = 0

    @property
    def latent_dim(self):
        """Latent size (int) for vector latents, else the latent shape (None: a translator)."""
        if self.latent_shape is None:
            return None
        return self.latent_shape[0] if len(self.latent_shape) == 1 else self.latent_shape

    @property
    def conditional(self):
        """True when the generator takes class labels.

        Example:
            >>> ganzoo.load("cgan-digits").conditional
            True
        """
        return self.num_classes > 0

    def call_generator(self, z, y=None, training=False):
        """G(z) or G([z, y]): the one place the generator is called with labels.

        Example:
            >>> x = gan.call_generator(z, y)
        """
        if self.num_classes:
            return self.generator([z, y], training=training)
        return self.generator(z, training=training)

    def infer_sample_shape(self):
        """Shape of one generated sample (without batch), from a symbolic G call.

        Families whose generator is called differently override this.

        Example:
            >>> gan.infer_sample_shape()
            (32, 32, 1)
        """
        z = keras.KerasTensor((1, *self.latent_shape))
        y = keras.KerasTensor((1,), dtype="int32") if self.num_classes else None
        if not self.generator.built:
            self.generator.build([z.shape, y.shape] if self.num_classes else z.shape)
        spec = compute_output_spec(functools.partial(self.call_generator, training=False), z, y)
        return tuple(spec.shape[1:])

    def sampling_scope(self, use_ema):
        """A scope in which the generator reads its EMA weights (when `use_ema`).

        Example:
            >>> with gan.sampling_scope(use_ema=True):
            ...     x = gan.generator(z)
        """
        values = {id(v): v.value for v in self.generator.variables}
        if use_ema and self.ema_weights:
            for v, ema in zip(self.generator.trainable_variables, self.ema_weights):
                values[id(v)] = ema.value
        # Multi-process JAX: sample with this process's copy of the weights, no collective.
        return keras.StatelessScope(
            state_mapping=[(v, backend.local_value(values[id(v)])) for v in self.generator.variables]
        )

    def generate(self, n=None, *, seed=None, latents=None, labels=None, batch_size=256, use_ema=True):
        """Sample from the generator (its EMA when present).

        Args:
            n: number of samples (taken from `latents` or `labels` when omitted).
            seed: seed of the numpy latent draw; the same seed gives the same
                latents on every backend.
            latents: explicit latents of shape (N, *latent_shape).
            labels: class-conditional models: one class id for all samples or
                one per sample, in [0, num_classes).
            batch_size: samples per forward pass.
            use_ema: use the EMA weights when the model has them.

        Returns:
            numpy float32 array `(N, *sample_shape)`; images are NHWC in [-1, 1].

        Example:
            >>> images = gan.generate(16, seed=0)
            >>> digits = cgan.generate(labels=list(range(10)), seed=0)
        """
        if self.latent_shape is None:
            raise ValueError(
                f"{type(self).__name__} translates images and draws no latents: use translate(images) "
                "(CLI: ganzoo translate NAME INPUT --out OUTPUT)."
            )
        if latents is None:
            if n is None and labels is not None and np.ndim(labels) == 1:
                n = len(labels)
            if n is None or isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                raise ValueError(f"generate() needs a positive number of samples, got n={n!r}.")
            latents = self.sample_latents_numpy(n, seed)
        latents = np.asarray(latents, dtype="float32")
        if tuple(latents.shape[1:]) != self.latent_shape:
            raise ValueError(
                f"latents must have shape (N, {', '.join(map(str, self.latent_shape))}), "
                f"got {latents.shape}."
            )
        if len(latents) == 0:
            raise ValueError("generate() got zero latents; pass at least one.")
        y = check_labels(labels, len(latents), self.num_classes)
        outputs = []
        for start in range(0, len(latents), int(batch_size)):
            stop = start + int(batch_size)
            z = ops.convert_to_tensor(latents[start:stop])
            yc = None if y is None else ops.convert_to_tensor(y[start:stop], "int32")
            with backend.no_grad(), self.sampling_scope(use_ema):
                out = self.call_generator(z, yc, training=False)
            outputs.append(np.asarray(ops.convert_to_numpy(out), dtype="float32"))
        return np.concatenate(outputs, axis=0)

    def sample_latents_numpy(self, n, seed=None):
        """`n` latents drawn with numpy from `seed` (backend-independent).

        Example:
            >>> z = gan.sample_latents_numpy(8, seed=1)
        """
        return latents_lib.sample_normal(n, self.latent_shape, seed=seed)

    def latent_of(self, ref):
        """The latent for a seed (int) or a latent vector (checked).

        Example:
            >>> z = gan.latent_of(3)
        """
        if isinstance(ref, (int, np.integer)):
            return self.sample_latents_numpy(1, seed=int(ref))[0]
        ref = np.asarray(ref, dtype="float32")
        if tuple(ref.shape) != self.latent_shape:
            raise ValueError(f"Expected a seed or a latent of shape {self.latent_shape}, got {ref.shape}.")
        return ref

    def interpolate(self, a, b, steps=8, method="slerp", labels=None, **generate_kwargs):
        """Samples along a path between two latents (or seeds).

        Args:
            a, b: seeds (int) or latent vectors.
            steps: number of samples, end points included.
            method: "lerp" or "slerp" (spherical, White 2016).
            labels: conditional models: one class id for the whole path, or
                one per step.

        Example:
            >>> frames = gan.interpolate(0, 1, steps=8, method="slerp")
            >>> sevens = cgan.interpolate(0, 1, steps=8, labels=7)
        """
        path = latents_lib.interpolate(self.latent_of(a), self.latent_of(b), steps=steps, method=method)
        return self.generate(latents=path, labels=labels, **generate_kwargs)

    def latent_arithmetic(self, positive, negative=(), labels=None, **generate_kwargs):
        """Generate from `sum(mean(p)) - sum(mean(n))` over groups of latents/seeds.

        Each group is a list of seeds or latents, averaged first (the DCGAN
        paper averages three exemplars per concept).

        Example:
            >>> img = gan.latent_arithmetic([[1, 2, 3], [7, 8, 9]], [[4, 5, 6]])
        """
        group = lambda g: np.stack([self.latent_of(r) for r in (g if isinstance(g, (list, tuple)) else [g])])  # noqa: E731
        z = latents_lib.vector_arithmetic([group(g) for g in positive], [group(g) for g in negative])
        return self.generate(latents=z[None], labels=labels, **generate_kwargs)
