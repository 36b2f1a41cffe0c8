"""Global sum pooling: the feature reduction of the projection discriminator.

Miyato & Koyama 2018 (arXiv 1802.05637) compute phi(x) by summing D's last
feature map over all positions (not averaging), so the projection
`<embed(y), phi(x)>` and the linear head `psi(phi(x))` see the total response.

Example:
    >>> import numpy as np
    >>> tuple(GlobalSumPooling2D()(np.ones((2, 4, 4, 3), "float32")).shape)
    (2, 3)
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="ganzoo")
class GlobalSumPooling2D(keras.layers.Layer):
    """Sums an NHWC feature map over height and width: (N, H, W, C) -> (N, C).

    Example:
        >>> import numpy as np
        >>> float(GlobalSumPooling2D()(np.ones((1, 4, 4, 1), "float32"))[0, 0])
        16.0
    """

    def call(self, inputs):
        return ops.sum(inputs, axis=(1, 2))

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(f"GlobalSumPooling2D needs NHWC input (N, H, W, C), got shape {input_shape}.")
        return (input_shape[0], input_shape[-1])
