"""CycleGAN's learning-rate schedule: constant, then linear decay to 0 (Zhu et al. 2017, Sec. 4).

Example:
    >>> lr = LinearDecay(2e-4, total_steps=200, decay_start=100)
    >>> [round(float(lr(s)), 6) for s in (0, 100, 150, 200)]
    [0.0002, 0.0002, 0.0001, 0.0]
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="ganzoo")
class LinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """`initial_learning_rate` for `decay_start` steps, then linearly to 0 at `total_steps`.

    The paper keeps 2e-4 for the first 100 epochs and decays linearly to 0
    over the next 100; with `decay_start=None` the decay starts halfway.
    Steps count the optimizer's updates (one per training step in CycleGAN).

    Example:
        >>> opt = keras.optimizers.Adam(LinearDecay(2e-4, total_steps=1000), beta_1=0.5)
    """

    def __init__(self, initial_learning_rate, total_steps, decay_start=None):
        self.initial_learning_rate = float(initial_learning_rate)
        self.total_steps = int(total_steps)
        self.decay_start = self.total_steps // 2 if decay_start is None else int(decay_start)
        if self.total_steps < 1 or not 0 <= self.decay_start < self.total_steps:
            raise ValueError(
                f"LinearDecay needs total_steps >= 1 and 0 <= decay_start < total_steps; got "
                f"total_steps={total_steps}, decay_start={decay_start}."
            )

    def __call__(self, step):
        step = ops.cast(step, "float32")
        frac = ops.clip((step - self.decay_start) / float(self.total_steps - self.decay_start), 0.0, 1.0)
        return self.initial_learning_rate * (1.0 - frac)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "total_steps": self.total_steps,
                "decay_start": self.decay_start}
