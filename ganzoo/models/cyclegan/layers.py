"""Layers of the CycleGAN ResNet generator that Keras lacks.

Example:
    >>> ReflectionPadding2D(3)(keras.ops.zeros((1, 8, 8, 3))).shape
    (1, 14, 14, 3)
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="ganzoo")
class ReflectionPadding2D(keras.layers.Layer):
    """Pad height and width by mirroring the image without repeating its edge (`nn.ReflectionPad2d`).

    Args:
        padding: pixels added on each side (int).

    Example:
        >>> x = keras.ops.reshape(keras.ops.arange(4.0), (1, 1, 4, 1))
        >>> keras.ops.convert_to_numpy(ReflectionPadding2D(1)(keras.ops.tile(x, (1, 3, 1, 1))))[0, 0, :, 0]
        array([1., 0., 1., 2., 3., 2.], dtype=float32)
    """

    def __init__(self, padding=1, **kwargs):
        super().__init__(**kwargs)
        self.padding = int(padding)
        if self.padding < 0:
            raise ValueError(f"padding must be >= 0, got {padding}.")

    def call(self, x):
        p = self.padding
        return ops.pad(x, [[0, 0], [p, p], [p, p], [0, 0]], mode="reflect")

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        grow = lambda d: None if d is None else d + 2 * self.padding  # noqa: E731
        return (n, grow(h), grow(w), c)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding}
