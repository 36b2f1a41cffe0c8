"""The class-conditional family.

cGAN (labels concatenated to G's and D's inputs or hidden layers) and the
projection discriminator need no class of their own: they are
`ganzoo.GAN(..., num_classes=K)` over conditional builders
(`ganzoo.architectures`, `num_classes=`/`conditioning=`). AC-GAN adds a
class loss on both networks: `ACGAN`.

Example:
    >>> from ganzoo.models.conditional import ACGAN
"""

from ganzoo.models.conditional.model import ACGAN

__all__ = ["ACGAN"]
