"""Progressive GAN (Karras et al. 2018, arXiv 1710.10196): G and D grow from 4x4 by doubling.

How a run crosses stages (one `fit` per stage): the stage fixes the shapes of
the step (G's output, D's input), so each stage has its own traced train
function. Both networks hold every resolution's blocks from the start, so
the set of variables never changes: the JAX step's state, the optimizers'
slots, the EMA shadows and the weight files have the same structure at every
stage, on every backend. The model keeps

- `stage` (a Python int, in the config, mirrored by the non-trainable
  variable `stage_var`) and
- `stage_images` (non-trainable int32: images shown in this stage), from
  which the fade-in alpha = clip(stage_images / (1000 fade_kimg), 0, 1)
  is computed inside the step.

`fit` trains the current stage; `grow()` (or `set_stage`) moves to the next,
resets `stage_images` and drops the compiled functions so Keras traces the new
stage. `fit_stages(x, batch_size)` runs the whole schedule: one `fit` per
stage, each stopped after the stage's images, then `grow()`. Saving a model
at any stage and loading it (`ganzoo.load`, `keras.saving.load_model`) gives
that stage with its alpha and optimizer state; `fit` after `load_weights`
regrows to the stage stored in `stage_var`.

Training data are given at the final resolution (or any power-of-two
multiple of the current one): each batch is average-pooled to the current
resolution and, during a fade, blended with its 2x-coarser version,
lerp(upsample(avgpool(x)), x, alpha), as the paper does with the reals.

Losses (the paper's): WGAN-GP (lambda = 10) plus the drift term
0.001 * E[D(x)^2], one D step per G step, G EMA with decay 0.999.

Example:
    >>> from ganzoo.models.progan import ProGAN, progan_generator, progan_discriminator
    >>> gan = ProGAN(progan_generator(32, 16, 1, fmap_base=128, fmap_max=32),
    ...              progan_discriminator(16, 1, fmap_base=128, fmap_max=32), fade_kimg=2, stable_kimg=2)
    >>> gan.compile(g_optimizer=keras.optimizers.Adam(1e-3, 0.0, 0.99),
    ...             d_optimizer=keras.optimizers.Adam(1e-3, 0.0, 0.99))
    >>> gan.fit_stages(images16, batch_size=16)                       # doctest: +SKIP
    >>> gan.generate(8, seed=0).shape                                 # doctest: +SKIP
    (8, 16, 16, 1)
"""

import math

import keras
import numpy as np
from keras import ops

from ganzoo import backend
from ganzoo.engine import registry
from ganzoo.engine.gan import GAN
from ganzoo.engine.penalties import Drift, GradientPenalty
from ganzoo.engine.phases import Phase
from ganzoo.models.progan.networks import downsample_average, upsample_nearest
from ganzoo.models.progan.schedule import StopAfterSteps, stage_length


def _stage_error(stage, num_stages, resolution):
    return ValueError(
        f"ProGAN stage {stage!r} is beyond the final resolution: this model grows from 4x4 to "
        f"{resolution}x{resolution} in stages 0..{num_stages - 1} (stage s works at 4*2^s pixels); "
        f"pass a stage in 0..{num_stages - 1}."
    )


@registry.register("model_class")
@keras.saving.register_keras_serializable(package="ganzoo")
class ProGAN(GAN):
    """Progressive GAN: the engine's loop at one stage at a time, with a smooth fade-in.

    Args:
        generator: a `ProGANGenerator` (`progan_generator`).
        discriminator: a `ProGANDiscriminator` of the same resolution and channels.
        latent_dim: size of z (default: the generator's).
        stage: the stage to train/sample at (0 = 4x4).
        fade_kimg: thousands of images over which a new block fades in (paper 600).
        stable_kimg: thousands of images of stabilization per stage (paper 600).
        objective, penalties, d_steps, ema_decay: as `ganzoo.GAN`; the
            defaults are the paper's (WGAN-GP 10 + drift 0.001, 1, 0.999).

    Example:
        >>> gan = ProGAN(G, D, stage=1, fade_kimg=600, stable_kimg=600)
        >>> float(gan.current_alpha())      # a fresh stage starts its fade at alpha = 0
        0.0
    """

    def __init__(self, generator, discriminator, latent_dim=None, stage=0, fade_kimg=600.0, stable_kimg=600.0,
                 objective="wasserstein", penalties=None, d_steps=1, ema_decay=0.999, **kwargs):
        for role, net in (("generator", generator), ("discriminator", discriminator)):
            if not hasattr(net, "num_stages"):
                raise ValueError(f"ProGAN needs ProGAN networks: build the {role} with progan_{role}(...).")
        if (generator.resolution, generator.channels) != (discriminator.resolution, discriminator.channels):
            raise ValueError(
                f"ProGAN's G makes {generator.resolution}px x {generator.channels} channels but D takes "
                f"{discriminator.resolution}px x {discriminator.channels}; build both for the same images."
            )
        if latent_dim is None:
            latent_dim = generator.latent_dim
        if int(latent_dim) != generator.latent_dim:
            raise ValueError(f"latent_dim={latent_dim} but the generator takes {generator.latent_dim}-d latents.")
        if kwargs.get("num_classes"):
            raise ValueError("ProGAN here is unconditional: it takes no num_classes.")
        if float(fade_kimg) < 0 or float(stable_kimg) <= 0:
            raise ValueError(f"ProGAN needs fade_kimg >= 0 and stable_kimg > 0, got {fade_kimg}, {stable_kimg}.")
        self.num_stages, self.resolution = generator.num_stages, generator.resolution
        self.stage = self.check_stage(stage)
        self.fade_kimg, self.stable_kimg = float(fade_kimg), float(stable_kimg)
        if penalties is None:  # the paper's: WGAN-GP with lambda = 10, drift epsilon = 0.001
            penalties = [GradientPenalty(10.0), Drift(0.001)]
        super().__init__(generator, discriminator, latent_dim=latent_dim, objective=objective,
                         penalties=penalties, d_steps=d_steps, ema_decay=ema_decay, **kwargs)
        self.stage_images = self.add_weight(shape=(), dtype="int32", initializer="zeros", trainable=False,
                                            name="stage_images")
        self.stage_var = self.add_weight(shape=(), dtype="int32", initializer="zeros", trainable=False,
                                         name="stage")
        self.stage_var.assign(self.stage)

    # ------------------------------------------------------------ the schedule
    def check_stage(self, stage):
        """`stage` as an int in 0..num_stages-1, or a one-line ValueError.

        Example:
            >>> gan.check_stage(9)          # a 16x16 model has stages 0..2
            Traceback (most recent call last):
            ValueError: ProGAN stage 9 is beyond the final resolution: ...
        """
        if isinstance(stage, bool) or not isinstance(stage, (int, np.integer)) or not 0 <= stage < self.num_stages:
            raise _stage_error(stage, self.num_stages, self.resolution)
        return int(stage)

    @property
    def stage_resolution(self):
        """Side of the images at the current stage (4 * 2**stage)."""
        return 4 * 2**self.stage

    def stage_length(self, stage=None):
        """Images the stage trains on (`schedule.stage_length`).

        Example:
            >>> gan.stage_length(0)     # stable_kimg * 1000
        """
        return stage_length(self.stage if stage is None else stage, self.fade_kimg, self.stable_kimg)

    def current_alpha(self):
        """The fade-in alpha of the current step (a float32 scalar tensor; 1 at stage 0).

        Example:
            >>> float(gan.current_alpha())
        """
        images = getattr(self, "stage_images", None)
        if self.stage == 0 or self.fade_kimg == 0 or images is None:
            return ops.convert_to_tensor(1.0, "float32")
        return ops.clip(ops.cast(images.value, "float32") / (1000.0 * self.fade_kimg), 0.0, 1.0)

    def set_stage(self, stage, stage_images=0):
        """Move to `stage` with `stage_images` already shown (0: the start of its fade-in).

        Drops the compiled train/predict functions: the next `fit` traces the
        new stage. Weights, optimizer slots and EMA carry over unchanged.

        Example:
            >>> gan.set_stage(2)
            >>> gan.sample_shape
            (16, 16, 1)
        """
        self.stage = self.check_stage(stage)
        self.stage_var.assign(self.stage)
        self.stage_images.assign(int(stage_images))
        self.sample_shape = self.infer_sample_shape()
        self.train_function = self.predict_function = self.test_function = None

    def grow(self):
        """Double the resolution: the next stage, its fade starting at alpha = 0.

        Example:
            >>> gan.grow(); gan.stage
            1
        """
        if self.stage + 1 >= self.num_stages:
            raise _stage_error(self.stage + 1, self.num_stages, self.resolution)
        self.set_stage(self.stage + 1)

    def sync_stage(self):
        """Adopt the stage stored in `stage_var` (after `load_weights` into a model built at another stage).

        Example:
            >>> gan.load_weights("ckpt.weights.h5"); gan.sync_stage()
        """
        stored = int(ops.convert_to_numpy(self.stage_var.value))
        if stored != self.stage:
            self.set_stage(stored, int(ops.convert_to_numpy(self.stage_images.value)))

    def fit(self, *args, **kwargs):
        """`GAN.fit` at the current stage (the stage stored in the weights, see `sync_stage`).

        Example:
            >>> gan.fit(images, batch_size=16, epochs=1)
        """
        self.sync_stage()
        return super().fit(*args, **kwargs)

    def fit_stages(self, x, batch_size, final_stage=None, callbacks=None, verbose=0):
        """Train the rest of the schedule: one `fit` per stage, `grow()` in between.

        Resumes mid-stage (the images already shown count). `x`: numpy images
        at the final resolution (or a power-of-two multiple of the current
        one); the last partial batch of an epoch is dropped (minibatch stddev
        needs whole groups). Returns `[(stage, History), ...]`.

        Example:
            >>> runs = gan.fit_stages(images, batch_size=16)
        """
        self.sync_stage()
        final = self.num_stages - 1 if final_stage is None else self.check_stage(final_stage)
        if final < self.stage:
            raise ValueError(f"final_stage={final} is below the current stage {self.stage}; pass a later one.")
        batch_size = int(batch_size)
        x = np.asarray(x)
        per_epoch = len(x) // batch_size
        if per_epoch < 1:
            raise ValueError(f"fit_stages got {len(x)} images for batches of {batch_size}; pass more images.")
        x = x[: per_epoch * batch_size]
        histories = []
        while True:
            left = self.stage_length() - int(ops.convert_to_numpy(self.stage_images.value))
            steps = math.ceil(max(left, 0) / batch_size)
            if steps:
                history = self.fit(x, batch_size=batch_size, epochs=math.ceil(steps / per_epoch), verbose=verbose,
                                   callbacks=[StopAfterSteps(steps), *(callbacks or [])])
                histories.append((self.stage, history))
            if self.stage >= final:
                return histories
            self.grow()

    # ------------------------------------------------------------ the step
    def phases(self):
        # Last: count the step's images (alpha is read before, so the log is the alpha this step used).
        return [*super().phases(), Phase("progress", fakes="none", after=(self.advance,), logs=("alpha",))]

    def advance(self, real, fake=None, logs=None):
        """`after` hook: log this step's alpha, then add the global batch to `stage_images`.

        Example:
            >>> Phase("progress", after=(gan.advance,), logs=("alpha",))
        """
        if logs is not None:
            logs["alpha"] = self.current_alpha()
        shown = ops.cast(self.batch_size_of(real), "int32") * backend.replica_info()[0]
        self.stage_images.assign(self.stage_images.value + shown)

    def call_generator(self, z, y=None, training=False):
        """G(z) at the current stage and alpha.

        Example:
            >>> x = gan.call_generator(z)      # (N, 4*2^stage, 4*2^stage, C)
        """
        return self.generator(z, stage=self.stage, alpha=self.current_alpha(), training=training)

    def sample_fakes(self, real):
        """`{"x": G(z), "z": z}` at the current stage.

        Example:
            >>> fake = gan.sample_fakes(real)
        """
        z = self.sample_latents(self.batch_size_of(real))
        return {"x": self.call_generator(z, training=True), "z": z}

    def discriminate(self, x, y=None, training=True):
        """`{"logits": D(x) (N,)}` at the current stage and alpha.

        Example:
            >>> gan.discriminate(real["x"])["logits"].shape
            (16,)
        """
        x = self.augment_images(x, training)
        logits = self.discriminator(x, stage=self.stage, alpha=self.current_alpha(), training=training)
        return {"logits": ops.cast(ops.reshape(logits, (-1,)), "float32")}

    def fade_reals(self, x):
        """Reals at the current resolution, blended during a fade: lerp(upsample(avgpool(x)), x, alpha).

        Example:
            >>> xr = gan.fade_reals(x8)      # at stage 1
        """
        if self.stage == 0:
            return x
        coarse = upsample_nearest(downsample_average(x))
        return coarse + self.current_alpha() * (x - coarse)

    def check_batch(self, batch):
        """Average-pool the batch's images to the current stage's resolution and fade them; then check.

        Example:
            >>> gan.check_batch({"x": images16})["x"].shape     # at stage 0
            (16, 4, 4, 1)
        """
        batch = dict(batch)
        x = batch.get("x")
        if x is not None and len(x.shape) == 4 and x.shape[1] is not None:
            size, r = int(x.shape[1]), self.stage_resolution
            factor = size // r
            if size % r or factor & (factor - 1) or x.shape[2] != size:
                raise ValueError(
                    f"ProGAN at stage {self.stage} trains on {r}x{r} images, made from data whose side is "
                    f"{r} times a power of two; got {tuple(x.shape[1:3])}. Resize the data to "
                    f"{self.resolution}x{self.resolution}."
                )
            batch["x"] = self.fade_reals(downsample_average(ops.cast(x, "float32"), factor))
        return super().check_batch(batch)

    def get_config(self):
        config = super().get_config()
        config.update(stage=self.stage, fade_kimg=self.fade_kimg, stable_kimg=self.stable_kimg)
        return config
