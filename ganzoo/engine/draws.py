"""Random draws with one interface, from a numpy seed or from a GAN's training noise.

Code that needs randomness both in training (inside the compiled step, from
the model's seed generator) and outside it (standalone, reproducible on
every backend from a numpy seed) takes a `draws` object: augmentations,
AAE priors.

Example:
    >>> u = NumpyDraws(0).uniform((4,))          # the same on every backend
    >>> z = ModelDraws(gan).normal((8, 2))       # inside a train step
"""

import numpy as np
from keras import ops


class NumpyDraws:
    """Uniform/normal draws from a numpy seed (backend-independent).

    Example:
        >>> NumpyDraws(0).normal((2, 3)).shape
        (2, 3)
    """

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)

    def uniform(self, shape):
        return ops.convert_to_tensor(self.rng.random(shape).astype("float32"))

    def normal(self, shape):
        return ops.convert_to_tensor(self.rng.standard_normal(shape).astype("float32"))


class ModelDraws:
    """Draws from a GAN's training seed generator (replica-aware, threaded through the JAX step).

    Example:
        >>> ModelDraws(gan).uniform((8, 1))
    """

    def __init__(self, gan):
        self.gan = gan

    def uniform(self, shape):
        return self.gan.random_uniform(shape)

    def normal(self, shape):
        return self.gan.random_normal(shape)
