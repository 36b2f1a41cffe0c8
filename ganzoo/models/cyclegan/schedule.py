"""The learning-rate schedule of CycleGAN and pix2pix: constant, then linear decay to 0.

Zhu et al. 2017 (Sec. 4) and junyanz/pytorch-CycleGAN-and-pix2pix
(`--lr_policy linear --n_epochs 100 --n_epochs_decay 100`, the default of
both models) keep the learning rate for the first 100 epochs and decay it
linearly to 0 over the next 100.

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

    With `decay_start=None` the decay starts halfway. Steps count the
    optimizer's updates (one per training step in CycleGAN and pix2pix).

    With `steps_per_epoch` the rate changes once per epoch, as the
    reference's `LambdaLR` stepped after each epoch: epoch `e` (0-based)
    trains at `initial * (1 - max(0, e + 1 - n_epochs) / (n_epochs_decay + 1))`
    with `n_epochs = decay_start / steps_per_epoch` and `n_epochs_decay =
    (total_steps - decay_start) / steps_per_epoch` (the last epoch runs at
    `initial / (n_epochs_decay + 1)`, never at 0).

    Example:
        >>> opt = keras.optimizers.Adam(LinearDecay(2e-4, total_steps=1000), beta_1=0.5)
        >>> per_epoch = LinearDecay(2e-4, total_steps=80000, decay_start=40000, steps_per_epoch=400)
    """

    def __init__(self, initial_learning_rate, total_steps, decay_start=None, steps_per_epoch=None):
        self.initial_learning_rate = float(initial_learning_rate)
        self.total_steps = int(total_steps)
        self.decay_start = self.total_steps // 2 if decay_start is None else int(decay_start)
        if self.total_steps < 1 or not 0 <= self.decay_start < self.total_steps:
            raise ValueError(
                f"LinearDecay needs total_steps >= 1 and 0 <= decay_start < total_steps; got "
                f"total_steps={total_steps}, decay_start={decay_start}."
            )
        self.steps_per_epoch = None if steps_per_epoch is None else int(steps_per_epoch)
        if self.steps_per_epoch is not None and (
                self.steps_per_epoch < 1 or self.total_steps % self.steps_per_epoch
                or self.decay_start % self.steps_per_epoch):
            raise ValueError(
                f"LinearDecay(steps_per_epoch={steps_per_epoch}) needs total_steps ({total_steps}) and "
                f"decay_start ({self.decay_start}) to be whole epochs (multiples of steps_per_epoch >= 1)."
            )

    def __call__(self, step):
        step = ops.cast(step, "float32")
        if self.steps_per_epoch is None:
            frac = (step - self.decay_start) / float(self.total_steps - self.decay_start)
        else:
            spe = float(self.steps_per_epoch)
            n_epochs, n_decay = self.decay_start / spe, (self.total_steps - self.decay_start) / spe
            frac = (ops.floor(step / spe) + 1.0 - n_epochs) / (n_decay + 1.0)
        return self.initial_learning_rate * (1.0 - ops.clip(frac, 0.0, 1.0))

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "total_steps": self.total_steps,
                "decay_start": self.decay_start, "steps_per_epoch": self.steps_per_epoch}
