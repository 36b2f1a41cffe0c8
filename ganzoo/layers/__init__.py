"""Keras layers used by the zoo's networks, all registered under package "ganzoo".

Example:
    >>> from ganzoo.layers import SpectralNormalization
    >>> sn = SpectralNormalization(keras.layers.Dense(8))
"""

from ganzoo.layers.minibatch import MinibatchDiscrimination, MinibatchStdLayer
from ganzoo.layers.normalization import (
    DropReference,
    PrependReference,
    VirtualBatchNormalization,
)
from ganzoo.layers.pooling import GlobalSumPooling2D
from ganzoo.layers.spectral_norm import SpectralNormalization
from ganzoo.layers.sync_batchnorm import SyncBatchNormalization
