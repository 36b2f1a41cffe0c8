"""Sub-pixel upsampling (Shi et al. 2016, arXiv 1609.05158), as PyTorch's `PixelShuffle`.

Example:
    >>> SubPixelUpsampling(2)(keras.ops.zeros((1, 8, 8, 256))).shape
    (1, 16, 16, 64)
"""

import keras
from keras import ops


def depth_to_space(x, scale):
    """NHWC depth-to-space with PyTorch's channel order: out[h*r+i, w*r+j, c] = in[h, w, c*r*r + i*r + j].

    Example:
        >>> depth_to_space(keras.ops.zeros((2, 4, 4, 12)), 2).shape
        (2, 8, 8, 3)
    """
    r = int(scale)
    shape = ops.shape(x)
    n, h, w, c = shape[0], shape[1], shape[2], x.shape[-1]
    if c % (r * r):
        raise ValueError(f"depth_to_space by {r} needs channels divisible by {r * r}, got {c}.")
    out = c // (r * r)
    x = ops.reshape(x, (n, h, w, out, r, r))
    x = ops.transpose(x, (0, 1, 4, 2, 5, 3))  # n, h, i, w, j, c
    return ops.reshape(x, (n, h * r, w * r, out))


@keras.saving.register_keras_serializable(package="ganzoo")
class SubPixelUpsampling(keras.layers.Layer):
    """Rearrange `C * r^2` channels into an `r`-times larger image (`depth_to_space`).

    Args:
        scale: the upsampling factor r.

    Example:
        >>> SubPixelUpsampling(2)(keras.ops.zeros((1, 3, 3, 4))).shape
        (1, 6, 6, 1)
    """

    def __init__(self, scale=2, **kwargs):
        super().__init__(**kwargs)
        self.scale = int(scale)

    def call(self, x):
        return depth_to_space(x, self.scale)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        up = lambda d: None if d is None else d * self.scale  # noqa: E731
        return (n, up(h), up(w), c // (self.scale**2))

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}
