"""BigGAN's orthogonal regularization (Brock et al. 2019, section 3.1, eq. 3), as a penalty.

For every weight matrix W of the generator (a kernel viewed with its
filters as columns, `(kh * kw * in, out)`),

    R(W) = || W^T W  (.)  (1 - I) ||_F^2,

the squared off-diagonal entries of the filters' Gram matrix: filters are
pushed towards orthogonality without constraining their norms (the
"off-diagonal" form; the classic `||W^T W - I||^2` also fixes the norms).
The logged value is `sum_W R(W)`; the loss adds `beta / 2` times it, whose
gradient `2 beta (W W^T (.) (1 - I)) W` (rows as filters) is exactly what
BigGAN-PyTorch's `utils.ortho(G, 1e-4)` adds to each weight's gradient
(half of differentiating `beta R` literally). Biases, BN parameters and the
shared class embedding (layer "shared", BigGAN-PyTorch's blacklist) are
left out; embedding tables count their rows (classes) as the vectors.

Example:
    >>> from ganzoo.models.biggan.orthogonal import OrthogonalRegularization
    >>> ortho = OrthogonalRegularization(beta=1e-4)
    >>> gan = ganzoo.GAN(G, D, latent_dim=120, num_classes=1000, penalties=[ortho])
"""

from keras import ops

from ganzoo.engine import registry
from ganzoo.engine.penalties import Penalty


def off_diagonal_sq(gram):
    """`|| gram (.) (1 - I) ||_F^2` of a square matrix.

    Example:
        >>> float(off_diagonal_sq(ops.array([[1.0, 2.0], [3.0, 4.0]])))
        13.0
    """
    return ops.sum(ops.square(gram)) - ops.sum(ops.square(ops.diagonal(gram)))


def weight_matrices(network, exclude=("shared",)):
    """The trainable variables with >= 2 axes that orthogonal regularization applies to.

    Variables whose path has a component in `exclude` (layer names) are skipped.

    Example:
        >>> [v.path for v in weight_matrices(G)][:1]
        ['linear_sn/linear/kernel']
    """
    out = []
    for v in network.trainable_variables:
        parts = v.path.split("/")
        if len(v.shape) >= 2 and not any(part in exclude for part in parts):
            out.append(v)
    return out


def orthogonal_penalty(variables):
    """`sum_W || W^T W (.) (1 - I) ||_F^2` over the variables (kernels: filters are the last axis).

    Example:
        >>> float(orthogonal_penalty([keras.Variable(np.eye(3))]))
        0.0
    """
    total = 0.0
    for v in variables:
        w = ops.cast(v.value if hasattr(v, "value") else v, "float32")
        embedding = getattr(v, "path", "").endswith("embeddings")
        if embedding:  # (classes, dim): the class vectors are the rows, as PyTorch's (num_embeddings, dim)
            w = ops.transpose(ops.reshape(w, (w.shape[0], -1)))
        else:
            w = ops.reshape(w, (-1, w.shape[-1]))
        total = total + off_diagonal_sq(ops.matmul(ops.transpose(w), w))
    return total


@registry.register("penalty", aliases=("ortho", "orthogonal_regularization"))
class OrthogonalRegularization(Penalty):
    """BigGAN's off-diagonal orthogonal regularization of G's weights (eq. 3).

    Args:
        beta: the strength (1e-4 in BigGAN); the loss adds `beta / 2 * sum_W R(W)`
            (BigGAN-PyTorch's update, see the module docstring).
        every: lazy interval (1: every generator step, as BigGAN).
        network: whose weights, "generator" (BigGAN) or "discriminator".
        exclude: layer names left out (default: the shared class embedding).

    Example:
        >>> ortho = OrthogonalRegularization(1e-4)
        >>> ortho.weight
        5e-05
    """

    name = "orthogonal"
    needs_fake = False

    def __init__(self, beta=1e-4, every=1, network="generator", exclude=("shared",)):
        super().__init__(0.5 * float(beta), every)
        if network not in ("generator", "discriminator"):
            raise ValueError(f"OrthogonalRegularization: network must be 'generator' or 'discriminator', got {network!r}.")
        self.beta = float(beta)
        self.network = network
        self.exclude = tuple(exclude)

    def __call__(self, gan, real, fake):
        return orthogonal_penalty(weight_matrices(getattr(gan, self.network), self.exclude))

    def get_config(self):
        return {"beta": self.beta, "every": self.every, "network": self.network, "exclude": list(self.exclude)}
