"""The growing schedule of a Progressive GAN: stage lengths and the fade-in alpha, in images shown.

Stage 0 (4x4) trains `stable_kimg` thousand images; every later stage
first fades its new block in over `fade_kimg` (alpha rising linearly from 0
to 1) and then stabilizes for `stable_kimg` (alpha = 1). The paper uses 600
and 600 (Karras et al. 2018, Sec. A.1).

Example:
    >>> fade_alpha(stage=1, stage_images=300_000, fade_kimg=600)
    0.5
    >>> stage_length(stage=1, fade_kimg=600, stable_kimg=600)
    1200000
"""

import keras


def fade_alpha(stage, stage_images, fade_kimg):
    """alpha = clip(images shown in this stage / (1000 * fade_kimg), 0, 1); 1 at stage 0 or without a fade.

    Plain numbers in, a float out (the model computes the same in `keras.ops`).

    Example:
        >>> fade_alpha(2, 0, 600), fade_alpha(2, 900_000, 600), fade_alpha(0, 0, 600)
        (0.0, 1.0, 1.0)
    """
    if stage == 0 or fade_kimg <= 0:
        return 1.0
    return float(min(max(stage_images / (1000.0 * fade_kimg), 0.0), 1.0))


def stage_length(stage, fade_kimg, stable_kimg):
    """Images a stage trains on: stable only at stage 0, fade + stable after.

    Example:
        >>> stage_length(0, 600, 600), stage_length(3, 600, 600)
        (600000, 1200000)
    """
    kimg = stable_kimg if stage == 0 else fade_kimg + stable_kimg
    return int(round(1000.0 * kimg))


class StopAfterSteps(keras.callbacks.Callback):
    """Stop `fit` after exactly `steps` batches (the end of a ProGAN stage), counted on the host.

    Counting batches in Python needs no read of the model's variables
    mid-epoch (JAX keeps them in the step's state until the epoch ends).

    Example:
        >>> gan.fit(x, batch_size=16, epochs=10, callbacks=[StopAfterSteps(25)])
    """

    def __init__(self, steps):
        super().__init__()
        self.steps, self.done = int(steps), 0

    def on_train_batch_end(self, batch, logs=None):
        self.done += 1
        if self.done >= self.steps:
            self.model.stop_training = True
