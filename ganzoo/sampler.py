"""`GANSampler`: just what sampling needs, loaded from a preset folder.

`ganzoo.load(spec, generator_only=True)` returns one. It builds only the
generator (from the `generator` entry of the preset's `config.json`) and
reads only the generator's weights and the GAN's own variables (the step
counter and the generator EMA shadows) from `model.weights.h5` (or its
shards): the discriminator is never built and its weights, like the
optimizer slots, are never read. It has the sampling API of `ganzoo.GAN`:
`generate` (EMA weights by default when the preset has them),
`interpolate`, `latent_arithmetic`, `sample_latents_numpy`; it cannot be
trained or saved as a preset.

Example:
    >>> sampler = ganzoo.load("dcgan-digits", generator_only=True)
    >>> sampler.generate(4, seed=0).shape
    (4, 32, 32, 1)
"""

import keras

from ganzoo.engine.sampling import LatentSamplingMixin


class GANSampler(LatentSamplingMixin, keras.Model):
    """A generator plus its EMA shadows, laid out like `ganzoo.GAN` in a weights file.

    The variable layout mirrors `GAN` (attribute `generator`, then the GAN's
    own variables: the step counter and one EMA shadow per trainable
    generator variable), so `load_weights` on a GAN's weights file fills
    exactly these and skips everything else.

    Args:
        generator: a Keras model mapping latents to samples.
        latent_dim: latent size (int) or latent shape (tuple).
        ema: whether the saved GAN kept EMA shadows (`ema_decay` not None).
        num_classes: class count of a class-conditional generator (0: none).

    Example:
        >>> sampler = GANSampler(generator, latent_dim=32, ema=True)
        >>> sampler.load_weights("preset/model.weights.h5")
        >>> images = sampler.generate(16, seed=0)
    """

    discriminator = None

    def __init__(self, generator, latent_dim, ema=False, num_classes=0, name="gan_sampler", **kwargs):
        super().__init__(name=name, **kwargs)
        self.generator = generator
        self.latent_shape = (int(latent_dim),) if isinstance(latent_dim, int) else tuple(latent_dim)
        self.num_classes = int(num_classes)
        self.sample_shape = self.infer_sample_shape()
        self.step_counter = self.add_weight(shape=(), dtype="int32", initializer="zeros", trainable=False, name="step")
        self.ema_weights = [
            self.add_weight(shape=v.shape, dtype=v.dtype, initializer="zeros", trainable=False, name=f"ema_{i}")
            for i, v in enumerate(generator.trainable_variables)
        ] if ema else []
        self.built = True

    def load_own_variables(self, store):
        """Read the step counter and EMA shadows; later GAN variables (penalty state) are skipped."""
        own = [self.step_counter, *self.ema_weights]
        if len(store.keys()) < len(own):
            raise ValueError(
                f"the weights file holds {len(store.keys())} GAN variables, but a generator with "
                f"{len(self.ema_weights)} EMA shadows needs {len(own)}: config.json and the weights do not match."
            )
        for i, variable in enumerate(own):
            variable.assign(store[str(i)])

    def call(self, z, y=None, training=False):
        """Map latents (and labels) to samples with the live (non-EMA) generator."""
        return self.call_generator(z, y, training=training)

    def train_step(self, *args):
        raise TypeError(
            "a GANSampler (ganzoo.load(..., generator_only=True)) cannot be trained: it has no "
            "discriminator; load the full model with ganzoo.load(spec) to fine-tune."
        )
