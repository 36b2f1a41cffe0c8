"""Keras layers used by the zoo's networks, all registered under package "ganzoo".

Example:
    >>> from ganzoo.layers import SpectralNormalization
    >>> sn = SpectralNormalization(keras.layers.Dense(8))
"""

from ganzoo.layers.attention import SelfAttention
from ganzoo.layers.batch_norm import BatchNormalization
from ganzoo.layers.conditional_bn import ConditionalBatchNormalization
from ganzoo.layers.grouped_conv import GroupedConv2D
from ganzoo.layers.hierarchical import LatentChunks
from ganzoo.layers.minibatch import MinibatchDiscrimination, MinibatchStdLayer
from ganzoo.layers.normalization import (
    DropReference,
    PrependReference,
    VirtualBatchNormalization,
)
from ganzoo.layers.pooling import GlobalSumPooling2D
from ganzoo.layers.resblocks import ResBlockDown, ResBlockUp
from ganzoo.layers.spectral_norm import SpectralNormalization
from ganzoo.layers.sync_batchnorm import SyncBatchNormalization
