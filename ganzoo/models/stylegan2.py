"""StyleGAN2 (Karras et al. 2020, arXiv 1912.04958) as a `ganzoo.GAN`.

Training is the generic engine with StyleGAN2's pieces: the non-saturating
logistic loss, lazy R1 on D (gamma per dataset, every 16), lazy path-length
regularization on G (`penalties.PathLength`, weight 2, every 4, decay 0.01),
style mixing regularization (probability 0.9) in every phase's fakes, and a
generator EMA whose half-life is given in thousands of images (`ema_kimg`).
Only the sampling path (`sample_fakes`: mapping + style mixing), D's call
(`discriminate`: one-hot labels for class-conditional models), the EMA
decay and the public sampling tools are specialised here; the loop and the
phases are the engine's. Class-conditional models (c_dim > 0) train with
fake labels drawn like any conditional `GAN`'s, and R1 / path length hold
the labels fixed.

The lazy-regularization correction of the optimizers (lr * c, beta ** c with
c = every / (every + 1)) is applied when the optimizers are built from a
recipe with `lazy_interval` (see `ganzoo.factory.build_optimizer`).

Example:
    >>> import ganzoo
    >>> gan = ganzoo.load("stylegan2-ffhq")                       # doctest: +SKIP
    >>> imgs = gan.generate(4, seed=0, truncation=0.7)           # doctest: +SKIP
    >>> mixed = gan.style_mix(1, 2, cutoff=4)                     # doctest: +SKIP
"""

import warnings

import keras
import numpy as np
from keras import ops

from ganzoo.architectures.stylegan2 import Generator
from ganzoo import backend
from ganzoo.engine import latents as latents_lib
from ganzoo.engine import penalties as penalties_lib
from ganzoo.engine import registry
from ganzoo.engine.gan import GAN
from ganzoo.engine.sampling import check_labels

_NOISE_MODES = ("const", "random", "none")


def default_penalties(r1_gamma=10.0):
    """StyleGAN2's regularizers: lazy R1 (every 16) and path length (weight 2, every 4).

    Example:
        >>> [p.name for p in default_penalties()]
        ['r1', 'pl']
    """
    return [penalties_lib.R1(r1_gamma, every=16), penalties_lib.PathLength(2.0, every=4)]


@registry.register("model_class")
@keras.saving.register_keras_serializable(package="ganzoo")
class StyleGAN2(GAN):
    """StyleGAN2 training model and sampler.

    Args:
        generator: a `ganzoo.architectures.stylegan2.Generator`.
        discriminator: a discriminator taking the generator's images
            (usually `ganzoo.architectures.stylegan2.Discriminator`).
        latent_dim: defaults to `generator.z_dim` (must match it).
        objective: default "non_saturating" (NVIDIA's softplus losses).
        penalties: default `[R1(10, every=16), PathLength(2, every=4)]`.
        style_mixing_prob: probability of mixing two latents' styles at a
            random layer in each training batch (0.9 in the paper).
        ema_kimg: half-life of the generator EMA in thousands of images; the
            per-step decay is `0.5 ** (batch / (ema_kimg * 1000))`. None
            disables it (or pass a fixed `ema_decay`).
        ema_rampup: optional ramp-up (stylegan2-ada): the half-life is at most
            `ema_rampup * images seen`.

    Example:
        >>> from ganzoo.architectures.stylegan2 import stylegan2_generator, stylegan2_discriminator
        >>> G = stylegan2_generator(16, z_dim=16, w_dim=16, channel_base=64, channel_max=16, mapping_layers=2)
        >>> D = stylegan2_discriminator(16, channel_base=64, channel_max=16, mbstd_group_size=2)
        >>> gan = StyleGAN2(G, D, ema_kimg=0.1)
        >>> gan.compile(g_optimizer="adam", d_optimizer="adam")
        >>> gan.fit(images, batch_size=8, epochs=1)               # doctest: +SKIP
        >>> gan.generate(4, seed=0, truncation=0.5).shape         # doctest: +SKIP
    """

    def __init__(
        self,
        generator,
        discriminator,
        latent_dim=None,
        objective="non_saturating",
        penalties=None,
        d_steps=1,
        ema_kimg=10.0,
        ema_rampup=None,
        ema_decay=None,
        style_mixing_prob=0.9,
        seed=None,
        **kwargs,
    ):
        if not isinstance(generator, Generator):
            raise TypeError(
                "StyleGAN2 needs a ganzoo.architectures.stylegan2.Generator (mapping + synthesis), "
                f"got {type(generator).__name__}."
            )
        if latent_dim is None:
            latent_dim = generator.z_dim
        if latent_dim != generator.z_dim:
            raise ValueError(f"latent_dim {latent_dim} does not match the generator's z_dim {generator.z_dim}.")
        if ema_kimg is not None and ema_decay is not None:
            raise ValueError("Pass ema_kimg (a half-life in kimg) or ema_decay (a fixed decay), not both.")
        if ema_kimg is not None and float(ema_kimg) <= 0:
            raise ValueError(f"ema_kimg must be > 0 or None, got {ema_kimg}.")
        if not 0.0 <= float(style_mixing_prob) <= 1.0:
            raise ValueError(f"style_mixing_prob must lie in [0, 1], got {style_mixing_prob}.")
        d_c_dim = getattr(discriminator, "c_dim", generator.c_dim)
        if d_c_dim != generator.c_dim:
            raise ValueError(
                f"The generator has c_dim={generator.c_dim} classes but the discriminator c_dim={d_c_dim}; "
                "build both with the same number of classes."
            )
        kwargs.pop("num_classes", None)  # always the generator's c_dim
        res = getattr(discriminator, "img_resolution", None)
        if res is not None and res != generator.img_resolution:
            raise ValueError(
                f"The generator makes {generator.img_resolution}x{generator.img_resolution} images but the "
                f"discriminator takes {res}x{res}; build both for one resolution."
            )
        self.ema_kimg = None if ema_kimg is None else float(ema_kimg)
        self.ema_rampup = None if ema_rampup is None else float(ema_rampup)
        self.style_mixing_prob = float(style_mixing_prob)
        if penalties is None:
            penalties = default_penalties()
        # With ema_kimg the decay depends on the batch (`ema_decay_at`); 0.0 only switches the EMA on.
        super().__init__(
            generator, discriminator, latent_dim=latent_dim, objective=objective, penalties=penalties,
            d_steps=d_steps, ema_decay=0.0 if self.ema_kimg is not None else ema_decay, seed=seed,
            num_classes=generator.c_dim, **kwargs,
        )

    def infer_sample_shape(self):
        G = self.generator
        return (G.img_resolution, G.img_resolution, G.img_channels)

    def _one_hot(self, labels):
        return None if labels is None or not self.num_classes else ops.one_hot(labels, self.num_classes)

    def discriminate(self, x, y=None, training=True):
        """D(x, c) as `{"logits": (N,)}`; `c` is the one-hot of `y` for conditional models.

        Example:
            >>> gan.discriminate(images, labels)["logits"]
        """
        if self.num_classes and y is None:
            raise ValueError("This StyleGAN2 is class-conditional: discriminate(x, y) needs the labels y.")
        x = self.augment_images(x, training)  # ADA / DiffAugment when the model has one
        logits = self.discriminator(x, self._one_hot(y), training=training)
        return {"logits": ops.cast(ops.reshape(logits, (-1,)), "float32")}

    # ------------------------------------------------------------- training
    def sample_styles(self, batch_size, labels=None):
        """Training styles ws (N, num_ws, w_dim) with style mixing regularization.

        With probability `style_mixing_prob` the layers from a random cutoff
        in [1, num_ws) on take the styles of a second latent (one cutoff per
        batch, as NVIDIA's `run_G`; both latents share the labels). The first
        mapping updates `w_avg`.

        Example:
            >>> ws = gan.sample_styles(8)
            >>> ws = cond_gan.sample_styles(8, gan.sample_labels(8))
        """
        mapping = self.generator.mapping
        c = self._one_hot(labels)
        ws = mapping(self.sample_latents(batch_size), c, update_w_avg=True)
        num_ws = self.generator.num_ws
        if self.style_mixing_prob > 0 and num_ws > 1:
            cutoff = keras.random.randint((), 1, num_ws, seed=self.seed_generator)
            mix = keras.random.uniform((), seed=self.seed_generator) < self.style_mixing_prob
            cutoff = ops.where(mix, cutoff, num_ws)
            other = mapping(self.sample_latents(batch_size), c, update_w_avg=False)
            keep = ops.arange(num_ws)[None, :, None] < cutoff
            ws = ops.where(keep, ws, other)
        return ws

    def synthesize(self, ws):
        """Training synthesis g(ws) with random noise inputs.

        Example:
            >>> img = gan.synthesize(gan.sample_styles(8))
        """
        return self.generator.synthesis(ws, noise_mode="random")

    def sample_fakes(self, real):
        """Fakes `{"x", "ws"}` (+ `"y"`): mapping with style mixing, then synthesis.

        Example:
            >>> fake = gan.sample_fakes(real)
        """
        n = self.batch_size_of(real)
        y = self.sample_labels(n, real) if self.num_classes else None
        ws = self.sample_styles(n, y)
        fake = {"x": self.synthesize(ws), "ws": ws}
        if y is not None:
            fake["y"] = y
        return fake

    def ema_decay_at(self, batch_size):
        """`0.5 ** (batch / (ema_kimg * 1000))` (with ramp-up), else the fixed decay.

        Example:
            >>> float(StyleGAN2(G, D, ema_kimg=10).ema_decay_at(32))   # doctest: +SKIP
            0.99778...
        """
        if self.ema_kimg is None:
            return self.ema_decay
        batch = ops.cast(batch_size, "float32")
        ema_nimg = ops.convert_to_tensor(self.ema_kimg * 1000.0, "float32")
        if self.ema_rampup is not None:
            seen = ops.cast(self.step_counter.value, "float32") * batch
            ema_nimg = ops.minimum(ema_nimg, seen * self.ema_rampup)
        return ops.power(0.5, batch / ops.maximum(ema_nimg, 1e-8))

    # ------------------------------------------------------------- sampling
    def _labels(self, labels, n):
        c_dim = self.num_classes
        arr = None if labels is None else np.asarray(labels)
        if c_dim and arr is not None and arr.ndim == 2:  # one-hot rows, NVIDIA's c
            if arr.shape != (n, c_dim):
                raise ValueError(f"one-hot labels must have shape ({n}, {c_dim}), got {arr.shape}.")
            return arr.astype("float32")
        ids = check_labels(labels, n, c_dim)
        return None if ids is None else np.eye(c_dim, dtype="float32")[ids]

    @staticmethod
    def _check_sampling_args(truncation, noise_mode):
        if noise_mode not in _NOISE_MODES:
            raise ValueError(f"noise_mode must be one of {_NOISE_MODES}, got {noise_mode!r}.")
        if not 0.0 <= float(truncation) <= 1.0:
            warnings.warn(
                f"truncation psi={truncation} lies outside [0, 1]: psi < 0 flips styles through the mean w "
                "and psi > 1 exaggerates them; expect unusual images.",
                stacklevel=3,
            )

    def _run(self, fn, use_ema):
        scope = self.sampling_scope(use_ema)
        with backend.no_grad(), scope:
            out = fn()
        out = np.asarray(ops.convert_to_numpy(out), dtype="float32")
        if backend.assign_is_collective():
            # Assigning a replicated variable is a collective, and sampling may run on
            # the chief alone (callbacks): the noise stream does not advance here.
            return out
        # The scope drops variable updates; keep the noise generators' advance so that
        # noise_mode="random" draws new noise on every call.
        for layer in self.generator._flatten_layers():
            generator = getattr(layer, "seed_generator", None)
            if isinstance(generator, keras.random.SeedGenerator):
                value = scope.get_current_value(generator.state)
                if value is not None:
                    generator.state.assign(value)
        return out

    def _as_latents(self, n, seed, latents):
        if latents is None:
            if n is None or isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                raise ValueError(f"generate() needs a positive number of samples, got n={n!r}.")
            latents = self.sample_latents_numpy(n, seed)
        latents = np.asarray(latents, dtype="float32")
        if latents.ndim != 2 or latents.shape[1] != self.generator.z_dim or len(latents) == 0:
            raise ValueError(f"latents must have shape (N, {self.generator.z_dim}) with N >= 1, got {latents.shape}.")
        return latents

    def map(self, latents, labels=None, truncation=1.0, truncation_cutoff=None, use_ema=True):
        """Latents z (N, z_dim) -> styles ws (N, num_ws, w_dim), with truncation.

        Example:
            >>> ws = gan.map(gan.sample_latents_numpy(2, seed=0), truncation=0.7)
        """
        z = self._as_latents(None, None, latents)
        c = self._labels(labels, len(z))
        return self._run(
            lambda: self.generator.mapping(
                z, c, truncation_psi=float(truncation), truncation_cutoff=truncation_cutoff, update_w_avg=False
            ),
            use_ema,
        )

    def synthesize_numpy(self, ws, noise_mode="const", batch_size=8, use_ema=True, clip=False):
        """Styles ws (N, num_ws, w_dim) -> images (N, H, W, C) as numpy.

        Values lie *about* in [-1, 1] and are not clipped (as NVIDIA's
        synthesis network, whose outputs overshoot slightly); `clip=True`
        clips them to [-1, 1]. PNG writers (`ganzoo.utils.images.to_uint8`,
        `ganzoo sample`) clip anyway.

        Example:
            >>> imgs = gan.synthesize_numpy(gan.map(z), noise_mode="const", clip=True)
        """
        ws = np.asarray(ws, dtype="float32")
        out = [
            self._run(lambda c=ws[i : i + batch_size]: self.generator.synthesis(c, noise_mode=noise_mode), use_ema)
            for i in range(0, len(ws), int(batch_size))
        ]
        out = np.concatenate(out, axis=0)
        return np.clip(out, -1.0, 1.0) if clip else out

    def generate(self, n=None, *, seed=None, latents=None, labels=None, truncation=1.0, truncation_cutoff=None,
                 noise_mode="const", batch_size=8, use_ema=True, clip=False):
        """Sample images (NHWC, about [-1, 1]) from the EMA generator.

        The values are not clipped by default, like NVIDIA's reference code:
        they overshoot [-1, 1] a little (unlike the other families' tanh
        outputs). Pass `clip=True` for values inside [-1, 1]; PNG output
        (`to_uint8`, `ganzoo sample`) is clipped either way.

        Args:
            n, seed: number of images and the numpy seed of their latents
                (same latents on every backend).
            latents: explicit z of shape (N, z_dim) instead of n / seed.
            labels: conditional models: one class id, class ids (N,) or
                one-hot rows (N, c_dim); required (an error names the range).
            truncation: psi, `w_avg + psi (w - w_avg)`; 1 disables it, 0 gives
                the mean image. Values outside [0, 1] warn.
            truncation_cutoff: truncate only the first `cutoff` style layers.
            noise_mode: "const" (the stored noise maps, deterministic),
                "random" or "none".
            clip: clip the images to [-1, 1] (default False: raw values).

        Example:
            >>> imgs = gan.generate(8, seed=0, truncation=0.7, noise_mode="const")
            >>> png_ready = gan.generate(8, seed=0, clip=True)   # inside [-1, 1]
        """
        self._check_sampling_args(truncation, noise_mode)
        z = self._as_latents(n, seed, latents)
        ws = self.map(z, labels, truncation, truncation_cutoff, use_ema=use_ema)
        return self.synthesize_numpy(ws, noise_mode=noise_mode, batch_size=batch_size, use_ema=use_ema, clip=clip)

    def _latent_batch(self, refs):
        refs = refs if isinstance(refs, (list, tuple)) else [refs]
        return np.stack([self.latent_of(r) for r in refs])

    def style_mix(self, a, b, cutoff, *, labels=None, truncation=1.0, truncation_cutoff=None, noise_mode="const",
                  use_ema=True):
        """Style mixing: style layers [0, cutoff) from `a`, the rest from `b`.

        `a` and `b` are seeds, latents, or equal-length lists of them. Low
        layers carry coarse attributes (pose, face shape), high layers
        colour and fine detail.

        Example:
            >>> img = gan.style_mix(seed_a=1, seed_b=2, cutoff=4)   # (1, H, W, C)
        """
        self._check_sampling_args(truncation, noise_mode)
        za, zb = self._latent_batch(a), self._latent_batch(b)
        if len(za) != len(zb):
            raise ValueError(f"style_mix needs as many `a` as `b`, got {len(za)} and {len(zb)}.")
        num_ws = self.generator.num_ws
        if isinstance(cutoff, bool) or not isinstance(cutoff, (int, np.integer)) or not 0 <= cutoff <= num_ws:
            raise ValueError(f"cutoff must be an int in [0, {num_ws}], got {cutoff!r}.")
        wa = self.map(za, labels, truncation, truncation_cutoff, use_ema=use_ema)
        wb = self.map(zb, labels, truncation, truncation_cutoff, use_ema=use_ema)
        ws = np.asarray(ops.convert_to_numpy(Generator.mix_styles(wa, wb, int(cutoff))))
        return self.synthesize_numpy(ws, noise_mode=noise_mode, use_ema=use_ema)

    def interpolate(self, a, b, steps=8, method=None, space="w", *, labels=None, truncation=1.0,
                    truncation_cutoff=None, noise_mode="const", use_ema=True):
        """Images along a path between two seeds / latents, in W (default) or Z.

        In W the path is linear between the (truncated) styles of `a` and
        `b` (StyleGAN's perceptual path); in Z it is spherical by default.

        Example:
            >>> frames = gan.interpolate(0, 1, steps=8, space="w")
        """
        if space not in ("w", "z"):
            raise ValueError(f"space must be 'w' or 'z', got {space!r}.")
        self._check_sampling_args(truncation, noise_mode)
        za, zb = self.latent_of(a)[None], self.latent_of(b)[None]
        if labels is not None and np.ndim(labels) != 0:
            raise ValueError(f"interpolate takes one class id as labels, got {labels!r}.")
        if space == "z":
            path = latents_lib.interpolate(za[0], zb[0], steps=steps, method=method or "slerp")
            lab = None if labels is None else np.full(len(path), int(labels))
            return self.generate(latents=path, labels=lab, truncation=truncation,
                                 truncation_cutoff=truncation_cutoff, noise_mode=noise_mode, use_ema=use_ema)
        lab = None if labels is None else np.array([int(labels)])
        wa = self.map(za, lab, truncation, truncation_cutoff, use_ema=use_ema)[0]
        wb = self.map(zb, lab, truncation, truncation_cutoff, use_ema=use_ema)[0]
        path = latents_lib.interpolate(wa, wb, steps=steps, method=method or "lerp")
        return self.synthesize_numpy(path, noise_mode=noise_mode, use_ema=use_ema)

    # --------------------------------------------------------------- config
    def get_config(self):
        config = super().get_config()
        config.update(ema_kimg=self.ema_kimg, ema_rampup=self.ema_rampup, style_mixing_prob=self.style_mixing_prob)
        if self.ema_kimg is not None:
            config["ema_decay"] = None
        return config
